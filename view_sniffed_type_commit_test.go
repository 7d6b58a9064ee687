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

// sentType is what a response told its client of its Content-Type: the
// field's values, nil when it had none.
func sentType(resp *http.Response) []string { return resp.Header["Content-Type"] }

// checkHitsSendTheMissType serves page through a Cached view (default mode
// and SharedCache, over an in-process and a remote store) on a real
// server, and checks that GET and HEAD hits (and, in a SharedCache view, a
// range answered from the entry) send the Content-Type its miss sent: want.
// hits is false where the response is not stored (a default-mode view does
// not store a flushed response), so that every request runs page.
func checkHitsSendTheMissType(t *testing.T, page http.Handler, want []string, hits func(shared bool) bool) {
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
	require.Equal(t, want, sentType(do(t, bare.URL, http.MethodGet)), "the handler without a cache")
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv := httptest.NewServer(c.Cached(time.Minute, opts...)(page))
			hit := "HIT"
			if !hits(shared) {
				hit = "MISS"
			}
			miss := do(t, srv.URL, http.MethodGet)
			require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
			assert.Equal(t, want, sentType(miss), "shared=%v: GET miss", shared)
			get := do(t, srv.URL, http.MethodGet)
			require.Equal(t, hit, get.Header.Get("X-Cache"), "shared=%v", shared)
			assert.Equal(t, sentType(miss), sentType(get), "shared=%v: GET %s", shared, hit)
			head := do(t, srv.URL, http.MethodHead)
			require.Equal(t, hit, head.Header.Get("X-Cache"), "shared=%v", shared)
			assert.Equal(t, sentType(miss), sentType(head), "shared=%v: HEAD %s", shared, hit)
			if shared && hits(shared) { // a SharedCache view answers ranges from the entry
				rng := do(t, srv.URL, http.MethodGet, "Range", "bytes=0-9")
				require.Equal(t, http.StatusPartialContent, rng.StatusCode)
				assert.Equal(t, sentType(miss), sentType(rng), "a range of the entry")
			}
			srv.Close()
			c.Close()
		}
	})
}

// TestHitSendsNoContentTypeWhereTheHandlerSuppressedIt: a handler that sets
// w.Header()["Content-Type"] = nil tells net/http to send no Content-Type
// (and to sniff none); its miss went out without one, but the stored
// header lost the nil-valued key, so a GET hit got one sniffed from the
// stored body by net/http, and a HEAD hit one the entry had stored
// (sniffed as for a handler that sets none). The entry now records the
// suppression, in-process and in a remote store.
func TestHitSendsNoContentTypeWhereTheHandlerSuppressedIt(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header()["Content-Type"] = nil
		_, _ = w.Write(sniffedPage)
	})
	checkHitsSendTheMissType(t, page, nil, func(bool) bool { return true })
}

// TestHitSendsTheTypeSniffedAtTheFirstFlush: net/http sniffs the
// Content-Type of a handler that sets none from the bytes it holds when the
// header goes out, at the first flush: a streaming page that flushes its
// first bytes before they tell its type (or flushes before writing any)
// got text/plain (or no type at all), where the entry stored the type
// sniffed from its whole body (text/html), which its hits then sent. A
// SharedCache view stores flushed responses; a default-mode view does not.
func TestHitSendsTheTypeSniffedAtTheFirstFlush(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first string // written before the first flush
		want  []string
	}{
		{"flushed-doctype", "<!DOCTYPE html", []string{"text/plain; charset=utf-8"}},
		{"flushed-before-writing", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, tc.first)
				_ = http.NewResponseController(w).Flush()
				_, _ = io.WriteString(w, "><html><body>"+string(sniffedPage)+"</body></html>")
			})
			checkHitsSendTheMissType(t, page, tc.want, func(shared bool) bool { return shared })
		})
	}
}
