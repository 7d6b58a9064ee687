package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRekeyedLastWaiterReadsTheCallsLease: in process 0, L (en) leads the
// base key's flight under a lease and W (fr) waits in it; L's header says
// Vary: Accept-Language, so W rekeys to its variant's key and runs there.
// L's client leaves: its call is released for a retry and its lease handed
// on to process 1, whose request (en) takes it and runs the handler, to
// store under the path version key L's run created. L's run ends, nothing
// stored (its body too large), while W is not done: the keys are left to W, the last waiter,
// which decides (view.waited) once its own run (fr, nothing stored) ended.
// The lease to look at is the call's (the base key's, held by process 1),
// not W's own variant's (free by then): read there, the key was deleted at
// once under process 1's run, whose entry then missed once.
func TestRekeyedLastWaiterReadsTheCallsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxBody = 1 << 10
		b := newSimple(t, nil)
		wRun, p1Run := make(chan struct{}), make(chan struct{})
		var p1Calls atomic.Int64
		h0 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("Accept-Language") == "fr" {
				<-wRun // W's own run outlasts L's
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Write([]byte("en"))             // W leaves on the header
			time.Sleep(50 * time.Millisecond) // not watching its context
			w.Write(make([]byte, 2*maxBody))  // too large: refused
		})
		h1 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p1Calls.Add(1)
			<-p1Run
			w.Header().Set("Vary", "Accept-Language")
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Write([]byte("en from process 1"))
		})
		caches := make([]*Cache, 2)
		views := make([]http.Handler, 2)
		for i, h := range []http.Handler{h0, h1} {
			caches[i] = Must(&Options{Backend: &remote{Backend: b}})
			defer caches[i].Close()
			views[i] = caches[i].Cached(time.Hour, Lease(time.Minute), MaxBodySize(maxBody), CacheStatusHeader("X-Cache"))(h)
		}
		req := func(lang string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Header.Set("Accept-Language", lang)
			return r
		}
		var wg sync.WaitGroup
		ctx, hangUp := context.WithCancel(context.Background())
		wg.Go(func() { views[0].ServeHTTP(httptest.NewRecorder(), req("en").WithContext(ctx)) })
		synctest.Wait() // L leads, holds the base key's lease
		wg.Go(func() { views[0].ServeHTTP(httptest.NewRecorder(), req("fr")) })
		synctest.Wait() // W rekeyed, runs its variant
		wg.Go(func() { views[1].ServeHTTP(httptest.NewRecorder(), req("en")) })
		synctest.Wait() // process 1 waits for the base key's lease
		hangUp()
		for p1Calls.Load() == 0 {
			time.Sleep(time.Millisecond) // process 1 takes the lease
		}
		time.Sleep(100 * time.Millisecond) // L's run ends
		synctest.Wait()
		close(wRun) // W, the last waiter of L's call, decides
		synctest.Wait()
		close(p1Run) // process 1 stores its entry
		wg.Wait()
		time.Sleep(time.Second) // a recheck sees the lease free
		synctest.Wait()
		_, err := b.Get(context.Background(), caches[0].pathTagKey("/p"))
		assert.NoError(t, err, "the path key process 1 stored under is kept")
		for i, v := range views {
			w := httptest.NewRecorder()
			v.ServeHTTP(w, req("en"))
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "process %d", i)
			assert.Equal(t, "en from process 1", w.Body.String(), "process %d", i)
		}
	})
}
