package caching

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestBackgroundRefreshDropsUnderscoreSpellings: a background refresh
// leaves out the client's validators, preconditions and proxy credentials
// also when they are spelled with '_' ("If_None_Match"), which a CGI-style
// origin (cgiField) reads as the field itself: the refresh of a shared
// entry sent one client's If_Match or Proxy_Authorization to the origin,
// whose answer to them (a 412, that client's page) was stored for every
// client.
func TestBackgroundRefreshDropsUnderscoreSpellings(t *testing.T) {
	fields := map[string]string{
		"If_None_Match":       `"x"`,
		"If_Modified_Since":   "Mon, 02 Jan 2006 15:04:05 GMT",
		"If_Match":            `"y"`,
		"If_Unmodified_Since": "Mon, 02 Jan 2006 15:04:05 GMT",
		"If_Range":            `"z"`,
		"Proxy_Authorization": "Basic c2VjcmV0",
		"Content_Type":        "text/plain",
	}
	for mode, opts := range map[string][]ViewOption{"default": nil, "shared": {SharedCache()}} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				seen := make(chan *http.Request, 1)
				var calls atomic.Int64
				view := c.Cached(time.Minute, append(opts, StaleWhileRevalidate(time.Hour), CacheStatusHeader("X-Cache"))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if calls.Add(1) > 1 {
						seen <- r
					}
					w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=3600")
					_, _ = w.Write([]byte("page"))
				}))
				get(view, "/p") // stored
				time.Sleep(2 * time.Minute)
				r := httptest.NewRequest(http.MethodGet, "/p", nil)
				for k, v := range fields {
					r.Header[k] = []string{v}
				}
				w := httptest.NewRecorder()
				view.ServeHTTP(w, r) // served stale; the refresh starts
				assert.Equal(t, "page", w.Body.String())
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
				got := <-seen
				for k := range fields {
					assert.Empty(t, cgiField(got, k), "%s reached the refresh's handler", k)
				}
			})
		})
	}
}
