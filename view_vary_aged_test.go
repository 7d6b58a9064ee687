package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestVaryAgedOnArrivalRevalidated: a SharedCache response that arrives
// stale by more than a day (an upstream cache's Age past its max-age, or
// no-cache from a response two days old) is stored to be revalidated by
// its ETag, with Vary as without. A variant's day was counted from the end
// of its freshness, in the past: such a variant was dead on arrival, never
// stored, and each request ran the handler without a condition.
func TestVaryAgedOnArrivalRevalidated(t *testing.T) {
	for _, vary := range []string{"", "Accept-Language"} {
		for _, cc := range []string{"max-age=60", "no-cache"} {
			t.Run(cc+" vary="+vary, func(t *testing.T) {
				c, _, _ := newBodyWrites(t, false)
				var conditional atomic.Int64
				h := c.Cached(time.Hour, SharedCache())(&counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
					if vary != "" {
						w.Header().Set("Vary", vary)
					}
					w.Header().Set("Cache-Control", cc)
					w.Header().Set("Age", "172800") // two days
					w.Header().Set("ETag", `"v1"`)
					if r.Header.Get("If-None-Match") == `"v1"` {
						conditional.Add(1)
						w.WriteHeader(http.StatusNotModified)
					}
				}})
				assert.Equal(t, "page #1", get(h, "/p", "Accept-Language", "fr").Body.String())
				rec := get(h, "/p", "Accept-Language", "fr")
				assert.Equal(t, int64(1), conditional.Load(), "revalidated by the ETag stored")
				assert.Equal(t, "page #1", rec.Body.String())
			})
		}
	}
}

// TestVaryAgedOnArrivalStaleIfError: a SharedCache response that arrives
// stale by more than a day but within its stale-if-error (and the view's)
// answers a failure of the handler, with Vary as without. It was dead on
// arrival with Vary (see TestVaryAgedOnArrivalRevalidated): the client
// got the 5xx.
func TestVaryAgedOnArrivalStaleIfError(t *testing.T) {
	for _, vary := range []string{"", "Accept-Language"} {
		t.Run("vary="+vary, func(t *testing.T) {
			c, _, _ := newBodyWrites(t, false)
			var fail atomic.Bool
			h := c.Cached(time.Hour, SharedCache(), StaleIfError(7*24*time.Hour))(&counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
				if vary != "" {
					w.Header().Set("Vary", vary)
				}
				w.Header().Set("Cache-Control", "max-age=60, stale-if-error=604800")
				w.Header().Set("Age", "172800") // two days
				if fail.Load() {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}})
			assert.Equal(t, "page #1", get(h, "/p", "Accept-Language", "fr").Body.String())
			fail.Store(true)
			rec := get(h, "/p", "Accept-Language", "fr")
			assert.Equal(t, http.StatusOK, rec.Code, "the stored page answers the failure")
			assert.Equal(t, "page #1", rec.Body.String())
		})
	}
}
