package caching

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestVariantKeyHidesCredentials: a variant's backend key spelled the
// values of the fields the response varied on, credentials too: on Redis,
// a page with Vary: Cookie, Authorization, X-Api-Key stored keys such as
// ".../page#u=u#vary:Authorization=Bearer <token>&Cookie=session%3D<id>",
// which anyone who may list the keys (SCAN, MONITOR, the slow log, a dump)
// read. A variant of fields other than the content-negotiation ones is
// now named by its hash, and still served.
func TestVariantKeyHidesCredentials(t *testing.T) {
	cases := []struct {
		name string
		opts []ViewOption
		hdr  []string // the request's fields, name, value pairs
	}{
		{"shared", []ViewOption{SharedCache()}, []string{"X-Api-Key", "SECRET-KEY"}},
		{"user key", []ViewOption{UserKey(func(*http.Request) string { return "u" })},
			[]string{"Cookie", "session=SECRET-SESSION", "Authorization", "Bearer SECRET-TOKEN", "X-Api-Key", "SECRET-KEY"}},
		{"inert cookie", []ViewOption{InertCookies("session")}, []string{"Cookie", "session=SECRET-SESSION", "X-Api-Key", "SECRET-KEY"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := miniredis.RunT(t)
			c := Must(&Options{Backend: redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr()})})
			t.Cleanup(func() { c.Close() })
			ch := c.Cached(time.Hour, append(tc.opts, CacheStatusHeader("X-Cache"))...)(&counter{body: "page",
				fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Vary", "Cookie, Authorization, X-Api-Key")
					w.Header().Set("Cache-Control", "max-age=60")
				}})
			get(ch, "/page", tc.hdr...)
			assert.Equal(t, "HIT", get(ch, "/page", tc.hdr...).Header().Get("X-Cache"))
			for _, k := range srv.Keys() {
				assert.NotContains(t, k, "SECRET", "a credential in a backend key")
			}
			assert.True(t, slices.ContainsFunc(srv.Keys(), func(k string) bool { return strings.Contains(k, "#vary:") }))
		})
	}
}
