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

// checkOuterTypeForms serves page behind pasteOuter (text/plain for the
// paste, no type for its preview, which the key leaves out) through a
// Cached view, both modes, over an in-process and a remote store: the
// request named first stores the entry, and every request of the other
// form after it must get what its own miss would have, wantPaste and
// wantPreview, whether it hits or runs the handler.
func checkOuterTypeForms(t *testing.T, page http.Handler, wantPaste, wantPreview []string) {
	checkOuterTypeFormsBehind(t, func(next http.Handler) http.Handler { return pasteOuter(false, next) }, page, wantPaste, wantPreview)
}

// checkOuterTypeFormsBehind is checkOuterTypeForms with outer in place of
// pasteOuter.
func checkOuterTypeFormsBehind(t *testing.T, outer func(http.Handler) http.Handler, page http.Handler, wantPaste, wantPreview []string) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			for _, previewFirst := range []bool{true, false} {
				name := strings.Join([]string{k.name, map[bool]string{false: "default", true: "shared"}[shared],
					map[bool]string{false: "paste first", true: "preview first"}[previewFirst]}, " ")
				c, _ := k.open(t, nil, nil, Options{})
				opts := []ViewOption{CacheStatusHeader("X-Cache"), QueryString(QueryKeyOptions{Ignore: []string{"preview"}})}
				if shared {
					opts = append(opts, SharedCache())
				}
				srv := httptest.NewServer(outer(c.Cached(time.Minute, opts...)(page)))
				preview, paste := srv.URL+"/paste?id=1&preview=1", srv.URL+"/paste?id=1"
				first, other, wantFirst, wantOther := paste, preview, wantPaste, wantPreview
				if previewFirst {
					first, other, wantFirst, wantOther = preview, paste, wantPreview, wantPaste
				}
				miss := fetchURL(t, nil, http.MethodGet, first)
				require.Equal(t, "MISS", miss.Header.Get("X-Cache"), name)
				require.Equal(t, wantFirst, sentType(miss), name+": the first miss")
				for range 2 {
					for _, method := range []string{http.MethodGet, http.MethodHead} {
						resp := fetchURL(t, nil, method, other)
						assert.Equal(t, wantOther, sentType(resp), name+" "+method+": the other form ("+resp.Header.Get("X-Cache")+")")
					}
					hit := fetchURL(t, nil, http.MethodGet, first)
					assert.Equal(t, "HIT", hit.Header.Get("X-Cache"), name+": the first form still hits")
					assert.Equal(t, wantFirst, sentType(hit), name+": the first form's hit")
				}
				srv.Close()
				c.Close()
			}
		}
	})
}

// TestCachedOuterTypeServeContent: http.ServeContent (and so FileServer
// and ServeFile) sets the type it finds (by the name's extension, else
// sniffed) only where the header has none: what the handler sends depends
// on whether an outer middleware set one before it, which the key leaves
// out. The entry the preview stored held ServeContent's sniffed text/html
// as the handler's own, and the paste's hits sent it over the outer
// text/plain (stored XSS through the cache); the entry the paste stored
// held no type, and the preview's hits of a .txt file went out with the
// text/html net/http sniffs, not ServeContent's text/plain.
func TestCachedOuterTypeServeContent(t *testing.T) {
	for _, file := range []string{"paste", "paste.txt"} {
		t.Run(file, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				http.ServeContent(w, r, file, time.Time{}, strings.NewReader(pasteBody))
			})
			want := []string{"text/html; charset=utf-8"}
			if strings.HasSuffix(file, ".txt") {
				want = []string{"text/plain; charset=utf-8"}
			}
			checkOuterTypeForms(t, page, []string{"text/plain; charset=utf-8"}, want)
		})
	}
}

// TestCachedOuterTypeCompressInside: package compress inside the view
// sniffs and sets the type itself where the header has none; the entry the
// preview stored held it as the handler's, and the paste's hits sent the
// preview's text/html over the outer text/plain.
func TestCachedOuterTypeCompressInside(t *testing.T) {
	mw := compress.Middleware(compress.Options{})
	page := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, pasteBody)
	}))
	checkOuterTypeForms(t, page, []string{"text/plain; charset=utf-8"}, []string{"text/html; charset=utf-8"})
}

// TestCachedOuterNilTypeForSomeRequests: an outer middleware that
// suppresses net/http's sniffing for some requests (h["Content-Type"] =
// nil, net/http's idiom) on an input the key leaves out. The entry the
// paste stored held its nil-valued type as the handler's, and the
// preview's hits went out with no type where their miss had net/http's
// sniffed text/html. Now the nil type is the outer middleware's, as one
// with a value is, and the preview runs the handler.
func TestCachedOuterNilTypeForSomeRequests(t *testing.T) {
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("preview") == "" {
				w.Header()["Content-Type"] = nil
			}
			next.ServeHTTP(w, r)
		})
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, pasteBody)
	})
	checkOuterTypeFormsBehind(t, outer, page, nil, []string{"text/html; charset=utf-8"})
}
