package caching

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"

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
		for _, tc := range failedOwnCases(ctx, flow.opts, flow.cc) {
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
