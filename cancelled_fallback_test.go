package caching

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/flight"
)

// fallbackStores are the stores the cancelled-work tests run on: in
// process, and encoded behind a remote backend (as on Redis or memcached).
var fallbackStores = []struct {
	name string
	new  func(t *testing.T) *Cache
}{
	{"local", func(t *testing.T) *Cache { return Must(nil) }},
	{"remote", func(t *testing.T) *Cache { return Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}}) }},
}

// abandonDetached starts flight.MaxDetached calls through start, one per
// i, and has all their callers leave: the calls run on with nobody
// waiting, the most a flight lets run so. start blocks until its call
// returns.
func abandonDetached(start func(ctx context.Context, i int)) {
	left, leave := context.WithCancel(context.Background())
	for i := range flight.MaxDetached {
		go start(left, i)
	}
	synctest.Wait()
	leave()
	synctest.Wait()
}

// TestCancelledFallbackNotStored: a memoized function, or a GetOrSet load,
// whose context its flight cancelled (every caller left, past
// flight.MaxDetached calls nobody waits for) and that answered with a
// fallback rather than ctx.Err() (an empty list in place of a query the
// cancellation failed) had the fallback stored, served to every later
// caller until it expired: a client that asks for many arguments and
// leaves (or a slow database under a flood of timeouts) had the cache keep
// results no caller with a live context gets. A view never stores a
// response made after its request's context ended; these are not stored
// either now, and the next caller computes its own.
func TestCancelledFallbackNotStored(t *testing.T) {
	for _, sk := range fallbackStores {
		t.Run("Memoize/"+sk.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := sk.new(t)
				defer c.Close()
				const key = 1000
				open := make(chan struct{}) // ends the calls nobody waits for
				m := Memoize(c, "items", func(ctx context.Context, n int) (string, error) {
					select {
					case <-open:
						return "items", nil
					case <-ctx.Done():
						return "fallback", nil // the fail-soft answer, without an error
					}
				})
				abandonDetached(func(ctx context.Context, i int) { _, _ = m.Get(ctx, i) })
				ctx, cancel := context.WithCancel(context.Background())
				go func() { _, _ = m.Get(ctx, key) }()
				synctest.Wait()
				cancel() // one more caller leaves: its call is cancelled
				synctest.Wait()

				_, _, err := m.Peek(context.Background(), key)
				assert.ErrorIs(t, err, ErrNotFound, "the fallback of the cancelled call is not stored")
				close(open)
				v, err := m.Get(context.Background(), key)
				require.NoError(t, err)
				assert.Equal(t, "items", v)
				synctest.Wait()
			})
		})
		t.Run("GetOrSet/"+sk.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := sk.new(t)
				defer c.Close()
				open := make(chan struct{})
				load := func(ctx context.Context) (string, error) {
					select {
					case <-open:
						return "items", nil
					case <-ctx.Done():
						return "fallback", nil
					}
				}
				abandonDetached(func(ctx context.Context, i int) { _, _ = GetOrSet(ctx, c, fmt.Sprint("other", i), 0, load) })
				ctx, cancel := context.WithCancel(context.Background())
				go func() { _, _ = GetOrSet(ctx, c, "items", 0, load) }()
				synctest.Wait()
				cancel()
				synctest.Wait()

				_, err := GetAs[string](context.Background(), c, "items")
				assert.ErrorIs(t, err, ErrNotFound, "the fallback of the cancelled load is not stored")
				close(open)
				v, err := GetOrSet(context.Background(), c, "items", 0, load)
				require.NoError(t, err)
				assert.Equal(t, "items", v)
				synctest.Wait()
			})
		})
	}
}
