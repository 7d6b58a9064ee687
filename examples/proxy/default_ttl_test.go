package main

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultTTLGivesWayToOrigin304: with -default-ttl, the proxy gave an
// origin 200 without Cache-Control "CDN-Cache-Control: max-age=N", and
// stored it. When the origin later made the page private, its 304 to the
// proxy's revalidation said so in Cache-Control (RFC 9110 section 15.4.5),
// but the 304 was merged into the stored header, where the injected
// CDN-Cache-Control, which this cache reads before Cache-Control, still
// said max-age=N: the entry was freshened and served to everyone again.
// The default now lives in a field of the proxy's own, which a 304 with
// Cache-Control or Expires clears.
func TestDefaultTTLGivesWayToOrigin304(t *testing.T) {
	for _, said := range []string{"Cache-Control: private", "Cache-Control: no-store", "Expires: 0"} {
		t.Run(said, func(t *testing.T) {
			var later atomic.Bool
			var calls atomic.Int64
			origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("ETag", `"v1"`)
				if later.Load() {
					name, value, _ := strings.Cut(said, ": ")
					w.Header().Set(name, value)
				}
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write([]byte("page"))
			})
			front, _ := startProxy(t, origin, nil, "-default-ttl", "1s")
			res, _ := send(t, http.MethodGet, front.URL+"/p")
			require.Equal(t, "MISS", res.Header.Get(statusHeader))
			res, _ = send(t, http.MethodGet, front.URL+"/p")
			require.Equal(t, "HIT", res.Header.Get(statusHeader))

			later.Store(true)
			time.Sleep(1100 * time.Millisecond) // past the default's 1s: the proxy revalidates
			send(t, http.MethodGet, front.URL+"/p")
			before := calls.Load()
			res, _ = send(t, http.MethodGet, front.URL+"/p")
			assert.Equal(t, before+1, calls.Load(),
				"a response the origin's 304 took the default from was served from the cache (%s)", res.Header.Get(statusHeader))
		})
	}
}

// A HEAD response that freshens the stored GET (RFC 9111 section 4.3.5)
// takes the default away as a 304 does when it has Cache-Control.
func TestDefaultTTLGivesWayToOriginHead(t *testing.T) {
	var later atomic.Bool
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("ETag", `"v1"`)
		if later.Load() {
			w.Header().Set("Cache-Control", "private")
		}
		_, _ = w.Write([]byte("page"))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "1s")
	send(t, http.MethodGet, front.URL+"/p")
	later.Store(true)
	time.Sleep(1100 * time.Millisecond)
	send(t, http.MethodHead, front.URL+"/p")
	before := calls.Load()
	res, _ := send(t, http.MethodGet, front.URL+"/p")
	assert.Equal(t, before+1, calls.Load(), "served from the cache after a HEAD said private (%s)", res.Header.Get(statusHeader))
}

// A 304 that says nothing of freshness keeps the default: the entry is
// fresh again for -default-ttl.
func TestDefaultTTLKeptBySilent304(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("page"))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "1s")
	send(t, http.MethodGet, front.URL+"/p")
	time.Sleep(1100 * time.Millisecond)
	send(t, http.MethodGet, front.URL+"/p") // revalidated: 304
	require.Equal(t, int64(2), calls.Load())
	res, body := send(t, http.MethodGet, front.URL+"/p")
	assert.Equal(t, "page", body)
	assert.Equal(t, "HIT", res.Header.Get(statusHeader))
}

// TestDefaultTTLNeverSentDownstream: a GET with a Cookie bypasses the
// proxy's cache (see readsWithCookie), but with -default-ttl the origin's
// answer still left with the injected "CDN-Cache-Control: max-age=N": a CDN
// in front of the proxy was told to share for N seconds the very page the
// proxy refused to store. The default is the proxy's alone now: no response
// carries it, bypassed, missed or hit.
func TestDefaultTTLNeverSentDownstream(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(defaultField, "max-age=999") // the origin's own is no default: dropped
		_, _ = w.Write([]byte("hello " + r.Header.Get("Cookie")))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "60s")
	for _, tc := range []struct{ status, cookie string }{{"BYPASS", "session=alice"}, {"MISS", ""}, {"HIT", ""}} {
		var hdr []string
		if tc.cookie != "" {
			hdr = []string{"Cookie", tc.cookie}
		}
		res, body := send(t, http.MethodGet, front.URL+"/account", hdr...)
		assert.Equal(t, tc.status, res.Header.Get(statusHeader))
		assert.Equal(t, "hello "+tc.cookie, body)
		assert.Empty(t, res.Header.Values("Cdn-Cache-Control"), tc.status)
		assert.Empty(t, res.Header.Values(defaultField), tc.status)
	}
}

// With -default-ttl the cache follows the origin's CDN-Cache-Control as
// without it (it reads a copy in its own field), and passes it on to the
// caches in front.
func TestDefaultTTLFollowsOriginCDNCacheControl(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/cdn-private":
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("CDN-Cache-Control", "private")
		case "/cdn-only":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("CDN-Cache-Control", "max-age=60")
		}
		_, _ = w.Write([]byte("page"))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "1m")
	send(t, http.MethodGet, front.URL+"/cdn-private")
	res, _ := send(t, http.MethodGet, front.URL+"/cdn-private")
	assert.Equal(t, int64(2), calls.Load(), "CDN-Cache-Control: private was stored (%s)", res.Header.Get(statusHeader))
	assert.Equal(t, "private", res.Header.Get("CDN-Cache-Control"))

	send(t, http.MethodGet, front.URL+"/cdn-only")
	res, _ = send(t, http.MethodGet, front.URL+"/cdn-only")
	assert.Equal(t, "HIT", res.Header.Get(statusHeader), "CDN-Cache-Control: max-age=60 wins over no-cache")
	assert.Equal(t, "max-age=60", res.Header.Get("CDN-Cache-Control"))
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	assert.Empty(t, res.Header.Values(defaultField))
}

// TestDefaultTTLNotGivenToHead: the default went to every 200 without
// freshness of its own that answered a GET or a HEAD. A HEAD 200 is never
// stored; it only freshens the stored GET whose validators it matches (RFC
// 9111 section 4.3.5), and its fields replace the stored ones. So a HEAD
// response that said nothing of freshness (an origin whose caching
// middleware runs for GET only) did not keep the stored state, as a silent
// 304 does: it wrote the default over the stored, empty field, which the
// cache then read in place of the origin's own Cache-Control. Here the
// origin's "no-cache" became ten minutes of unvalidated hits after one
// HEAD, which any client may send.
func TestDefaultTTLNotGivenToHead(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("ETag", `"v1"`)
		if r.Method == http.MethodGet {
			w.Header().Set("Cache-Control", "no-cache")
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("page"))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "10m")
	send(t, http.MethodGet, front.URL+"/p")
	send(t, http.MethodGet, front.URL+"/p")
	require.Equal(t, int64(2), calls.Load(), "no-cache: each GET revalidated")

	send(t, http.MethodHead, front.URL+"/p") // any client
	before := calls.Load()
	res, _ := send(t, http.MethodGet, front.URL+"/p")
	assert.Equal(t, before+1, calls.Load(),
		"the origin's no-cache entry served unvalidated after a HEAD gave it the proxy's default (%s)", res.Header.Get(statusHeader))
}

// TestDefaultTTLNotForSignedInRequests: with -share-cookie-requests and
// -default-ttl, a page the origin sent without Cache-Control to a request
// with a Cookie (or Authorization) got the default freshness and was served
// to everyone: the origin marked nothing shareable. Such a response is not
// stored; an anonymous request's still is.
func TestDefaultTTLNotForSignedInRequests(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello " + r.Header.Get("Cookie") + r.Header.Get("Authorization")))
	})
	front, _ := startProxy(t, origin, nil, "-share-cookie-requests", "-default-ttl", "60s")
	for _, cred := range [][]string{{"Cookie", "session=alice"}, {"Authorization", "Bearer alice"}} {
		path := front.URL + "/account-" + cred[0]
		res, body := send(t, http.MethodGet, path, cred...)
		assert.Equal(t, "hello "+cred[1], body)
		assert.NotEqual(t, "HIT", res.Header.Get(statusHeader))
		res, body = send(t, http.MethodGet, path)
		assert.Equal(t, "hello ", body, "a signed-in user's page served to an anonymous client")
		assert.NotEqual(t, "HIT", res.Header.Get(statusHeader))
		res, body = send(t, http.MethodGet, path)
		assert.Equal(t, "hello ", body)
		assert.Equal(t, "HIT", res.Header.Get(statusHeader), "an anonymous page is still stored")
	}
}
