package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyEnv is a SharedCache view around a real httputil.ReverseProxy in
// front of a real origin server: the deployment of examples/proxy.
type proxyEnv struct {
	*viewEnv
	front  *httptest.Server
	calls  map[string]*atomic.Int64
	failed atomic.Bool // the origin answers 503 to every GET
}

// originCase is one route of the origin: it sets the header of call n.
type originCase func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64)

func newProxyEnv(t *testing.T, cases map[string]originCase, opts ...ViewOption) *proxyEnv {
	e := &proxyEnv{viewEnv: newViewEnv(t, viewStores[1]), calls: map[string]*atomic.Int64{}}
	origin := http.NewServeMux()
	for path, fn := range cases {
		e.calls[path] = new(atomic.Int64)
		origin.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			n := e.calls[path].Add(1)
			w.Header().Set("Date", e.httpDate(0))
			if e.failed.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fn(e, w, r, n)
		})
	}
	originSrv := httptest.NewServer(origin)
	t.Cleanup(originSrv.Close)
	u, err := url.Parse(originSrv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	opts = append([]ViewOption{SharedCache(), CacheStatusHeader("X-Cache"), StaleIfError(time.Hour), StaleWhileRevalidate(time.Hour)}, opts...)
	e.front = httptest.NewServer(e.c.Cached(time.Hour, opts...)(proxy))
	t.Cleanup(e.front.Close)
	return e
}

// do sends a request through the front server; hdr is name, value pairs.
func (e *proxyEnv) do(t *testing.T, method, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.front.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := e.front.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

// body writes "path #n".
func body(w http.ResponseWriter, r *http.Request, n int64) {
	fmt.Fprintf(w, "%s #%d", r.URL.Path, n)
}

func withHeader(kv ...string) originCase {
	return func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		body(w, r, n)
	}
}

// TestProxyFreshness: freshness by each header, through a reverse proxy
// (RFC 9111 section 4.2.1, 4.2.2, RFC 9213).
func TestProxyFreshness(t *testing.T) {
	e := newProxyEnv(t, map[string]originCase{
		"/max-age":  withHeader("Cache-Control", "max-age=60"),
		"/s-maxage": withHeader("Cache-Control", "max-age=0, s-maxage=60"),
		"/expires": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Expires", e.httpDate(60*time.Second))
			body(w, r, n)
		},
		"/heuristic": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Last-Modified", e.httpDate(-10*time.Minute)) // 10%: 60 s
			body(w, r, n)
		},
		"/cdn":        withHeader("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"),
		"/cdn-forbid": withHeader("Cache-Control", "max-age=600", "CDN-Cache-Control", "no-store"),
		"/none":       withHeader("Content-Type", "text/plain"),
	})
	stored := []string{"/max-age", "/s-maxage", "/expires", "/heuristic", "/cdn"}
	for _, p := range append(stored, "/cdn-forbid", "/none") {
		e.do(t, http.MethodGet, p)
	}
	e.clock.Advance(59 * time.Second)
	for _, p := range stored {
		res, b := e.do(t, http.MethodGet, p)
		assert.Equal(t, "HIT", res.Header.Get("X-Cache"), p)
		assert.Equal(t, p+" #1", b)
		assert.Equal(t, "59", res.Header.Get("Age"), p)
	}
	res, _ := e.do(t, http.MethodGet, "/cdn")
	assert.Equal(t, "max-age=60", res.Header.Get("CDN-Cache-Control"), "forwarded to the client (RFC 9213 section 3)")
	for _, p := range []string{"/cdn-forbid", "/none"} {
		_, b := e.do(t, http.MethodGet, p)
		assert.Equal(t, p+" #2", b, "not stored")
	}
	e.clock.Advance(time.Second)
	for _, p := range stored {
		_, b := e.do(t, http.MethodGet, p)
		assert.Equal(t, p+" #2", b, "%s: stale at 60 s", p)
	}
}

// TestProxyAge: RFC 9111 section 4.2.3 across a proxy: the origin's Age and
// Date count, and the hit's Age adds the time stored.
func TestProxyAge(t *testing.T) {
	e := newProxyEnv(t, map[string]originCase{
		"/aged": withHeader("Cache-Control", "max-age=60", "Age", "40"),
		"/old":  withHeader("Cache-Control", "max-age=60", "Age", "61"),
		"/dated": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Date", e.httpDate(-15*time.Second))
			body(w, r, n)
		},
	})
	e.do(t, http.MethodGet, "/aged")
	e.do(t, http.MethodGet, "/dated")
	e.clock.Advance(10 * time.Second)
	res, _ := e.do(t, http.MethodGet, "/aged")
	assert.Equal(t, "50", res.Header.Get("Age"))
	res, _ = e.do(t, http.MethodGet, "/dated")
	assert.Equal(t, "25", res.Header.Get("Age"), "apparent age 15 + 10 stored")
	e.clock.Advance(10 * time.Second)
	_, b := e.do(t, http.MethodGet, "/aged")
	assert.Equal(t, "/aged #2", b, "40 upstream + 20 here: stale")
	e.do(t, http.MethodGet, "/old")
	_, b = e.do(t, http.MethodGet, "/old")
	assert.Equal(t, "/old #2", b, "stale on arrival")
}

// TestProxyRevalidation: a 304 from the origin updates the stored header
// (RFC 9111 section 4.3.4), and the client gets the full response.
func TestProxyRevalidation(t *testing.T) {
	e := newProxyEnv(t, map[string]originCase{
		"/etag": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("X-Served", fmt.Sprint(n))
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			io.WriteString(w, "the body")
		},
	})
	e.do(t, http.MethodGet, "/etag")
	e.clock.Advance(11 * time.Second)
	res, b := e.do(t, http.MethodGet, "/etag")
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "the body", b)
	assert.Equal(t, "2", res.Header.Get("X-Served"), "the 304's header is stored")
	assert.Equal(t, "0", res.Header.Get("Age"))
	res, _ = e.do(t, http.MethodGet, "/etag", "If-None-Match", `"v1"`)
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
	assert.EqualValues(t, 2, e.calls["/etag"].Load())
}

// TestProxyInvalidationAfterEachUnsafeMethod: RFC 9111 section 4.4 through
// a proxy.
func TestProxyInvalidationAfterEachUnsafeMethod(t *testing.T) {
	e := newProxyEnv(t, map[string]originCase{"/items/1": withHeader("Cache-Control", "max-age=600")})
	for i, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		e.do(t, http.MethodGet, "/items/1")
		res, _ := e.do(t, http.MethodGet, "/items/1")
		require.Equal(t, "HIT", res.Header.Get("X-Cache"))
		res, _ = e.do(t, m, "/items/1")
		assert.Equal(t, http.StatusNoContent, res.StatusCode)
		_, b := e.do(t, http.MethodGet, "/items/1")
		assert.Equal(t, fmt.Sprintf("/items/1 #%d", i+2), b, "%s invalidates", m)
	}
}

// TestProxyStaleDirectives: RFC 5861 through a proxy.
func TestProxyStaleDirectives(t *testing.T) {
	refreshed := make(chan struct{}, 1)
	e := newProxyEnv(t, map[string]originCase{
		"/sie": withHeader("Cache-Control", "max-age=1, stale-if-error=600"),
		"/swr": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=600")
			body(w, r, n)
			if n == 2 {
				refreshed <- struct{}{}
			}
		},
	})
	e.do(t, http.MethodGet, "/sie")
	e.do(t, http.MethodGet, "/swr")
	e.clock.Advance(10 * time.Second)
	res, b := e.do(t, http.MethodGet, "/swr")
	assert.Equal(t, "STALE", res.Header.Get("X-Cache"))
	assert.Equal(t, "/swr #1", b, "served at once")
	<-refreshed // the background revalidation reached the origin
	e.failed.Store(true)
	res, b = e.do(t, http.MethodGet, "/sie")
	assert.Equal(t, 200, res.StatusCode, "the origin's 503 is replaced")
	assert.Equal(t, "/sie #1", b)
	assert.Equal(t, "STALE", res.Header.Get("X-Cache"))
}

// TestProxyRangeAndChunked: a chunked origin response (ReverseProxy flushes
// each write) is stored, and a Range is answered from it; an event stream
// is not stored.
func TestProxyRangeAndChunked(t *testing.T) {
	e := newProxyEnv(t, map[string]originCase{
		"/chunked": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Cache-Control", "max-age=60")
			for _, part := range []string{"01234", "56789"} {
				io.WriteString(w, part)
				w.(http.Flusher).Flush() // no Content-Length: chunked
			}
		},
		"/events": func(e *proxyEnv, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %d\n\n", n)
		},
	})
	res, b := e.do(t, http.MethodGet, "/chunked")
	require.Equal(t, "0123456789", b)
	assert.Equal(t, []string{"chunked"}, res.TransferEncoding, "the miss streamed through")
	res, b = e.do(t, http.MethodGet, "/chunked", "Range", "bytes=3-6")
	assert.Equal(t, http.StatusPartialContent, res.StatusCode)
	assert.Equal(t, "3456", b)
	assert.Equal(t, "bytes 3-6/10", res.Header.Get("Content-Range"))
	assert.EqualValues(t, 1, e.calls["/chunked"].Load(), "stored once, from the chunked response")

	e.do(t, http.MethodGet, "/events")
	_, b = e.do(t, http.MethodGet, "/events")
	assert.True(t, strings.HasPrefix(b, "data: 2"), "an event stream is never stored")
}
