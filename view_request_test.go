package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPartialAndNotModifiedNeverStored: StoreStatuses(200, 206) stored a
// Range request's 206 under the URL's key, and the next client that asked
// for the whole body got ten bytes of it. A 206 or 304 is never a response
// to the URL: StoreStatuses refuses them (and the policy never stores a
// 206: TestPolicyResponse).
func TestPartialAndNotModifiedNeverStored(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	for _, code := range []int{http.StatusPartialContent, http.StatusNotModified} {
		assert.Panics(t, func() { c.Cached(time.Minute, StoreStatuses(200, code)) }, "%d", code)
		_, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/", nil), StoreStatuses(code))
		assert.ErrorIs(t, err, ErrInvalidOption, "%d", code)
	}
	content := strings.Repeat("0123456789", 100)
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x.txt", time.Time{}, strings.NewReader(content))
	}))
	w := get(h, "/file", "Range", "bytes=0-9")
	require.Equal(t, http.StatusPartialContent, w.Code)
	w = get(h, "/file")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, content, w.Body.String())
}

// TestRequestWithBodyNotCached: a GET whose body chooses the response (a
// search API, as Elasticsearch's GET _search) was cached with the body left
// out of the key: bob got alice's results. A GET or HEAD with a body passes
// through ("body"), over a real connection, with a Content-Length or
// chunked, in either mode; one without a body is cached as before.
func TestRequestWithBodyNotCached(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{{"default", nil}, {"SharedCache", []ViewOption{SharedCache()}}} {
		t.Run(mode.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			search := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "results for "+string(b))
			})
			opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, mode.opts...)
			srv := httptest.NewServer(c.Cached(time.Minute, opts...)(search))
			defer srv.Close()
			do := func(method string, body io.Reader) (string, string) {
				t.Helper()
				req, err := http.NewRequest(method, srv.URL+"/_search", body)
				require.NoError(t, err)
				return fetchRequest(t, srv, req)
			}

			got, st := do(http.MethodGet, strings.NewReader(`{"q":"alice"}`))
			assert.Equal(t, `results for {"q":"alice"}`, got)
			assert.Equal(t, "BYPASS", st, "with a Content-Length")
			got, st = do(http.MethodGet, strings.NewReader(`{"q":"bob"}`))
			assert.Equal(t, `results for {"q":"bob"}`, got, "another body's response (%s)", st)
			got, st = do(http.MethodGet, iotest.OneByteReader(strings.NewReader(`{"q":"carol"}`))) // chunked
			assert.Equal(t, `results for {"q":"carol"}`, got)
			assert.Equal(t, "BYPASS", st, "chunked")

			_, st = do(http.MethodGet, nil)
			assert.Equal(t, "MISS", st)
			got, st = do(http.MethodGet, http.NoBody)
			assert.Equal(t, "HIT", st, "without a body: cached")
			assert.Equal(t, "results for ", got)
			_, st = do(http.MethodHead, nil)
			assert.Equal(t, "HIT", st, "a HEAD without a body")
		})
	}
}
