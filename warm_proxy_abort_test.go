package caching

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brokenOrigin is an origin whose chunked body breaks off: the proxy in
// front of it copies a first half and then fails to read the rest.
func brokenOrigin(t *testing.T) *httputil.ReverseProxy {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "first half;")
		w.(http.Flusher).Flush()    // chunked
		panic(http.ErrAbortHandler) // the origin dies: no last chunk
	}))
	t.Cleanup(origin.Close)
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	return proxy
}

// fetchCacheStatus sends req to srv and returns the body read (or the
// error) and the cache status.
func fetchCacheStatus(srv *httptest.Server, req *http.Request) (string, string) {
	res, err := srv.Client().Do(req)
	if err != nil {
		return "error: " + err.Error(), ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b), res.Header.Get("X-Cache")
}

// TestWarmDoesNotStoreCutShortProxyResponse: httputil.ReverseProxy aborts
// a response whose origin body breaks off (panic ErrAbortHandler) only for
// a request a server received (its context holds http.ServerContextKey);
// for any other it returns normally with what it copied. Warm's requests
// are given that key: the target fails, and the cut-short body is not
// stored for every client.
func TestWarmDoesNotStoreCutShortProxyResponse(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(10*time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(brokenOrigin(t))

	rep := c.Warm(context.Background(), h, WarmTarget{URL: "http://shop.example/catalog"})
	assert.Equal(t, 1, rep.Failed, "%+v", rep.Results[0])
	assert.ErrorContains(t, rep.Results[0].Err, "panic")

	// A client, as a server hands it over (ServerContextKey set).
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/catalog", nil)
	req.Host = "shop.example"
	body, st := fetchCacheStatus(srv, req)
	assert.NotEqual(t, "HIT", st, "a cut-short body was stored and served (%q)", body)
}

// TestViewDoesNotStoreCutShortProxyResponseOutsideServer: a request that
// no net/http server handed over (an adapter's, a test's) runs through a
// view as a server's would: a ReverseProxy whose origin breaks off aborts
// the response (the panic goes on to the caller, as a server would abort
// the connection), and the cut-short body is not stored.
func TestViewDoesNotStoreCutShortProxyResponseOutsideServer(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(10*time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(brokenOrigin(t))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { get(h, "/catalog") })
	var w *httptest.ResponseRecorder
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { w = get(h, "/catalog") }, "a cut-short body was stored and served")
	assert.Nil(t, w)
}

// TestViewAbortBeforeHeaderOutsideServer: a handler that aborts before
// its header, outside a server, still panics through the view: there is
// no response to send in its place.
func TestViewAbortBeforeHeaderOutsideServer(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { get(h, "/") })
}

// roundTripFunc is an http.RoundTripper of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRefreshDoesNotStoreCutShortProxyResponse: the background refresh
// that a stale hit starts, for a request no server handed over (an
// adapter's), runs as a server's request: the proxy's origin breaking off
// aborts it, and the stale entry stays rather than be replaced by half a
// body.
func TestRefreshDoesNotStoreCutShortProxyResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var broken atomic.Bool
		proxy := &httputil.ReverseProxy{
			Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(&url.URL{Scheme: "http", Host: "origin.example"}) },
			ErrorLog: log.New(io.Discard, "", 0),
			Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				body := io.Reader(strings.NewReader("the whole catalog"))
				if broken.Load() {
					body = io.MultiReader(strings.NewReader("half a"), errReader{})
				}
				return &http.Response{
					StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
					Header:        http.Header{"Cache-Control": {"max-age=10, stale-while-revalidate=60"}},
					Body:          io.NopCloser(body),
					ContentLength: -1, // chunked
					Request:       r,
				}, nil
			}),
		}
		c := Must(nil)
		defer c.Close()
		h := c.Cached(10*time.Minute, SharedCache(), StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(proxy)
		require.Equal(t, "the whole catalog", get(h, "/catalog").Body.String())
		time.Sleep(15 * time.Second) // stale
		broken.Store(true)
		require.Equal(t, "the whole catalog", get(h, "/catalog").Body.String(), "stale, refreshed in the background")
		synctest.Wait()
		w := get(h, "/catalog")
		assert.Equal(t, "the whole catalog", w.Body.String(), "the refresh stored a cut-short body (%s)", w.Header().Get("X-Cache"))
	})
}

// errReader fails every read, as a connection that broke off.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestDeliberateAbortNotSwallowed (92eda62): a handler that
// aborts its response on purpose (panic(http.ErrAbortHandler), the
// sentinel net/http documents for it) after its header is out, run by a
// caller that is not a net/http server (an adapter, a test): without the
// cache the caller sees the panic (and fails the response); through a view
// 92eda62 recovered the panic because the view had added a placeholder
// ServerContextKey, and the caller got the cut body as a complete 200. The
// abort goes on now.
func TestDeliberateAbortNotSwallowed(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "half of the ")
		panic(http.ErrAbortHandler) // e.g. the data source failed mid-body
	})
	serve := func(h http.Handler) (p any, w *httptest.ResponseRecorder) {
		w = httptest.NewRecorder()
		defer func() { p = recover() }()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/report", nil))
		return nil, w
	}
	p, _ := serve(next)
	require.Equal(t, http.ErrAbortHandler, p, "without the cache, the caller sees the abort")
	for _, opts := range [][]ViewOption{nil, {SharedCache()}} {
		p, w := serve(c.Cached(time.Minute, opts...)(next))
		assert.Equal(t, http.ErrAbortHandler, p,
			"through the view (opts %d) the abort was swallowed: the caller got %d %q as a complete response", len(opts), w.Code, w.Body.String())
	}
}
