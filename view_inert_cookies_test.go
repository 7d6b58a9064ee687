package caching

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// inertModes are the view set-ups whose background refreshes InertCookies
// opens to requests with cookies: each stores a page at 0s and is asked
// again at wait, when a request without cookies refreshes it.
var inertModes = []struct {
	name  string
	opts  []ViewOption
	cc    string        // the handler's Cache-Control
	wait  time.Duration // from the store to the request that refreshes
	ahead bool          // RefreshAhead: the entry is still fresh, a HIT
	mux   bool          // CachedMux
}{
	{name: "stale-while-revalidate", opts: []ViewOption{StaleWhileRevalidate(time.Hour)}, wait: 15 * time.Second},
	{name: "RefreshAhead", opts: []ViewOption{RefreshAhead(5 * time.Second)}, wait: 7 * time.Second, ahead: true},
	{name: "CachedMux", opts: []ViewOption{StaleWhileRevalidate(time.Hour)}, wait: 15 * time.Second, mux: true},
	{name: "SharedCache", opts: []ViewOption{SharedCache(), StaleWhileRevalidate(time.Hour)},
		cc: "max-age=10, stale-while-revalidate=3600", wait: 15 * time.Second},
	{name: "SharedCache RefreshAhead", opts: []ViewOption{SharedCache(), RefreshAhead(5 * time.Second)},
		cc: "max-age=10", wait: 7 * time.Second, ahead: true},
}

// TestInertCookiesRefresh: most browsers send analytics cookies (_ga,
// _ga_<id>), and a request with a Cookie the entry does not vary on starts
// no background refresh (see refreshable), so StaleWhileRevalidate and
// RefreshAhead served only clients without cookies. With those cookies
// named by InertCookies, such a request is served the stored page at once
// and refreshes it, and the refresh runs the handler without the Cookie;
// a request with another cookie too runs as a miss (stale) or starts
// nothing (RefreshAhead), as before.
func TestInertCookiesRefresh(t *testing.T) {
	for _, mode := range inertModes {
		t.Run(mode.name, func(t *testing.T) {
			for _, tc := range []struct {
				cookie  string
				refresh bool
			}{
				{"_ga=1; _ga_ABC=2", true},
				{"_ga=1; session=x", false},
			} {
				t.Run(tc.cookie, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						c := Must(nil)
						defer c.Close()
						var cookies []string // the Cookie field of each run
						handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							cookies = append(cookies, r.Header.Get("Cookie"))
							if mode.cc != "" {
								w.Header().Set("Cache-Control", mode.cc)
							}
							fmt.Fprintf(w, "page %d", len(cookies))
						})
						opts := append(mode.opts, CacheStatusHeader("X-Cache"), InertCookies("_ga", "_ga_*"))
						var h http.Handler
						if mode.mux {
							mux := http.NewServeMux()
							mux.Handle("GET /home", handler)
							h = c.CachedMux(mux, 10*time.Second, opts...)
						} else {
							h = c.Cached(10*time.Second, opts...)(handler)
						}
						require.Equal(t, "page 1", get(h, "/home").Body.String())
						time.Sleep(mode.wait)

						w := get(h, "/home", "Cookie", tc.cookie)
						synctest.Wait()
						switch {
						case tc.refresh:
							assert.Equal(t, "page 1", w.Body.String(), "served the stored page at once")
							if !assert.Len(t, cookies, 2, "the handler's runs: a background refresh") {
								return
							}
							assert.Empty(t, cookies[1], "the refresh's Cookie")
							assert.Equal(t, "page 2", get(h, "/home").Body.String(), "the refresh stored its page")
						case mode.ahead:
							assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
							assert.Len(t, cookies, 1, "a request with a cookie not named starts no refresh")
						default:
							assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "a stale entry, for a request with a cookie not named")
							assert.Equal(t, []string{"", tc.cookie}, cookies, "the request's own run, with its cookies")
						}
					})
				})
			}
		})
	}
}

// TestInertCookiesRead: the Cookie lines are read as Request.Cookies reads
// them, names matched exactly; any cookie not named, and any part of a
// line Request.Cookies drops as malformed, keep the request from
// refreshing. The reading allocates nothing.
func TestInertCookiesRead(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	cfg, fns, err := newViewConfig([]ViewOption{InertCookies("_ga", "_ga_*", "consent")}, false)
	require.NoError(t, err)
	v := c.newView(time.Minute, cfg, fns, nil)
	for _, tc := range []struct {
		lines []string
		inert bool
	}{
		{[]string{"_ga=1; _ga_ABC=2"}, true},
		{[]string{"_ga=1", " consent=yes ;_ga_=3;"}, true},
		{[]string{`_ga="GA1.2"`}, true},
		{[]string{"_ga"}, true}, // a cookie without a value, as Request.Cookies reads it
		{[]string{"_ga=1; session=x"}, false},
		{[]string{"_ga=1", "session=x"}, false},
		{[]string{"_GA=1"}, false},  // names are case-sensitive
		{[]string{"_gat=1"}, false}, // "_ga" names only _ga
		{[]string{"consents=1"}, false},
		{[]string{`_ga="1`}, false},            // malformed value
		{[]string{"_ga=1; _ga_X=a\\b"}, false}, // malformed value
		{[]string{"_ga=1; s d=1"}, false},      // malformed name
		{[]string{"_ga=1; =1"}, false},         // no name
		{[]string{""}, false},                  // no cookie
		{[]string{" ; "}, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = tc.lines
		assert.Equal(t, tc.inert, v.onlyInertCookies(r), "%q", tc.lines)
		if !raceOn {
			assert.Zero(t, testutil.AllocsPerRun(20, func() { v.onlyInertCookies(r) }), "allocations for %q", tc.lines)
		}
	}
	none := c.newView(time.Minute, viewConfig{}, viewFuncs{}, nil)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", "_ga=1")
	assert.False(t, none.onlyInertCookies(r), "a view without InertCookies")
}

// TestInertCookiesRefused: a name that is empty, a bare *, or not a cookie
// name is an option error.
func TestInertCookiesRefused(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, name := range []string{"", "*", "a b", "a=b*", "_ga;"} {
		_, err := c.ViewKey(r, InertCookies("_ga", name))
		assert.True(t, errors.Is(err, ErrInvalidOption), "%q: %v", name, err)
	}
	for _, name := range []string{"_ga", "_ga_*", "a**"} {
		_, err := c.ViewKey(r, InertCookies(name))
		assert.NoError(t, err, name)
	}
	assert.Panics(t, func() { c.Cached(time.Minute, InertCookies("*")) })
}
