package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJoinersCheckVersionsOnce: the callers that joined one computation
// check that the versions it read are current (an invalidation in another
// process while it ran), and each did so with a read of its own: a
// stampede of N callers on a remote store, which singleflight answers
// with one computation, cost N reads of the versions when it ended. The
// first to check now reads them, and the others take its answer.
func TestJoinersCheckVersionsOnce(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name string
		call func(c *Cache, fn func()) func() error
	}{
		{"Memoize", func(c *Cache, fn func()) func() error {
			m := Memoize(c, "stats", func(context.Context, int) (string, error) { fn(); return "v", nil }, Tags("t"))
			return func() error { _, err := m.Get(context.Background(), 9); return err }
		}},
		{"Cached", func(c *Cache, fn func()) func() error {
			h := c.Cached(time.Minute, Tags("t"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fn(); fmt.Fprint(w, "v") }))
			return func() error {
				if w := get(h, "/stats/9"); w.Code != http.StatusOK || w.Body.String() != "v" {
					return fmt.Errorf("status %d, body %q", w.Code, w.Body.String())
				}
				return nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &remote{Backend: newSimple(t, nil)}
			c := Must(&Options{Backend: r})
			defer c.Close()
			started, release := make(chan struct{}), make(chan struct{})
			var runs atomic.Int64
			call := tc.call(c, func() {
				if runs.Add(1) == 1 {
					close(started)
					<-release
				}
			})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); assert.NoError(t, call()) }()
			<-started
			before := r.trips.Load()
			for range n - 1 {
				wg.Add(1)
				go func() { defer wg.Done(); assert.NoError(t, call()) }()
			}
			// Each one's lookup is done: they join next.
			require.Eventually(t, func() bool { return r.trips.Load() >= before+n-1 }, time.Second, time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			joined := r.trips.Load()
			close(release)
			wg.Wait()
			assert.EqualValues(t, 1, runs.Load(), "one computation")
			assert.LessOrEqual(t, r.trips.Load()-joined, int64(4), "the store and one check, not one check per caller")
		})
	}
}
