package caching

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMaxStaleBoundsStaleWhileRevalidate: with HonorRequestCacheControl, a
// request's max-stale=N says the client accepts a response stale by at
// most N seconds (RFC 9111 section 5.2.1.2). An entry stale by more, but
// within the response's stale-while-revalidate window (RFC 5861 section
// 3), was served STALE to it all the same: the request's limit now wins,
// and the request waits for the handler, as one with max-age does. A
// max-stale without a value (any staleness), or one that accepts the
// entry, is still answered stale at once, and a request without max-stale
// still gets the stale-while-revalidate window.
func TestMaxStaleBoundsStaleWhileRevalidate(t *testing.T) {
	tests := []struct {
		reqCC     string
		wantStale bool
	}{
		{"max-stale=2", false}, // the entry is stale by 5s
		{"max-stale=0", false},
		{"max-stale=30", true},
		{"max-stale", true},
		{"", true}, // stale-while-revalidate alone
	}
	for _, shared := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("shared=%v/%q", shared, tt.reqCC), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
						w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
						w.Header().Set("ETag", `"x"`) // kept past freshness
					}}
					opts := []ViewOption{CacheStatusHeader("X-Cache"), HonorRequestCacheControl(), StaleWhileRevalidate(time.Minute)}
					ttl := time.Hour
					if shared {
						opts = append(opts, SharedCache())
					} else {
						ttl = 10 * time.Second
					}
					ch := c.Cached(ttl, opts...)(h)
					get(ch, "/a")
					time.Sleep(15 * time.Second) // stale by 5s
					var hdr []string
					if tt.reqCC != "" {
						hdr = []string{"Cache-Control", tt.reqCC}
					}
					w := get(ch, "/a", hdr...)
					synctest.Wait() // the background refresh, if any, is done
					if tt.wantStale {
						assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
						assert.Equal(t, "b #1", w.Body.String())
						return
					}
					assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"), "a response stale by 5s was served to a request that accepts 2s at most")
					assert.Equal(t, "b #2", w.Body.String())
					assert.EqualValues(t, 2, h.calls.Load(), "the request's run only: no background refresh besides")
				})
			})
		}
	}
}

// TestMaxStaleLeavesStaleIfError: a request's max-stale=N does not bound
// the stale-if-error allowance (RFC 5861 section 4: when an error is
// encountered, a stale response may be used "regardless of other
// freshness information"): a request whose max-stale refuses the entry is
// answered with it when the handler fails, as one with max-age is, rather
// than with the error.
func TestMaxStaleLeavesStaleIfError(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
					w.Header().Set("ETag", `"x"`)
				}}
				fail := false
				ch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if fail {
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					h.ServeHTTP(w, r)
				})
				opts := []ViewOption{CacheStatusHeader("X-Cache"), HonorRequestCacheControl(), StaleIfError(time.Minute)}
				ttl := time.Hour
				if shared {
					opts = append(opts, SharedCache())
				} else {
					ttl = 10 * time.Second
				}
				v := c.Cached(ttl, opts...)(ch)
				get(v, "/a")
				time.Sleep(15 * time.Second) // stale by 5s
				fail = true
				w := get(v, "/a", "Cache-Control", "max-stale=2")
				assert.Equal(t, http.StatusOK, w.Code, "the handler failed: the stale entry answers")
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
				assert.Equal(t, "b #1", w.Body.String())
			})
		})
	}
}

// TestLeaseMaxStaleBound plays the scene of TestLeaseStaleRefusedByTheRequest
// (the entry stale by 4s, within the response's stale-if-error, while
// another process refreshes it under the Lease) with a request whose only
// directive is a max-stale too short for the entry: it waits for the
// refresh, as one with max-age does, instead of being served stale.
func TestLeaseMaxStaleBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w1, _, calls := leaseStaleRun(t, "max-age=1, stale-if-error=60", false, []string{"Cache-Control", "max-stale=2"}, nil)
		assert.Equal(t, "HIT", w1.Header().Get("X-Cache"), "a stale entry its max-stale does not accept was served")
		assert.Equal(t, "v2", w1.Body.String())
		assert.EqualValues(t, 2, calls)
	})
}
