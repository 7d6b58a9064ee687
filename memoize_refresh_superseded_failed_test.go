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
)

// TestMemoizeRefreshSupersededThenFailed: a job updates the data and
// calls Refresh, which returns the new result and no error. While its fn
// ran, a second replacement of the same argument began (another Refresh,
// or a Get that RefreshIf forces, e.g. a client's no-cache request): it
// supersedes the first, whose result is then not stored ("forgotten while
// fn ran"), and its own fn fails (a transient error). The second must
// then remove the entry of the data before the update, or, the first
// Refresh having returned nil, every Get after it would serve the old
// result until its TTL (Forever: for good).
func TestMemoizeRefreshSupersededThenFailed(t *testing.T) {
	for _, tc := range []string{"second Refresh", "forced Get"} {
		t.Run(tc, func(t *testing.T) {
			c, err := New(&Options{Backend: newSimple(t, nil), Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer c.Close()
			ctx := context.Background()
			var data atomic.Value
			data.Store("old")
			var calls atomic.Int64
			inFn, release := make(chan struct{}), make(chan struct{})
			var forced atomic.Bool
			m := Memoize(c, "refresh-superseded", func(_ context.Context, _ int) (string, error) {
				switch calls.Add(1) {
				case 2: // the job's Refresh: reads the new data, slow
					v := data.Load().(string)
					close(inFn)
					<-release
					return v, nil
				case 3: // the second replacement: a transient failure
					return "", errors.New("db: timeout")
				}
				return data.Load().(string), nil
			}, TTL(time.Hour), RefreshIf(func(context.Context, int) bool { return forced.Load() }))

			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, "old", v)

			data.Store("new") // the update
			type result struct {
				v   string
				err error
			}
			done := make(chan result, 1)
			go func() { v, err := m.Refresh(ctx, 1); done <- result{v, err} }()
			<-inFn

			if tc == "forced Get" {
				forced.Store(true)
				_, err = m.Get(ctx, 1)
				forced.Store(false)
			} else {
				_, err = m.Refresh(ctx, 1)
			}
			require.Error(t, err, "the second replacement failed")

			close(release)
			r := <-done
			require.NoError(t, r.err, "the job's Refresh reports success")
			require.Equal(t, "new", r.v)

			got, err := m.Get(ctx, 1)
			require.NoError(t, err)
			peek, _, _ := m.Peek(ctx, 1)
			assert.Equal(t, "new", got, "Get after a successful Refresh serves the result of the data before the update (stored %q)", peek)
		})
	}
}
