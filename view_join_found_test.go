package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestViewLeaseFoundAfterInvalidatePath: the view's counterpart of
// TestMemoizeForgetThenGetOnLeasedStore. A leader whose lease check found an
// entry that another process stored handed it to this process's waiters
// with no versions to check (viewResult without vs). A request made after
// InvalidatePath returned missed (its lookup saw the version gone), joined
// that leader's flight, and was served the response the invalidation ended.
// Now the entry is handed on with the versions it was written under
// (found.result), and that request gets the new response.
func TestViewLeaseFoundAfterInvalidatePath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g := &heldStore{Backend: newSimple(t, nil)}
		var db atomic.Value
		db.Store("old")
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, db.Load().(string)) })
		open := func() (*Cache, http.Handler) {
			c := Must(&Options{Backend: g, Lease: time.Second})
			t.Cleanup(func() { _ = c.Close() })
			return c, c.Cached(time.Hour)(h)
		}
		c, view := open()      // this process
		_, otherView := open() // another process on the same backend
		req := func() *http.Request { return httptest.NewRequest(http.MethodGet, "/x", nil) }
		key, err := c.ViewKey(req())
		if err != nil {
			t.Fatal(err)
		}
		serve := func(hh http.Handler) <-chan string {
			got := make(chan string, 1)
			go func() {
				w := httptest.NewRecorder()
				hh.ServeHTTP(w, req())
				got <- w.Body.String()
			}()
			return got
		}

		// A request of this process misses, and is held after its lookup.
		releaseLookup := g.hold("get", key)
		early := serve(view)
		synctest.Wait()
		// Meanwhile the other process runs the handler and stores "old".
		if got := <-serve(otherView); got != "old" {
			t.Fatalf("setup: %q", got)
		}
		// The data changes; the program invalidates the path. Its delete
		// is held until this process's leader has checked the entry.
		db.Store("new")
		releaseInvalidate := g.hold("delete", c.pathTagKey("/x"))
		invalidated := make(chan error, 1)
		go func() { invalidated <- c.InvalidatePath(ctx, "/x") }()
		synctest.Wait()
		// The held request leads: it takes the lease, finds the "old" entry
		// (still current), and its release of the lease is held.
		releaseLease := g.hold("delete", c.leaseKey(key))
		releaseLookup()
		synctest.Wait()
		releaseInvalidate()
		if err := <-invalidated; err != nil {
			t.Fatal(err)
		}

		late := serve(view) // made after InvalidatePath returned
		synctest.Wait()
		releaseLease()
		<-early // began before the invalidation: either response
		g.mu.Lock()
		if len(g.gates) != 0 {
			t.Errorf("setup: holds never reached: %v", g.gates)
		}
		g.mu.Unlock()
		if got := <-late; got != "new" {
			t.Fatalf("a request made after InvalidatePath returned got %q, the response it ended; want %q", got, "new")
		}
	})
}

// TestViewLeadFindAfterInvalidatePath: the same without Lease. A leader's
// own lookup (view.lead: "a miss that became leader after the previous
// leader stored the response finds it now") handed the entry it found to
// the waiters with no versions; a waiter that came after InvalidatePath
// returned was served the response it ended.
func TestViewLeadFindAfterInvalidatePath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g := &heldStore{Backend: newSimple(t, nil)}
		var db atomic.Value
		db.Store("old")
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, db.Load().(string)) })
		open := func() (*Cache, http.Handler) {
			c := Must(&Options{Backend: g})
			t.Cleanup(func() { _ = c.Close() })
			return c, c.Cached(time.Hour)(h)
		}
		c, view := open()
		_, otherView := open()
		req := func() *http.Request { return httptest.NewRequest(http.MethodGet, "/x", nil) }
		key, err := c.ViewKey(req())
		if err != nil {
			t.Fatal(err)
		}
		serve := func(hh http.Handler) <-chan string {
			got := make(chan string, 1)
			go func() {
				w := httptest.NewRecorder()
				hh.ServeHTTP(w, req())
				got <- w.Body.String()
			}()
			return got
		}
		releaseLookup := g.hold("get", key) // this process's request misses, held
		early := serve(view)
		synctest.Wait()
		if got := <-serve(otherView); got != "old" { // the other process stores "old"
			t.Fatalf("setup: %q", got)
		}
		// The held request leads; its lookup reads the entry and the path
		// version, and is held there.
		releaseFind := g.hold("get", c.pathTagKey("/x"))
		releaseLookup()
		synctest.Wait()
		db.Store("new")
		if err := c.InvalidatePath(ctx, "/x"); err != nil {
			t.Fatal(err)
		}
		late := serve(view) // made after InvalidatePath returned
		synctest.Wait()
		releaseFind()
		<-early
		g.mu.Lock()
		if len(g.gates) != 0 {
			t.Errorf("setup: holds never reached: %v", g.gates)
		}
		g.mu.Unlock()
		if got := <-late; got != "new" {
			t.Fatalf("a request made after InvalidatePath returned got %q, the response it ended; want %q", got, "new")
		}
	})
}
