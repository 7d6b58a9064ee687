package caching

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseReaddedForAVariantIsTheVariants: a waiter on the base key's
// lease of a page not yet known to vary saw the lease gone with no entry
// (its holder hung past it) and added it again; between that Add and its
// look at the entry, another process ran the page, and stored its Vary
// record and its variant. The waiter led its own variant's run still
// holding the base key's lease, so that another waiter on that lease, of a
// third variant, waited for a run it could not use, then ran its own:
// the variants took turns. As after a first Add, the waiter now takes its
// variant's lease instead, and the two variants run at once.
func TestLeaseReaddedForAVariantIsTheVariants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSimple(t, nil)
		newB := func() *slowLeaseAdd {
			return &slowLeaseAdd{Backend: store, entered: make(chan struct{}), released: make(chan struct{})}
		}
		bA, bX, bW, bY := newB(), newB(), newB(), newB()
		hang := make(chan struct{})
		both := make(chan struct{})
		var running, most atomic.Int64
		h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			if r.Header.Get("Accept-Language") == "en" {
				if r.Header.Get("X-Hang") != "" {
					<-hang // A's run: it hangs past its lease
				}
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
		mk := func(b *slowLeaseAdd, lease time.Duration) http.Handler {
			c := Must(&Options{Backend: b, Lease: lease, Timeout: 5 * time.Second})
			t.Cleanup(func() { c.Close() })
			return c.Cached(time.Hour)(h)
		}
		a, x := mk(bA, time.Second), mk(bX, time.Hour)
		w, y := mk(bW, time.Hour), mk(bY, time.Hour)

		var wg, hung sync.WaitGroup
		defer hung.Wait()
		defer close(hang)
		hung.Go(func() { get(a, "/p", "Accept-Language", "en", "X-Hang", "1") })
		synctest.Wait() // A holds the base key's lease until 1s, and hangs
		wg.Go(func() { get(w, "/p", "Accept-Language", "de") })
		wg.Go(func() { get(y, "/p", "Accept-Language", "fr") })
		synctest.Wait() // W and Y wait on the base key's lease
		require.EqualValues(t, 1, h.calls.Load())
		bW.hold.Store(true)
		bY.hold.Store(true)
		for _, b := range []*slowLeaseAdd{bW, bY} {
			select {
			case <-b.entered: // A's lease expired: no entry; each is adding the lease again
			case <-time.After(time.Minute):
				t.Fatal("a waiter never added the lease again")
			}
		}
		// X takes the base key's lease, runs en, stores the Vary record and
		// its variant, and releases the lease.
		assert.Equal(t, "page #2", get(x, "/p", "Accept-Language", "en").Body.String())
		close(bW.released)
		synctest.Wait() // W leads de's run
		close(bY.released)
		wg.Wait()
		assert.EqualValues(t, 4, h.calls.Load(), "one run per variant, and A's")
		assert.EqualValues(t, 2, most.Load(), "the runs of de and fr were in progress at once")
	})
}
