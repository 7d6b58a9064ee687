package caching

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// heldStore is a remote store (the in-process capabilities hidden) whose calls
// can be held at gates, one call each: a Get of a key after it has read
// its answer, a Set or Delete of a key before it is made. Its Close leaves
// the store open, for two Caches to share it.
type heldStore struct {
	backend.Backend
	mu    sync.Mutex
	gates map[string]chan struct{} // "op key": closed to let the call go on
}

// hold makes the next call op ("get", "set" or "delete") of key wait until
// the returned function is called.
func (g *heldStore) hold(op, key string) (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[string]chan struct{}{}
	}
	g.gates[op+" "+key] = ch
	g.mu.Unlock()
	return sync.OnceFunc(func() { close(ch) })
}

func (g *heldStore) wait(op, key string) {
	g.mu.Lock()
	ch := g.gates[op+" "+key]
	delete(g.gates, op+" "+key)
	g.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (g *heldStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := g.Backend.Get(ctx, key)
	g.wait("get", key)
	return v, err
}

func (g *heldStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	g.wait("set", key)
	return g.Backend.Set(ctx, key, v, ttl)
}

func (g *heldStore) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		g.wait("delete", k)
	}
	return g.Backend.Delete(ctx, keys...)
}

func (*heldStore) Close() error { return nil }

// TestMemoizeForgetThenGetOnLeasedStore: Memoized.Forget forgot a's
// flight before its delete and not after, so that a computation that
// began between the two and found the entry still there (the lease's
// check of a remote store looks the entry up before it computes) was
// joined by a Get made after Forget returned, which got the forgotten
// result. Now the flight is forgotten after the delete too: a Get made
// after Forget returned computes anew. ForgetAll, whose delete is counted
// as an invalidation once it returned (see doSince), never did this.
func TestMemoizeForgetThenGetOnLeasedStore(t *testing.T) {
	for name, write := range map[string]struct {
		op  string                                                    // the backend call of the write to hold
		key func(m *Memoized[int, string], key string) string         // the key of that call
		do  func(ctx context.Context, m *Memoized[int, string]) error // the write
	}{
		"Forget": {"delete", func(_ *Memoized[int, string], key string) string { return key },
			func(ctx context.Context, m *Memoized[int, string]) error { return m.Forget(ctx, 42) }},
		"ForgetAll": {"delete", func(m *Memoized[int, string], _ string) string { return m.genKey },
			func(ctx context.Context, m *Memoized[int, string]) error { return m.ForgetAll(ctx) }},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				g := &heldStore{Backend: newSimple(t, nil)}
				var db atomic.Value
				db.Store("old")
				fn := func(context.Context, int) (string, error) { return db.Load().(string), nil }
				open := func() *Memoized[int, string] {
					c := Must(&Options{Backend: g, Lease: time.Second})
					t.Cleanup(func() { _ = c.Close() })
					return Memoize(c, "user", fn)
				}
				m, other := open(), open() // this process and another one
				key, err := m.Key(42)
				require.NoError(t, err)
				get := func() <-chan string { // m.Get(42), in the background
					got := make(chan string, 1)
					go func() {
						v, err := m.Get(ctx, 42)
						assert.NoError(t, err)
						got <- v
					}()
					return got
				}

				// A Get of this process misses, and is held there.
				releaseLookup := g.hold("get", key)
				early := get()
				synctest.Wait()
				// Meanwhile the other process computes the old result and
				// stores it (before the write of this process's is made).
				v, err := other.Get(ctx, 42)
				require.NoError(t, err)
				require.Equal(t, "old", v)

				// The data changes, and this process writes (forgets) a's
				// result; its backend call is held.
				db.Store("new")
				releaseWrite := g.hold(write.op, write.key(m, key))
				written := make(chan error, 1)
				go func() { written <- write.do(ctx, m) }()
				synctest.Wait()
				// The held Get goes on: it computes behind the lease, whose
				// check finds the old entry; its release of the lease is held.
				releaseLease := g.hold("delete", m.c.leaseKey(key))
				releaseLookup()
				synctest.Wait()
				releaseWrite()
				require.NoError(t, <-written)

				late := get() // made after the write returned
				synctest.Wait()
				releaseLease()
				<-early // began before the write returned: either result
				assert.Equal(t, "new", <-late, "a Get made after %s returned got the result it replaced", name)
				g.mu.Lock()
				assert.Empty(t, g.gates, "calls never made")
				g.mu.Unlock()
			})
		})
	}
}
