package caching

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoStaleIfForeverServesStale: a result stored to never expire
// (TTL(Forever), or ResultTTL returning Forever) that StaleIf declares
// stale is served at once while one background call refreshes it
// (StaleWhileRevalidate), or in place of a failed computation
// (StaleIfError), as one stored for an hour is. Its stale windows were
// measured from the end of a freshness it does not have: the caller waited
// for fn, and got fn's error.
func TestMemoStaleIfForeverServesStale(t *testing.T) {
	lifetimes := []struct {
		name string
		o    MemoOption
	}{
		{"forever", TTL(Forever)},
		{"result-forever", ResultTTL(func(int64) time.Duration { return Forever })},
		{"hour", TTL(time.Hour)},
	}
	windows := []struct {
		name string
		o    MemoOption
	}{{"swr", StaleWhileRevalidate(time.Minute)}, {"sie", StaleIfError(time.Minute)}}
	for _, life := range lifetimes {
		for _, window := range windows {
			t.Run(life.name+"/"+window.name, func(t *testing.T) {
				forEachViewStore(t, func(t *testing.T, k storeKind) {
					e := newViewEnv(t, k)
					ctx := context.Background()
					var calls atomic.Int64
					var fail atomic.Bool
					m := Memoize(e.c, "cfg", func(context.Context, int) (int64, error) {
						if fail.Load() {
							return 0, errors.New("database down")
						}
						return calls.Add(1), nil
					}, life.o, window.o, StaleIf(func(v int64) bool { return v < 2 }))
					v, err := m.Get(ctx, 1)
					require.NoError(t, err)
					require.EqualValues(t, 1, v)
					// The stored result 1 is declared stale now; the
					// database fails.
					fail.Store(true)
					v, err = m.Get(ctx, 1)
					assert.NoError(t, err, "the stale result is served")
					assert.EqualValues(t, 1, v)
					assert.EqualValues(t, 1, e.c.Stats().StaleHits)
					e.c.background.wait()
				})
			})
		}
	}
}
