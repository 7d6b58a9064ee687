package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefusedRunKeepsKeyOfLaterRun: in a SharedCache view, a request's
// private response is refused at commit (no waiter) while its run goes
// on; a second, plain request leads a call of its own (none is in
// flight), reads the path version key the first run created, and stores
// its entry after the first run ended. That end deleted the key under the
// entry, which was a miss: the run still in flight now decides for it.
func TestRefusedRunKeepsKeyOfLaterRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSimple(t, nil)
		c := Must(&Options{Backend: b})
		defer c.Close()
		firstGo, firstDone := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		vh := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if r.Header.Get("X-Who") == "first" {
				w.Header().Set("Cache-Control", "private, max-age=60")
				fmt.Fprint(w, "mine") // refused at commit: nobody waits for it
				<-firstGo
				return
			}
			<-firstDone // stores after the first run's end
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprint(w, "page")
		}))
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(firstDone)
			r := httptest.NewRequest(http.MethodGet, "/popular", nil)
			r.Header.Set("X-Who", "first")
			vh.ServeHTTP(httptest.NewRecorder(), r)
		})
		synctest.Wait() // the first's response refused, its run goes on
		second := httptest.NewRecorder()
		wg.Go(func() { vh.ServeHTTP(second, httptest.NewRequest(http.MethodGet, "/popular", nil)) })
		synctest.Wait() // the second leads a call, and read the path version key
		close(firstGo)
		wg.Wait()

		assert.Equal(t, "page", second.Body.String())
		_, ok := b.LoadValue(c.pathTagKey("/popular"))
		assert.True(t, ok, "the path key the entry is stored under is kept")
		hit := get(vh, "/popular")
		assert.Equal(t, "page", hit.Body.String())
		assert.Equal(t, int32(2), calls.Load(), "the stored entry is a hit")
		assertFlightEmpty(t, vh.(*view), "/popular")
	})
}
