package caching

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// TestMemoizeRefreshSupersededByBackgroundRefreshRefused: a Refresh (R1)
// computes after an update; another process sharing the backend, reading
// a lagging replica, stores the entry of before the update ("old") while
// R1's fn runs; that entry goes stale, and a Get in R1's process serves it
// and starts a background refresh (StaleWhileRevalidate), which supersedes
// R1 (its computation began before the entry was stored) and whose write
// the backend refuses. R1 then returns its new result: the entry must be
// R1's, not "old" (before e1ca3e9 a superseded Refresh stored nothing,
// and "old" stayed served until its stale window ended).
func TestMemoizeRefreshSupersededByBackgroundRefreshRefused(t *testing.T) {
	for _, kind := range []string{"local", "remote"} {
		t.Run(kind, func(t *testing.T) {
			clock := testutil.NewClock()
			s := newSimple(t, clock)
			h := new(setHook)
			var b1, b2 backend.Backend
			if kind == "local" {
				b1, b2 = localSetHooked{localNoClose{s}, h}, localNoClose{s}
			} else {
				b1, b2 = remoteSetHooked{&remote{Backend: s}, h}, nopClose{&remote{Backend: s}}
			}
			open := func(b backend.Backend) *Cache {
				c, err := New(&Options{Backend: b, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
			c1, c2 := open(b1), open(b2)
			ctx := context.Background()
			var data atomic.Value
			data.Store("new") // the update
			var hold atomic.Pointer[heldCall]
			opts := []MemoOption{TTL(time.Minute), StaleWhileRevalidate(time.Hour)}
			m1 := Memoize(c1, "bg-refused", func(context.Context, int) (string, error) {
				v := data.Load().(string)
				if h := hold.Swap(nil); h != nil {
					h.entered <- struct{}{}
					<-h.release
				}
				return v, nil
			}, opts...)
			m2 := Memoize(c2, "bg-refused", func(context.Context, int) (string, error) {
				return "old", nil // a replica that has not seen the update
			}, opts...)
			key, err := m1.Key(1)
			require.NoError(t, err)

			r1 := newHeldCall(false)
			hold.Store(r1)
			done, got := make(chan error, 1), new(atomic.Value)
			go func() {
				v, err := m1.Refresh(ctx, 1)
				got.Store(v)
				done <- err
			}()
			<-r1.entered // R1 read "new"

			clock.Advance(time.Second)
			v, err := m2.Get(ctx, 1) // the other process stores "old"
			require.NoError(t, err)
			require.Equal(t, "old", v)

			clock.Advance(2 * time.Minute) // stale
			data.Store("newer")
			refused := make(chan struct{})
			h.on(key, func(func() error) error {
				h.off()
				close(refused)
				return errors.New("OOM command not allowed when used memory > 'maxmemory'")
			})
			v, err = m1.Get(ctx, 1) // served stale; the refresh supersedes R1
			require.NoError(t, err)
			require.Equal(t, "old", v)
			<-refused // the refresh's write (R1 waits for its write lock)

			close(r1.release)
			require.NoError(t, <-done)
			require.Equal(t, "new", got.Load())
			for _, m := range []*Memoized[int, string]{m1, m2} {
				v, _, err := m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "new", v, "R1 returned its result, and the entry of before it is served")
			}
		})
	}
}
