package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeLeaseFoundAfterInvalidationElsewhere: Memoize's counterpart of
// TestViewLeaseFoundAfterInvalidatePath. A leader whose lease check found
// the entry another process stored handed it to the callers that joined it
// in this process without the versions it was written under. A Get made
// after another process's invalidation returned missed (its lookup saw the
// version gone), joined that leader, and was handed the result the
// invalidation ended: this process counted no invalidation (doSince's
// epoch), and there were no versions to check. Now the found entry is
// handed on with its versions, as the in-process recheck hands its own.
func TestMemoizeLeaseFoundAfterInvalidationElsewhere(t *testing.T) {
	for name, invalidate := range map[string]func(ctx context.Context, other *Memoized[int, string]) error{
		"ForgetAll": func(ctx context.Context, other *Memoized[int, string]) error { return other.ForgetAll(ctx) },
		"InvalidateTags": func(ctx context.Context, other *Memoized[int, string]) error {
			return other.c.InvalidateTags(ctx, "users")
		},
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
					return Memoize(c, "user", fn, Tags("users"))
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
				// stores it.
				v, err := other.Get(ctx, 42)
				require.NoError(t, err)
				require.Equal(t, "old", v)

				// The held Get goes on: it takes the lease, whose check
				// finds the old entry (still current); its release of the
				// lease is held.
				releaseLease := g.hold("delete", m.c.leaseKey(key))
				releaseLookup()
				synctest.Wait()
				// The data changes, and the other process invalidates.
				db.Store("new")
				require.NoError(t, invalidate(ctx, other))

				late := get() // made after the invalidation returned
				synctest.Wait()
				releaseLease()
				assert.Equal(t, "old", <-early, "the first Get gets what its check found")
				assert.Equal(t, "new", <-late, "a Get made after %s returned in another process got the result it ended", name)
				g.mu.Lock()
				assert.Empty(t, g.gates, "calls never made")
				g.mu.Unlock()
			})
		})
	}
}
