package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransferCodedRevalidatedResponseType: over HTTP/1.1, a
// SharedCache view of a handler that sets Transfer-Encoding and no
// Content-Type. The miss and the hits send no type (net/http sniffs none),
// but the response the view serves from the entry a 304 freshened sends
// the stored (sniffed) type: the view serves it through its outerJudge
// wrapper, which untypedOverHTTP1 did not take for net/http's writer (it
// now looks through the view's own wrappers: HeaderPasser).
// The entry keeps the mark (the hit after it sends none).
func TestTransferCodedRevalidatedResponseType(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Transfer-Encoding", "chunked")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(sniffedPage)
	})
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		defer c.Close()
		srv := httptest.NewServer(c.Cached(time.Minute, CacheStatusHeader("X-Cache"), SharedCache())(page))
		defer srv.Close()
		miss := fetchPage(t, nil, srv.URL, http.MethodGet)
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
		require.Nil(t, sentType(miss), "miss over HTTP/1.1: no type")
		hit := fetchPage(t, nil, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		require.Nil(t, sentType(hit), "hit over HTTP/1.1: no type")
		time.Sleep(2100 * time.Millisecond) // stale: the next GET revalidates (304)
		rv := fetchPage(t, nil, srv.URL, http.MethodGet)
		assert.Nil(t, sentType(rv), "the response served from the entry a 304 freshened")
		after := fetchPage(t, nil, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", after.Header.Get("X-Cache"))
		assert.Nil(t, sentType(after), "the hit after it")
	})
}
