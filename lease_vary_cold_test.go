package caching

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cold page that varies (Vary: Accept-Language) asked for at once in
// three processes, each by a client of another language. Each process's
// leader waits on the base key's lease (the Vary record is not known yet)
// while en's run holds it; once en's run stores the record and its
// variant, fr and de each need their own variant, and each takes its
// variant's lease: they run at once, rather than take turns on the base
// key's lease (de waiting for a run of fr it cannot use).
func TestLeaseColdVariantsRunAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &remote{Backend: newSimple(t, nil)}
		open := func() *Cache {
			c, err := New(&Options{Backend: s, Lease: time.Hour})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			return c
		}
		enGate := make(chan struct{})
		both := make(chan struct{})
		var running, most atomic.Int64
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("Accept-Language") == "en" {
				<-enGate
				return
			}
			n := running.Add(1)
			defer running.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
			if n == 2 {
				close(both)
			}
			// Until the other variant's run is in progress too; a run that
			// waits alone ends after a while (it never comes when the runs
			// take turns).
			select {
			case <-both:
			case <-time.After(time.Minute):
			}
		}}
		views := []http.Handler{open().Cached(time.Hour)(h), open().Cached(time.Hour)(h), open().Cached(time.Hour)(h)}
		langs := []string{"en", "fr", "de"}
		bodies := make([]string, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				w := get(views[i], "/p", "Accept-Language", langs[i])
				assert.Equal(t, http.StatusOK, w.Code)
				bodies[i] = w.Body.String()
			})
			synctest.Wait() // en leads; then fr, then de wait on the base key's lease
		}
		close(enGate)
		wg.Wait()
		assert.Equal(t, int64(3), h.calls.Load(), "one run per variant")
		assert.Equal(t, int64(2), most.Load(), "the runs of fr and de were in progress at once")
		assert.Equal(t, "page #1", bodies[0])
		assert.NotEqual(t, bodies[1], bodies[2], "fr and de each got their own run")
	})
}

// heldAdd is a process's view of a shared store whose first Add waits
// until resume is closed: the process's lookup has missed, its Add of the
// lease is yet to come.
type heldAdd struct {
	*remote
	once   sync.Once
	resume chan struct{}
}

func (h *heldAdd) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	h.once.Do(func() { <-h.resume })
	return h.remote.Add(ctx, key, v, ttl)
}

// The same when a process's lookup missed before the Vary record was
// stored, and its Add of the base key's lease comes after: it holds the
// base key's lease only to learn that the page varies, and its run of fr
// is under fr's lease, so that de, waiting on the base key's lease, does
// not wait for it.
func TestLeaseAddedAfterVaryRecordIsTheVariants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &remote{Backend: newSimple(t, nil)}
		open := func(b backend.Backend) *Cache {
			c, err := New(&Options{Backend: b, Lease: time.Hour})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			return c
		}
		enGate := make(chan struct{})
		both := make(chan struct{})
		var running, most atomic.Int64
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("Accept-Language") == "en" {
				<-enGate
				return
			}
			n := running.Add(1)
			defer running.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
			if n == 2 {
				close(both)
			}
			select { // as in TestLeaseColdVariantsRunAtOnce
			case <-both:
			case <-time.After(time.Minute):
			}
		}}
		late := &heldAdd{remote: s, resume: make(chan struct{})}
		en, de, fr := open(s).Cached(time.Hour)(h), open(s).Cached(time.Hour)(h), open(late).Cached(time.Hour)(h)
		var wg sync.WaitGroup
		wg.Go(func() { get(en, "/p", "Accept-Language", "en") })
		synctest.Wait() // en's run holds the base key's lease
		wg.Go(func() { get(de, "/p", "Accept-Language", "de") })
		synctest.Wait() // de waits on it
		wg.Go(func() { get(fr, "/p", "Accept-Language", "fr") })
		synctest.Wait() // fr's lookup missed; its Add is held
		close(enGate)
		synctest.Wait() // en's run stored the record and released the lease
		close(late.resume)
		wg.Wait()
		assert.Equal(t, int64(3), h.calls.Load(), "one run per variant")
		assert.Equal(t, int64(2), most.Load(), "the runs of fr and de were in progress at once")
	})
}
