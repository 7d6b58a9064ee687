package caching

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecidePendingHitTakesNoLock: while decisions for path version keys
// are pending (decidingKeys), the reads of versions before a run wait for
// them; a hit reads no versions that way, so it neither waits for another
// path's decision nor takes decidingKeys' lock. The lock is held here, a
// decision marked pending: a hit must be served, a miss must wait.
func TestDecidePendingHitTakesNoLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    func(t *testing.T) *Cache
	}{
		{"in-process", func(t *testing.T) *Cache { c := Must(&Options{}); t.Cleanup(func() { _ = c.Close() }); return c }},
		{"redis", func(t *testing.T) *Cache { c, _, _ := onRedis(t); return c }},
		{"near-redis", func(t *testing.T) *Cache { c, _ := onNearRedis(t, 1<<20); return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c(t)
			var calls atomic.Int32
			vh := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, "page ", r.URL.Path)
			}))
			require.Equal(t, "page /p", get(vh, "/p").Body.String())
			c.wait()
			require.EqualValues(t, 1, calls.Load())

			c.store.deciding.mu.Lock()
			c.store.deciding.n.Add(1) // a decision pending, for another path
			locked := true
			unlock := func() {
				if locked {
					c.store.deciding.n.Add(-1)
					c.store.deciding.mu.Unlock()
					locked = false
				}
			}
			defer unlock()

			hit := make(chan string, 1)
			go func() { hit <- get(vh, "/p").Body.String() }()
			select {
			case body := <-hit:
				assert.Equal(t, "page /p", body)
			case <-time.After(5 * time.Second): // a bound on a failure
				t.Error("a hit waits for decidingKeys' lock")
				unlock()
				<-hit
			}
			assert.EqualValues(t, 1, calls.Load(), "served from the cache")

			miss := make(chan string, 1)
			go func() { miss <- get(vh, "/q").Body.String() }()
			select {
			case <-miss:
				t.Error("a miss does not read decidingKeys (the probe reaches nothing)")
			case <-time.After(200 * time.Millisecond): // the miss is expected to block
			}
			unlock()
			assert.Equal(t, "page /q", <-miss)
		})
	}
}

// TestDecidingKeysWaitBounded: the same key handed on by two runs waits
// for both decisions, each done removing only its own; a wait returns once
// its ctx ends, and does not wait for decisions added after it began.
func TestDecidingKeysWaitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d decidingKeys
		done1 := d.add([]string{"p/a"})
		done2 := d.add([]string{"p/a", "p/b"})
		waited := make(chan error, 1)
		go func() { waited <- d.wait(context.Background(), []string{"p/a"}) }()
		synctest.Wait()
		done1()
		synctest.Wait()
		select {
		case <-waited:
			t.Fatal("the wait ended with a decision for its key still pending")
		default:
		}
		done2()
		require.NoError(t, <-waited)
		assert.Zero(t, d.n.Load())
		assert.Empty(t, d.m)

		// Bounded by ctx: a client that leaves stops waiting.
		done3 := d.add([]string{"p/c"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, d.wait(ctx, []string{"p/c"}), context.DeadlineExceeded)

		// A decision added while a wait is in progress is not waited for.
		go func() { waited <- d.wait(context.Background(), []string{"p/c"}) }()
		synctest.Wait()
		done4 := d.add([]string{"p/c"})
		done3()
		require.NoError(t, <-waited)
		done4()
		assert.Zero(t, d.n.Load())
	})
}

// holdFirstPathDelete holds the first Delete of a path version key until
// release is closed; entered is closed as it starts.
type holdFirstPathDelete struct {
	heldPathDeletes
	held atomic.Bool
}

func (s *holdFirstPathDelete) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, kindPath) && s.held.CompareAndSwap(false, true) {
			close(s.entered)
			<-s.release
			break
		}
	}
	return s.Backend.Delete(ctx, keys...)
}

// TestDecisionPendingAcrossInvalidatePath: a path invalidated while the
// decision for its key (a refused response's) is pending: the invalidation
// is not held up, and the next request, which waits for the decision,
// stores the page as it is now, served after; the invalidated page never
// comes back.
func TestDecisionPendingAcrossInvalidatePath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &holdFirstPathDelete{heldPathDeletes: heldPathDeletes{Backend: &remote{Backend: newSimple(t, nil)}, entered: make(chan struct{}), release: make(chan struct{})}}
		c := Must(&Options{Backend: b})
		release := sync.OnceFunc(func() { close(b.release) })
		defer c.Close()
		defer release()
		var page atomic.Value
		page.Store("old")
		var calls atomic.Int32
		vh := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if r.URL.Query().Has("me") {
				w.Header().Set("Cache-Control", "private")
				fmt.Fprint(w, "mine")
				return
			}
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprint(w, page.Load())
		}))
		ctx := context.Background()
		require.Equal(t, "old", get(vh, "/account").Body.String())
		b.held.Store(true) // not the invalidation's delete
		require.NoError(t, c.InvalidatePath(ctx, "/account"))
		b.held.Store(false)
		page.Store("new")
		require.Equal(t, "mine", get(vh, "/account?me").Body.String()) // creates the key, its delete held
		<-b.entered
		require.NoError(t, c.InvalidatePath(ctx, "/account"), "not held by the pending decision")
		next := make(chan string, 1)
		go func() { next <- get(vh, "/account").Body.String() }()
		synctest.Wait()
		release()
		assert.Equal(t, "new", <-next)
		c.wait()
		n := calls.Load()
		assert.Equal(t, "new", get(vh, "/account").Body.String())
		assert.Equal(t, n, calls.Load(), "the next request's entry is a hit")
	})
}
