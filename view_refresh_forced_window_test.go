package caching

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefreshWithinWindowKeepsForcedUpdate: a background refresh that ends
// within its entry's stale window stores nothing over the response a
// RefreshIf request stored while it ran: the forced run began after the
// refresh, and replaced the entry for the update it was forced for (in a
// SharedCache view too, whose window is the response's own).
func TestRefreshWithinWindowKeepsForcedUpdate(t *testing.T) {
	for _, mode := range []string{"StaleWhileRevalidate", "RefreshAhead", "SharedCache"} {
		ahead, shared := mode == "RefreshAhead", mode == "SharedCache"
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
				defer c.Close()
				var runs atomic.Int32
				unblock := make(chan struct{})
				opts := []ViewOption{
					CacheStatusHeader("X-Cache"),
					RefreshIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Force") != "" }),
				}
				ttl := time.Second
				if ahead {
					ttl = time.Minute
					opts = append(opts, RefreshAhead(50*time.Second))
				} else {
					opts = append(opts, StaleWhileRevalidate(time.Minute))
				}
				if shared {
					opts = append(opts, SharedCache())
				}
				h := c.Cached(ttl, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if shared {
						w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=60")
					}
					switch runs.Add(1) {
					case 1:
						_, _ = w.Write([]byte("first"))
					case 2: // the refresh, begun before the update
						<-unblock
						_, _ = w.Write([]byte("before the update"))
					default:
						_, _ = w.Write([]byte("after the update"))
					}
				}))
				require.Equal(t, "MISS", get(h, "/a").Header().Get("X-Cache"))
				time.Sleep(1500 * time.Millisecond)
				if ahead {
					time.Sleep(15 * time.Second)
				}
				get(h, "/a") // starts the refresh
				synctest.Wait()
				require.EqualValues(t, 2, runs.Load(), "the refresh runs")
				time.Sleep(100 * time.Millisecond)
				require.Equal(t, "after the update", get(h, "/a", "X-Force", "1").Body.String())
				time.Sleep(100 * time.Millisecond)
				close(unblock)
				synctest.Wait()
				rec := get(h, "/a")
				assert.Equal(t, "HIT", rec.Header().Get("X-Cache"))
				assert.Equal(t, "after the update", rec.Body.String(), "the forced update stays stored")
			})
		})
	}
}
