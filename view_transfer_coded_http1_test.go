package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// transferCodedPage sets a Transfer-Encoding (te) and no Content-Type, and
// writes sniffedPage, flushing after its first 100 bytes when flushed.
func transferCodedPage(te string, flushed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Transfer-Encoding", te)
		if flushed {
			_, _ = w.Write(sniffedPage[:100])
			_ = http.NewResponseController(w).Flush()
			_, _ = w.Write(sniffedPage[100:])
			return
		}
		_, _ = w.Write(sniffedPage)
	})
}

// TestHTTP1TransferCodedHitType: net/http's HTTP/1.x server sniffs no
// Content-Type for a handler that sets a Transfer-Encoding (its first
// value, not blank), so the miss of such a handler that sets no type went
// out without one; its entry stored the type sniffed from the body (what
// the HTTP/2 server sends, see TestH2CTransferCodedHitType), which every
// GET and HEAD hit, and a range a SharedCache view answers from the entry,
// sent over HTTP/1.1 too. Hits over HTTP/1.x now send none, in both modes
// and both kinds of store, for a response written at once and (in a
// SharedCache view, which stores flushed responses) one flushed early.
func TestHTTP1TransferCodedHitType(t *testing.T) {
	for _, te := range []string{"chunked", "identity"} {
		t.Run(te, func(t *testing.T) {
			checkHitsSendTheMissType(t, transferCodedPage(te, false), nil, func(bool) bool { return true })
		})
	}
	t.Run("flushed", func(t *testing.T) {
		checkHitsSendTheMissType(t, transferCodedPage("chunked", true), nil, func(shared bool) bool { return shared })
	})
}

// TestH2CTransferCodedHeadAndRangeType: over h2c, where the server
// ignores the Transfer-Encoding and sniffs a type for the miss, HEAD hits
// and a range a SharedCache view answers from the entry keep the stored
// type, as GET hits do (TestH2CTransferCodedHitType): the entry's record
// of the Transfer-Encoding drops the type over HTTP/1.x only.
func TestH2CTransferCodedHeadAndRangeType(t *testing.T) {
	page := transferCodedPage("chunked", false)
	do := func(t *testing.T, cl *http.Client, url, method string, kv ...string) *http.Response {
		resp := fetchPage(t, cl, url, method, kv...)
		require.Equal(t, 2, resp.ProtoMajor, "h2c")
		return resp
	}
	want := []string{"text/html; charset=utf-8"}
	bare, bcl := h2cServer(t, page)
	defer bare.Close()
	require.Equal(t, want, sentType(do(t, bcl, bare.URL, http.MethodHead)), "a HEAD of the handler without a cache, over h2c")
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv, cl := h2cServer(t, c.Cached(time.Minute, opts...)(page))
			require.Equal(t, "MISS", do(t, cl, srv.URL, http.MethodGet).Header.Get("X-Cache"))
			head := do(t, cl, srv.URL, http.MethodHead)
			require.Equal(t, "HIT", head.Header.Get("X-Cache"))
			assert.Equal(t, want, sentType(head), "shared=%v: HEAD hit over h2c", shared)
			if shared {
				rng := do(t, cl, srv.URL, http.MethodGet, "Range", "bytes=0-9")
				require.Equal(t, http.StatusPartialContent, rng.StatusCode)
				assert.Equal(t, want, sentType(rng), "a range of the entry over h2c")
			}
			srv.Close()
			c.Close()
		}
	})
}

// TestCompressOverCachedTransferCodedHeadAndIdentity: compress in front
// of a view of a handler that sets a Transfer-Encoding and no Content-Type,
// over HTTP/1.1, where compress sniffs the type itself: the hits the
// client gets through it, a HEAD's (whose body compress never sees) and
// those of a client that accepts no coding included, have the type,
// coding and Vary of the handler behind compress without a cache. The
// view's writer is compress's, not net/http's: it keeps the stored type.
func TestCompressOverCachedTransferCodedHeadAndIdentity(t *testing.T) {
	page := transferCodedPage("chunked", false)
	mw := compress.Middleware(compress.Options{})
	do := func(t *testing.T, url, method, ae string) *http.Response {
		if ae == "" {
			return fetchPage(t, nil, url, method)
		}
		return fetchPage(t, nil, url, method, "Accept-Encoding", ae)
	}
	type req struct{ method, ae string }
	reqs := []req{{http.MethodGet, ""}, {http.MethodHead, "gzip"}, {http.MethodHead, ""}}
	bare := httptest.NewServer(mw(page))
	defer bare.Close()
	want := map[req][]string{}
	for _, rq := range reqs {
		want[rq] = typeCodingVary(do(t, bare.URL, rq.method, rq.ae))
		require.Equal(t, "text/html; charset=utf-8", want[rq][0], "%v without a cache", rq)
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv := httptest.NewServer(mw(c.Cached(time.Minute, opts...)(page)))
			require.Equal(t, "MISS", do(t, srv.URL, http.MethodGet, "gzip").Header.Get("X-Cache"))
			for _, rq := range reqs {
				hit := do(t, srv.URL, rq.method, rq.ae)
				require.Equal(t, "HIT", hit.Header.Get("X-Cache"), "%v", rq)
				assert.Equal(t, want[rq], typeCodingVary(hit), "shared=%v: %v hit", shared, rq)
			}
			srv.Close()
			c.Close()
		}
	})
}
