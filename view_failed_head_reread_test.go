package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestFailedHeadStaleRechecked: a HEAD whose handler failed (a 5xx, or a
// panic before its response was committed) was answered with the stale
// entry its lookup found however long its handler took: an invalidation
// made while it ran (InvalidateTags, InvalidatePath, a Delete of its key, a
// Clear), or a handler slow enough to take the entry past its
// stale-if-error window, did not stop it, where a GET's run reads the
// entry again and judges it then (failedAnswer). A HEAD now does the same:
// it gets its failure as a HEAD without the entry would, the entry only
// while it still answers that failure, and a newer fresh entry stored
// meanwhile by another process as a HIT.
func TestFailedHeadStaleRechecked(t *testing.T) {
	ctx := context.Background()
	for _, flow := range failedLeaderFlows {
		for _, tc := range []struct {
			name string
			do   func(t *testing.T, c *Cache, b backend.Backend)
			want string // "STALE", "HIT", or "" for the failure
		}{
			{"none", func(*testing.T, *Cache, backend.Backend) {}, "STALE"},
			{"InvalidateTags", func(t *testing.T, c *Cache, _ backend.Backend) { require.NoError(t, c.InvalidateTags(ctx, "items")) }, ""},
			{"InvalidatePath", func(t *testing.T, c *Cache, _ backend.Backend) { require.NoError(t, c.InvalidatePath(ctx, "/p")) }, ""},
			{"Delete", func(t *testing.T, c *Cache, _ backend.Backend) {
				key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), flow.opts...)
				require.NoError(t, err)
				require.NoError(t, c.Backend().Delete(ctx, key))
			}, ""},
			{"Clear", func(t *testing.T, c *Cache, _ backend.Backend) { require.NoError(t, c.Clear(ctx)) }, ""},
			// The handler ran for a minute: the entry, stale for 15 s at
			// the lookup, is past its minute of stale-if-error.
			{"past", func(*testing.T, *Cache, backend.Backend) { time.Sleep(time.Minute) }, ""},
			{"newer", func(t *testing.T, _ *Cache, b backend.Backend) {
				other := Must(&Options{Backend: b}) // another process
				t.Cleanup(func() { other.Close() }) // (its Close closes b)
				oh := other.Cached(10*time.Second, flow.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if flow.cc != "" {
						w.Header().Set("Cache-Control", flow.cc)
					}
					w.Header().Set("ETag", `"v3"`)
					w.Write([]byte("other page"))
				}))
				require.Equal(t, "other page", get(oh, "/p").Body.String())
			}, "HIT"},
		} {
			for _, failure := range []string{"panic", "500"} {
				for _, remoteStore := range []bool{false, true} {
					name := flow.name + "/" + tc.name + "/" + failure
					if remoteStore {
						name += "/remote"
					}
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							var b backend.Backend = newSimple(t, nil)
							if remoteStore {
								b = &remote{Backend: b}
							}
							w, runs := failedLeaderOwnOf(t, http.MethodHead, &Options{Backend: b}, failure, flow.opts, flow.cc, func(c *Cache) { tc.do(t, c, b) })
							assert.Equal(t, int64(2), runs)
							switch tc.want {
							case "STALE", "HIT":
								etag := map[string]string{"STALE": `"v1"`, "HIT": `"v3"`}[tc.want]
								assert.Equal(t, http.StatusOK, w.Code)
								assert.Equal(t, tc.want, w.Header().Get("X-Cache"))
								assert.Equal(t, etag, w.Header().Get("ETag"))
							default:
								code := http.StatusInternalServerError
								if failure == "panic" {
									code = 599 // the panic reached the request
								}
								assert.Equal(t, code, w.Code, "the HEAD was served its entry (X-Cache: %s, ETag: %s), not its failure", w.Header().Get("X-Cache"), w.Header().Get("ETag"))
								assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
							}
						})
					})
				}
			}
		}
	}
}
