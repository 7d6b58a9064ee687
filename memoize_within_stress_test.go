package caching

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// withinStressKey marks the context of a call made from within a
// computation in TestMemoizeCallWithinStress: its fn calls nothing more;
// withinStressForced, a Get that RefreshIf forces.
type (
	withinStressKey    struct{}
	withinStressForced struct{}
)

// TestMemoizeCallWithinStress: many callers of two arguments at once, under
// -race: Gets, and Refreshes and forced Gets made after an update of the data (a
// version counter), and computations that make a Refresh or a forced Get
// of their own argument from within, on their goroutine, on another they
// wait for, or on one they leave running. fn returns the version it read,
// or the greater one its inline call returned (its result holds the inline
// call's). No call waits for ever, each call made after an update returns
// a result of that update or a later one, and once every call returned,
// each argument's entry is of the last update whose call returned, or of a
// later one: never of the data before it.
func TestMemoizeCallWithinStress(t *testing.T) {
	for _, st := range withinStores {
		t.Run(st.name, func(t *testing.T) { testCallWithinStress(t, st.open(t)) })
	}
}

func testCallWithinStress(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	c, err := New(&Options{Backend: b, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	const args = 2
	var (
		ver  [args]atomic.Int64 // the data of each argument
		left sync.WaitGroup     // the inline calls fn leaves running
		m    *Memoized[int, int64]
	)
	inline := func(ctx context.Context, a int, forced bool) (int64, error) {
		ctx = context.WithValue(ctx, withinStressKey{}, true)
		if forced {
			return m.Get(context.WithValue(ctx, withinStressForced{}, true), a)
		}
		return m.Refresh(ctx, a)
	}
	var calls atomic.Int64
	m = Memoize(c, "within-stress", func(ctx context.Context, a int) (int64, error) {
		v := ver[a].Load()
		if ctx.Value(withinStressKey{}) != nil {
			return v, nil
		}
		n := calls.Add(1)
		forced := n%2 == 0
		var r int64
		var err error
		switch n % 5 {
		case 0: // none
		case 1, 2: // on fn's goroutine
			r, err = inline(ctx, a, forced)
		case 3: // on another, waited for
			done := make(chan struct{})
			go func() {
				defer close(done)
				r, err = inline(ctx, a, forced)
			}()
			<-done
		case 4: // on another, left running
			left.Add(1)
			go func() {
				defer left.Done()
				_, _ = inline(context.WithoutCancel(ctx), a, forced)
			}()
		}
		return max(v, r), err
	}, TTL(time.Hour), RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(withinStressForced{}) != nil }))

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		lastDone  [args]int64 // the latest update whose call returned
		errs      []string
		failCount atomic.Int64
	)
	fail := func(format string, a ...any) {
		if failCount.Add(1) > 10 {
			return
		}
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	const workers, ops = 8, 150
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				a := (w + i) % args
				switch (w*7 + i) % 4 {
				case 0:
					if _, err := m.Get(ctx, a); err != nil {
						fail("Get: %v", err)
					}
				default:
					n := ver[a].Add(1) // the update
					var v int64
					var err error
					if (w+i)%2 == 0 {
						v, err = m.Refresh(ctx, a)
					} else {
						v, err = m.Get(context.WithValue(ctx, withinStressForced{}, true), a)
					}
					if err != nil {
						fail("update: %v", err)
						continue
					}
					if v < n {
						fail("a call made after update %d of %d returned %d", n, a, v)
					}
					mu.Lock()
					lastDone[a] = max(lastDone[a], n)
					mu.Unlock()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); left.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("calls did not return: one waits for a computation")
	}
	require.Empty(t, errs)
	for a := range args {
		v, _, err := m.Peek(ctx, a)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, v, lastDone[a], "the entry of %d is of the data before update %d, whose call returned", a, lastDone[a])
	}
}
