package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestHitSendsNoDateWhereTheHandlerSuppressedIt: a handler that sets
// w.Header()["Date"] = nil has net/http send no Date; its entry lost the
// nil-valued key, so every hit got the Date net/http adds. A default-mode
// view stands for the handler: its hits (GET, HEAD, a 304) send no Date
// either. A SharedCache view is a cache in front of the handler: it dates
// a response it forwards or stores without a Date when it received it
// (RFC 9110 section 6.6.1), so its miss and its hits have that one (see
// TestSharedCacheDatesWhatItReceivedUndated).
func TestHitSendsNoDateWhereTheHandlerSuppressedIt(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Etag", `"v1"`)
		w.Header()["Date"] = nil
		_, _ = w.Write(sniffedPage)
	})
	do := func(t *testing.T, base, method string, kv ...string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), method, base+"/p", nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	bare := httptest.NewServer(page)
	defer bare.Close()
	require.NotContains(t, do(t, bare.URL, http.MethodGet).Header, "Date", "the handler without a cache")
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv := httptest.NewServer(c.Cached(time.Minute, opts...)(page))
			miss := do(t, srv.URL, http.MethodGet)
			require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
			if shared {
				assert.Len(t, miss.Header["Date"], 1, "shared=%v: the miss, dated by the cache", shared)
			} else {
				assert.NotContains(t, miss.Header, "Date", "shared=%v: the miss", shared)
			}
			for _, hit := range []*http.Response{
				do(t, srv.URL, http.MethodGet),
				do(t, srv.URL, http.MethodHead),
				do(t, srv.URL, http.MethodGet, "If-None-Match", `"v1"`),
			} {
				require.Equal(t, "HIT", hit.Header.Get("X-Cache"), "shared=%v", shared)
				if shared {
					assert.Equal(t, miss.Header["Date"], hit.Header["Date"], "shared=%v: %s %d hit, the miss's", shared, hit.Request.Method, hit.StatusCode)
				} else {
					assert.NotContains(t, hit.Header, "Date", "shared=%v: %s %d hit", shared, hit.Request.Method, hit.StatusCode)
				}
			}
			srv.Close()
			c.Close()
		}
	})
}

// TestCompressOverCachedSendsTheMissHeaderOnHits: with compress in front
// of a view (compress.Middleware(Cached(h))), a handler that sets its
// Content-Type to nil gets on its hits, GET and HEAD, encoded or not, the
// header it gets on its miss and without a cache: no Content-Type, and the
// same Content-Encoding and Vary.
func TestCompressOverCachedSendsTheMissHeaderOnHits(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header()["Content-Type"] = nil
		_, _ = w.Write(sniffedPage)
	})
	do := func(t *testing.T, base, method, accept string) http.Header {
		req, err := http.NewRequestWithContext(t.Context(), method, base+"/p", nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", accept) // set: the transport asks for gzip itself otherwise
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header
	}
	bare := httptest.NewServer(compress.Middleware(compress.Options{})(page))
	defer bare.Close()
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv := httptest.NewServer(compress.Middleware(compress.Options{})(c.Cached(time.Minute, opts...)(page)))
			status := "MISS"
			for _, accept := range []string{"gzip", ""} {
				for _, method := range []string{http.MethodGet, http.MethodGet, http.MethodHead} {
					want := do(t, bare.URL, method, accept)
					h := do(t, srv.URL, method, accept)
					require.Equal(t, status, h.Get("X-Cache"), "shared=%v accept=%q %s", shared, accept, method)
					what := fmt.Sprintf("shared=%v accept=%q %s %s", shared, accept, method, status)
					status = "HIT" // one entry, compressed on the way out
					assert.NotContains(t, want, "Content-Type", "without a cache")
					assert.NotContains(t, h, "Content-Type", what)
					assert.Equal(t, want["Content-Encoding"], h["Content-Encoding"], what)
					assert.Equal(t, want["Vary"], h["Vary"], what)
				}
			}
			srv.Close()
			c.Close()
		}
	})
}
