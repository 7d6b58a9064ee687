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
)

// TestRequestStatusesNeverStored: a 412, a 416 or a 226 answers fields of
// the request that no key holds (a precondition, a Range, an A-IM), not the
// URL. A view whose StoreStatuses listed one (a service caching its 4xx,
// StoreStatuses(200, 400, ..., 499)) stored it, and one request with
// If-Match: "x" (or Range: bytes=9999-) replaced the page with a 412 (a
// 416) for every client of the key until it expired. They are never
// stored now, listed or not: each request gets its own.
func TestRequestStatusesNeverStored(t *testing.T) {
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const content = "0123456789"
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("A-Im") == "feed" {
			w.WriteHeader(http.StatusIMUsed) // the instance manipulations since the client's copy
			io.WriteString(w, "delta")
			return
		}
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "page.txt", mod, strings.NewReader(content))
	})
	attacks := []struct {
		name   string
		status int
		hdr    []string
	}{
		{"if-match", http.StatusPreconditionFailed, []string{"If-Match", `"other"`}},
		{"if-unmodified-since", http.StatusPreconditionFailed, []string{"If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}},
		{"range", http.StatusRequestedRangeNotSatisfiable, []string{"Range", "bytes=9999-"}},
		{"a-im", http.StatusIMUsed, []string{"A-IM", "feed"}},
	}
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				env := newViewEnv(t, k)
				srv := httptest.NewServer(env.c.Cached(time.Minute, CacheStatusHeader("X-Cache"),
					StoreStatuses(200, 226, 404, 412, 416))(page))
				defer srv.Close()
				body, _ := fetch(t, srv, http.MethodGet, "/page", "", a.hdr...)
				require.NotEqual(t, content, body, "the attacker's own answer")
				for i := range 2 {
					res, err := srv.Client().Get(srv.URL + "/page")
					require.NoError(t, err)
					b, err := io.ReadAll(res.Body)
					res.Body.Close()
					require.NoError(t, err)
					assert.Equal(t, http.StatusOK, res.StatusCode, "request %d after a %d (%s)", i, a.status, res.Header.Get("X-Cache"))
					assert.Equal(t, content, string(b), "request %d", i)
				}
			})
		}
	})
}
