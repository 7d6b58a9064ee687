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

	"github.com/go-caching/caching/internal/httpcache"
)

// pasteOuter is a paste site's outer middleware: it serves a paste as
// text/plain (a browser must never render a user's HTML), but leaves the
// type to net/http for its preview (?preview=1), and, with tag, sets the
// build's ETag on the first only. The view's key leaves preview out.
func pasteOuter(tag bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("preview") == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if tag {
				w.Header().Set("ETag", `"build-7"`)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// pasteBody is a user's paste.
const pasteBody = "<html><script>alert(document.cookie)</script>"

// TestCachedOuterTypeSetForSomeRequestsKeptOnHits: an outer middleware
// that sets Content-Type for some requests only, on an input the key
// leaves out. 0d134f6 left the sniffed type out of the entry where the
// request that stored it had the outer one; the preview stored it first,
// with its sniffed text/html, which every hit of the paste itself then
// wrote over the middleware's text/plain: the user's HTML rendered (stored
// XSS through the cache), GET and HEAD, both modes, in-process and remote,
// a range too. The entry now marks its type as sniffed, and a hit sends it
// only where the outer middleware set none. Likewise the ETag computed
// from the body (default mode) stands only where it set none. A handler
// that sets a Transfer-Encoding (its sniffed type is marked already, and
// sent to no HTTP/1.x client) gets the same. Since the type form is keyed,
// the paste has an entry of its own (its first request misses), and each
// form's hits keep what its miss sent; an older entry of the other form
// under the paste's key is TestOlderEntryOfOtherTypeFormNotServed's.
func TestCachedOuterTypeSetForSomeRequestsKeptOnHits(t *testing.T) {
	for _, coded := range []bool{false, true} {
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			if coded {
				w.Header().Set("Transfer-Encoding", "chunked")
			}
			_, _ = io.WriteString(w, pasteBody)
		})
		previewType := []string{"text/html; charset=utf-8"}
		if coded {
			previewType = nil // net/http's HTTP/1.x server sniffs none
		}
		forEachStore(t, func(t *testing.T, k storeKind) {
			for _, shared := range []bool{false, true} {
				name := func(what string) string {
					return strings.Join([]string{k.name, map[bool]string{false: "default", true: "shared"}[shared],
						map[bool]string{false: "plain", true: "coded"}[coded], what}, " ")
				}
				c, _ := k.open(t, nil, nil, Options{})
				opts := []ViewOption{CacheStatusHeader("X-Cache"), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
				if shared {
					opts = append(opts, SharedCache())
				}
				srv := httptest.NewServer(pasteOuter(true, c.Cached(time.Minute, opts...)(page)))
				preview, paste := srv.URL+"/paste?id=1&preview=1", srv.URL+"/paste?id=1"

				miss := fetchURL(t, nil, http.MethodGet, preview)
				require.Equal(t, "MISS", miss.Header.Get("X-Cache"), name("preview"))
				require.Equal(t, previewType, sentType(miss), name("preview miss"))

				own := fetchURL(t, nil, http.MethodGet, paste)
				require.Equal(t, "MISS", own.Header.Get("X-Cache"), name("paste: an entry of its own"))
				require.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(own), name("paste miss"))

				for _, method := range []string{http.MethodGet, http.MethodHead} {
					hit := fetchURL(t, nil, method, paste)
					require.Equal(t, "HIT", hit.Header.Get("X-Cache"), name(method))
					assert.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(hit), name(method+" paste hit: the outer type"))
					assert.Equal(t, `"build-7"`, hit.Header.Get("ETag"), name(method+" paste hit: the outer tag"))

					back := fetchURL(t, nil, method, preview)
					require.Equal(t, "HIT", back.Header.Get("X-Cache"), name(method))
					assert.Equal(t, previewType, sentType(back), name(method+" preview hit: the sniffed type"))
					if !shared {
						assert.Equal(t, httpcache.BodyETag([]byte(pasteBody)), back.Header.Get("ETag"), name(method+" preview hit: the computed tag"))
					}
				}
				if shared { // a SharedCache view answers ranges from the entry
					rng := fetchURL(t, nil, http.MethodGet, paste, "Range", "bytes=0-9")
					require.Equal(t, http.StatusPartialContent, rng.StatusCode, name("range"))
					assert.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(rng), name("paste range: the outer type"))
				} else { // a 304 from the preview's entry: its computed tag (the paste, with its own, never reads it)
					tag := httpcache.BodyETag([]byte(pasteBody))
					nm := fetchURL(t, nil, http.MethodGet, preview, "If-None-Match", tag)
					require.Equal(t, http.StatusNotModified, nm.StatusCode, name("304"))
					assert.Equal(t, tag, nm.Header.Get("ETag"), name("preview 304: the computed tag"))
				}
				srv.Close()
				c.Close()
			}
		})
	}
}

// TestSharedOuterTypeSetForSomeRequestsKeptAfterRevalidation: a
// SharedCache entry freshened by a 304 that sends no type keeps what its
// form's miss sent: the preview's entry its sniffed text/html, the
// paste's (an entry of its own since the type form is keyed) the outer
// text/plain, on the revalidation and on the hits after it.
func TestSharedOuterTypeSetForSomeRequestsKeptAfterRevalidation(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		if r.Header.Get("If-Modified-Since") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, pasteBody)
	})
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		defer c.Close()
		opts := []ViewOption{CacheStatusHeader("X-Cache"), SharedCache(), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
		srv := httptest.NewServer(pasteOuter(false, c.Cached(time.Minute, opts...)(page)))
		defer srv.Close()
		preview, paste := srv.URL+"/paste?id=1&preview=1", srv.URL+"/paste?id=1"
		miss := fetchURL(t, nil, http.MethodGet, preview)
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		require.Equal(t, []string{"text/html; charset=utf-8"}, sentType(miss))
		own := fetchURL(t, nil, http.MethodGet, paste)
		require.Equal(t, "MISS", own.Header.Get("X-Cache"), "the paste's entry of its own")
		require.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(own))
		time.Sleep(2100 * time.Millisecond) // stale: the next GETs revalidate (304)
		rv := fetchURL(t, nil, http.MethodGet, paste)
		require.Equal(t, "HIT", rv.Header.Get("X-Cache"), "a 304 freshened the entry")
		assert.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(rv), "the paste's revalidation")
		prv := fetchURL(t, nil, http.MethodGet, preview)
		require.Equal(t, "HIT", prv.Header.Get("X-Cache"), "a 304 freshened the preview's entry")
		assert.Equal(t, []string{"text/html; charset=utf-8"}, sentType(prv), "the preview's revalidation")
		hit := fetchURL(t, nil, http.MethodGet, paste)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		assert.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(hit), "the paste's hit after it")
		back := fetchURL(t, nil, http.MethodGet, preview)
		require.Equal(t, "HIT", back.Header.Get("X-Cache"))
		assert.Equal(t, []string{"text/html; charset=utf-8"}, sentType(back), "the preview's hit after it")
	})
}

// TestSharedOuterTypeKeptOverTheTypeSniffedAtTheFirstFlush: a streaming
// page whose type net/http sniffed at its first flush (text/plain, from
// the bytes written then) is stored by the request without the outer
// type; the requests with it (text/csv, an entry of their own since the
// type form is keyed) get it on hits, not the recorded text/plain, which
// was net/http's, not the handler's. A SharedCache view stores flushed
// responses.
func TestSharedOuterTypeKeptOverTheTypeSniffedAtTheFirstFlush(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, "<!DOCTYPE html")
		_ = http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, "><html><body>a,b</body></html>")
	})
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		defer c.Close()
		view := c.Cached(time.Minute, CacheStatusHeader("X-Cache"), SharedCache(), QueryString(QueryKeyOptions{Ignore: []string{"preview"}}))(page)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("preview") == "" {
				w.Header().Set("Content-Type", "text/csv")
			}
			view.ServeHTTP(w, r)
		}))
		defer srv.Close()
		miss := fetchURL(t, nil, http.MethodGet, srv.URL+"/export?preview=1")
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		require.Equal(t, []string{"text/plain; charset=utf-8"}, sentType(miss), "sniffed at the flush")
		own := fetchURL(t, nil, http.MethodGet, srv.URL+"/export")
		require.Equal(t, "MISS", own.Header.Get("X-Cache"), "an entry of its own")
		require.Equal(t, []string{"text/csv"}, sentType(own))
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			hit := fetchURL(t, nil, method, srv.URL+"/export")
			require.Equal(t, "HIT", hit.Header.Get("X-Cache"), method)
			assert.Equal(t, []string{"text/csv"}, sentType(hit), method+": the outer type")
			back := fetchURL(t, nil, method, srv.URL+"/export?preview=1")
			assert.Equal(t, sentType(miss), sentType(back), method+": the preview's")
		}
	})
}
