package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fetchAt sends a request with the fields kv to base's /p and returns the
// response, its body read.
func fetchAt(t *testing.T, base, method string, kv ...string) *http.Response {
	t.Helper()
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

// TestNonCanonicalNilKeySuppressesNothing: net/http reads only the
// canonical keys "Content-Type" and "Date" for a handler's suppression of
// the ones it adds, and writes nothing for a key without values: a handler
// that sets w.Header()["content-type"] = nil (or ["date"] = nil) gets the
// sniffed type (and a Date) without the cache. The view's recorder
// canonicalized the keys in place at commit, which made of such a key a
// suppression: the miss, and the hits, went out without them. They get
// what the handler gets without the cache, in both modes.
func TestNonCanonicalNilKeySuppressesNothing(t *testing.T) {
	t.Run("content-type", func(t *testing.T) {
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header()["content-type"] = nil
			_, _ = w.Write(sniffedPage)
		})
		checkHitsSendTheMissType(t, page, []string{"text/html; charset=utf-8"}, func(bool) bool { return true })
	})
	t.Run("date", func(t *testing.T) {
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Etag", `"v1"`)
			w.Header()["date"] = nil
			_, _ = w.Write(sniffedPage)
		})
		bare := httptest.NewServer(page)
		defer bare.Close()
		require.Len(t, fetchAt(t, bare.URL, http.MethodGet).Header["Date"], 1, "the handler without a cache")
		forEachStore(t, func(t *testing.T, k storeKind) {
			for _, shared := range []bool{false, true} {
				c, _ := k.open(t, nil, nil, Options{})
				opts := []ViewOption{CacheStatusHeader("X-Cache")}
				if shared {
					opts = append(opts, SharedCache())
				}
				srv := httptest.NewServer(c.Cached(time.Minute, opts...)(page))
				for i, resp := range []*http.Response{
					fetchAt(t, srv.URL, http.MethodGet),
					fetchAt(t, srv.URL, http.MethodGet),
					fetchAt(t, srv.URL, http.MethodHead),
					fetchAt(t, srv.URL, http.MethodGet, "If-None-Match", `"v1"`),
				} {
					assert.Len(t, resp.Header["Date"], 1, "shared=%v: response %d (%s, %s %d)", shared, i, resp.Header.Get("X-Cache"), resp.Request.Method, resp.StatusCode)
				}
				srv.Close()
				c.Close()
			}
		})
	})
}
