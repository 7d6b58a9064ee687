package timing_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/timing"
)

// admin is the Expose of these tests: a request with the cookie.
func admin(r *http.Request) bool {
	c, err := r.Cookie("admin")
	return err == nil && c.Value == "1"
}

// get fetches url with the default client, as the admin when asAdmin, and
// returns the response with its body read.
func get(t *testing.T, url string, asAdmin bool) *http.Response {
	t.Helper()
	return getWith(t, http.DefaultClient, url, asAdmin)
}

// getWith is get with client.
func getWith(t *testing.T, client *http.Client, url string, asAdmin bool) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if asAdmin {
		req.AddCookie(&http.Cookie{Name: "admin", Value: "1"})
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// storableByShared reports whether a shared cache that follows the
// targeted field (RFC 9213) or, without one, Cache-Control, may store h.
func storableByShared(h http.Header, targeted string) bool {
	cc, _ := (&httpcache.Shared{TargetedField: targeted}).Directives(h)
	return !cc.Private && !cc.NoStore
}

// A response with Server-Timing for an admitted request tells shared caches
// (a CDN in front) not to store it: Expose decides on what the client sends,
// and a stored copy would be served, with the admin's metrics, to everyone.
// Responses to other requests keep the handler's directives.
func TestAdmittedResponseIsNotForSharedCaches(t *testing.T) {
	mw := timing.Must(timing.Options{Expose: admin})
	cases := []struct {
		name    string
		set     func(h http.Header)
		follows []string // targeted fields a CDN may follow ("" for Cache-Control)
	}{
		{"public max-age", func(h http.Header) {
			h.Set("Cache-Control", "public, max-age=60")
		}, []string{""}},
		{"s-maxage", func(h http.Header) {
			h.Set("Cache-Control", "max-age=0, s-maxage=600")
		}, []string{""}},
		{"no Cache-Control", func(h http.Header) {
			h.Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT") // heuristically cacheable
		}, []string{""}},
		{"CDN-Cache-Control", func(h http.Header) {
			h.Set("Cache-Control", "no-cache")
			h.Set("CDN-Cache-Control", "max-age=600")
			h.Set("Example-CDN-Cache-Control", "max-age=600")
			h.Set("Surrogate-Control", "max-age=600")
		}, []string{"", "Cdn-Cache-Control", "Example-Cdn-Cache-Control"}},
		{"private already", func(h http.Header) {
			h.Set("Cache-Control", "private, max-age=60")
		}, []string{""}},
	}
	for _, tc := range cases {
		for _, h2 := range []bool{false, true} {
			t.Run(tc.name+"/"+protoName(h2), func(t *testing.T) {
				srv, client := startServer(t, mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					tc.set(w.Header())
					if r.URL.Path == "/flush" {
						flush(t, w)
					}
					_, _ = io.WriteString(w, "page")
				})), h2)

				for _, path := range []string{"/", "/flush"} {
					resp := getWith(t, client, srv.URL+path, true)
					assert.Equal(t, h2, resp.ProtoMajor == 2)
					require.NotEmpty(t, resp.Header.Get("Server-Timing"))
					for _, f := range tc.follows {
						assert.False(t, storableByShared(resp.Header, f), "%s: a shared cache following %q may store the admin's response: %v", path, f, resp.Header)
					}
					if sc := resp.Header.Values("Surrogate-Control"); len(sc) > 0 {
						assert.Equal(t, []string{"max-age=600", "no-store"}, sc, path)
					}
					if tc.name == "private already" {
						assert.Equal(t, []string{"private, max-age=60"}, resp.Header.Values("Cache-Control"), "left as it was")
					}

					resp = getWith(t, client, srv.URL+path, false)
					assert.Empty(t, resp.Header.Values("Server-Timing"))
					want := http.Header{}
					tc.set(want)
					for k := range want {
						assert.Equal(t, want.Values(k), resp.Header.Values(k), "%s: %s", path, k)
					}
					if want.Get("Cache-Control") == "" {
						assert.Empty(t, resp.Header.Values("Cache-Control"), path)
					}
				}
			})
		}
	}
}

// The response cache below the middleware stores what the handler sent:
// the admin's miss fills it for everyone, without the admin's directive.
func TestAdmittedMissStillFillsTheCache(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	runs := 0
	srv := httptest.NewServer(timing.Must(timing.Options{Expose: admin})(
		c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs++
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = io.WriteString(w, "page")
		}))))
	defer srv.Close()

	resp := get(t, srv.URL+"/p", true)
	assert.Contains(t, resp.Header.Get("Server-Timing"), "cache;desc=miss")
	assert.False(t, storableByShared(resp.Header, ""))

	resp = get(t, srv.URL+"/p", false)
	assert.Equal(t, 1, runs, "the anonymous request was served from the cache")
	assert.Equal(t, []string{"public, max-age=60"}, resp.Header.Values("Cache-Control"))
}

// A writer above the middleware that holds the status and commits later
// (compress's, until it has enough of the body to decide) reads the header
// after the middleware gave the handler's map its values back: it sends
// the admitted response without private unless it takes the header as it
// was at WriteHeader, as net/http's writers do. compress does: the
// admitted response it holds, encoded or not, goes out private.
func TestAdmittedResponseIsPrivateThroughCompressAbove(t *testing.T) {
	large := strings.Repeat(`{"id":1,"name":"desk lamp"},`, 100) // encoded, held until the end
	for _, tc := range []struct {
		name, body string
		encoded    bool
	}{
		{"held, not encoded", "page", false},
		{"held, encoded", large, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(compress.Middleware(compress.Options{})(timing.Must(timing.Options{Expose: admin})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Cache-Control", "public, max-age=60")
					_, _ = io.WriteString(w, tc.body)
				}))))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			resp := getWith(t, client, srv.URL, true)
			assert.Equal(t, tc.encoded, resp.Uncompressed, "gzip, which the client's transport decoded")
			require.NotEmpty(t, resp.Header.Get("Server-Timing"))
			assert.False(t, storableByShared(resp.Header, ""), "a shared cache may store the admin's response: %v", resp.Header)
		})
	}
}
