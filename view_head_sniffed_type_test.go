package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// sniffedPage is a body net/http sniffs as text/html.
var sniffedPage = []byte(strings.Repeat("<p>hello, a page whose type net/http sniffs</p>\n", 80))

// TestHeadHitSendsTheContentTypeNetHTTPSniffed: a handler that leaves
// Content-Type to net/http (which sniffs it from the body) got it on its
// GET, miss and hit, and on a HEAD without the cache, but not on a HEAD
// answered from the stored GET, whose body net/http does not see; nor did
// a range a SharedCache view served from the entry. The entry now stores
// the sniffed type.
func TestHeadHitSendsTheContentTypeNetHTTPSniffed(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(sniffedPage)
	})
	bare := httptest.NewServer(page)
	defer bare.Close()
	do := func(base, method string, kv ...string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), method, base+"/p", nil)
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	want := do(bare.URL, http.MethodHead).Header.Get("Content-Type")
	require.Equal(t, "text/html; charset=utf-8", want)
	for _, shared := range []bool{false, true} {
		c := Must(nil)
		opts := []ViewOption{CacheStatusHeader("X-Cache")}
		if shared {
			opts = append(opts, SharedCache())
		}
		srv := httptest.NewServer(c.Cached(time.Minute, opts...)(page))
		miss := do(srv.URL, http.MethodGet)
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		assert.Equal(t, want, miss.Header.Get("Content-Type"), "shared=%v: GET miss", shared)
		hit := do(srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		assert.Equal(t, want, hit.Header.Get("Content-Type"), "shared=%v: GET hit", shared)
		head := do(srv.URL, http.MethodHead)
		require.Equal(t, "HIT", head.Header.Get("X-Cache"))
		assert.Equal(t, want, head.Header.Get("Content-Type"), "shared=%v: HEAD hit", shared)
		if shared { // a SharedCache view answers ranges from the entry
			rng := do(srv.URL, http.MethodGet, "Range", "bytes=0-9")
			require.Equal(t, http.StatusPartialContent, rng.StatusCode)
			assert.Equal(t, want, rng.Header.Get("Content-Type"), "a range of the entry")
		}
		srv.Close()
		c.Close()
	}
}

// TestCompressOverCachedHeadHitMatchesItsGet: under compress(Cached(h)),
// a HEAD answered from the stored GET had no Content-Type for compress to
// judge, so it went out unencoded (the identity's Content-Length and
// strong ETag, no Content-Encoding) where its GET was encoded. It now
// carries the fields its GET does (RFC 9110 section 9.3.2).
func TestCompressOverCachedHeadHitMatchesItsGet(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write(sniffedPage)
	})
	c := Must(nil)
	defer c.Close()
	srv := httptest.NewServer(compress.Middleware(compress.Options{})(c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(page)))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	do := func(method string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/p", nil)
		req.Header.Set("Accept-Encoding", "br")
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	_ = do(http.MethodGet) // stored
	get := do(http.MethodGet)
	require.Equal(t, "HIT", get.Header.Get("X-Cache"))
	require.Equal(t, "br", get.Header.Get("Content-Encoding"))
	head := do(http.MethodHead)
	require.Equal(t, "HIT", head.Header.Get("X-Cache"))
	for _, f := range []string{"Content-Encoding", "Etag", "Content-Type", "Vary"} {
		assert.Equal(t, get.Header.Values(f), head.Header.Values(f), f)
	}
}
