package caching

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// profilesOf is a memoized function of a slice: its result names the
// argument it was computed for.
func profilesOf(_ context.Context, ids []string) (string, error) {
	return "profiles of [" + strings.Join(ids, " ") + "]", nil
}

// TestMemoizeBackgroundRefreshUsesTheKeysArgument: a hit that starts a
// background refresh (RefreshAhead, StaleWhileRevalidate, StaleIf) returns
// before the refresh calls fn. A caller that then reuses its argument's
// slice for another argument (ids[0] = "mallory") must not make the refresh
// compute mallory's result and store it under alice's key, where every
// later caller for alice gets it.
func TestMemoizeBackgroundRefreshUsesTheKeysArgument(t *testing.T) {
	cases := []struct {
		name  string
		opts  []MemoOption
		sleep time.Duration // from the first Get to the one that starts the refresh
	}{
		{"RefreshAhead", []MemoOption{TTL(time.Minute), RefreshAhead(30 * time.Second)}, 40 * time.Second},
		{"StaleWhileRevalidate", []MemoOption{TTL(time.Minute), StaleWhileRevalidate(time.Hour)}, 2 * time.Minute},
		{"StaleIf", []MemoOption{TTL(time.Hour), StaleWhileRevalidate(time.Hour),
			StaleIf(func(r string) bool { return strings.Contains(r, "old") })}, time.Second},
	}
	for _, st := range refreshStores {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c, err := New(&Options{Backend: st.new(t)})
					require.NoError(t, err)
					defer c.Close()
					ctx := t.Context()
					m := Memoize(c, "profiles", profilesOf, tc.opts...)
					if tc.name == "StaleIf" {
						require.NoError(t, m.Set(ctx, []string{"alice"}, "old profiles of [alice]"))
					} else {
						_, err = m.Get(ctx, []string{"alice"})
						require.NoError(t, err)
					}

					time.Sleep(tc.sleep)
					ids := []string{"alice"}
					_, err = m.Get(ctx, ids) // starts the refresh
					require.NoError(t, err)
					ids[0] = "mallory" // the caller reuses its buffer
					synctest.Wait()    // the refresh ran

					v, err := m.Get(ctx, []string{"alice"})
					require.NoError(t, err)
					assert.Equal(t, "profiles of [alice]", v, "alice's entry holds another argument's result")
				})
			})
		}
	}
}

// TestMemoizeLeftComputationUsesTheKeysArgument: a Get (or Refresh) whose
// context ends returns while fn goes on for the cache; the caller that then
// reuses its argument's slice must not make that computation store another
// argument's result under the key it started with.
func TestMemoizeLeftComputationUsesTheKeysArgument(t *testing.T) {
	for _, st := range refreshStores {
		for _, via := range []string{"Get", "Refresh"} {
			t.Run(st.name+"/"+via, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c, err := New(&Options{Backend: st.new(t)})
					require.NoError(t, err)
					defer c.Close()
					release := make(chan struct{})
					m := Memoize(c, "profiles", func(ctx context.Context, ids []string) (string, error) {
						<-release
						return profilesOf(ctx, ids)
					}, TTL(time.Hour))

					ctx, cancel := context.WithCancel(t.Context())
					ids := []string{"alice"}
					done := make(chan error)
					go func() {
						var err error
						if via == "Get" {
							_, err = m.Get(ctx, ids)
						} else {
							_, err = m.Refresh(ctx, ids)
						}
						done <- err
					}()
					synctest.Wait() // fn runs, blocked
					cancel()
					require.True(t, errors.Is(<-done, context.Canceled))
					ids[0] = "mallory" // the caller reuses its buffer
					close(release)
					synctest.Wait() // the computation finished

					v, err := m.Get(t.Context(), []string{"alice"})
					require.NoError(t, err)
					assert.Equal(t, "profiles of [alice]", v, "alice's entry holds another argument's result")
				})
			})
		}
	}
}

// sharedQuery keys itself by a method and holds its state where a copy of
// it cannot reach (an unexported field): a copy shares it.
type sharedQuery struct{ ids []string }

func (q *sharedQuery) CacheKey() string { return strings.Join(q.ids, ",") }

// TestMemoizeBackgroundRefreshOfChangedArgumentNotStored: an argument that
// cannot be copied in full (state behind an unexported field, keyed by its
// CacheKey method) and that changes while its refresh runs gives a result
// that is not stored: alice's entry keeps alice's result, and the refused
// store is counted in Stats.Errors.
func TestMemoizeBackgroundRefreshOfChangedArgumentNotStored(t *testing.T) {
	for _, st := range refreshStores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{Backend: st.new(t)})
				require.NoError(t, err)
				defer c.Close()
				ctx := t.Context()
				var refreshing atomic.Bool
				release := make(chan struct{})
				m := Memoize(c, "profiles", func(ctx context.Context, q *sharedQuery) (string, error) {
					if refreshing.Load() {
						<-release
					}
					return profilesOf(ctx, q.ids)
				}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
				_, err = m.Get(ctx, &sharedQuery{ids: []string{"alice"}})
				require.NoError(t, err)

				time.Sleep(2 * time.Minute)
				q := &sharedQuery{ids: []string{"alice"}}
				refreshing.Store(true)
				_, err = m.Get(ctx, q) // stale: starts the refresh
				require.NoError(t, err)
				synctest.Wait() // fn runs, blocked
				q.ids[0] = "mallory"
				close(release) // fn reads q now
				synctest.Wait()
				refreshing.Store(false)

				v, err := m.Get(ctx, &sharedQuery{ids: []string{"alice"}})
				require.NoError(t, err)
				assert.Equal(t, "profiles of [alice]", v, "alice's entry holds another argument's result")
				assert.Equal(t, int64(1), c.Stats().Errors, "the refused store is counted")
			})
		})
	}
}
