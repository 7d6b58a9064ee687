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
