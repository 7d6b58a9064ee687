package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// h2cServer starts h on a server that speaks HTTP/1.1 and unencrypted
// HTTP/2 (prior knowledge), and returns it with a client that speaks h2c.
func h2cServer(t *testing.T, h http.Handler) (*httptest.Server, *http.Client) {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr}
}

// typeCodingVary returns what compress decides of a response: its
// Content-Type, Content-Encoding and Vary.
func typeCodingVary(r *http.Response) []string {
	return []string{r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), r.Header.Get("Vary")}
}

// fetchPage sends method for url+"/p" with cl (nil: a client that does not
// ask for nor decode gzip), with the fields kv (name, value, ...), and
// returns the response once its body is read.
func fetchPage(t *testing.T, cl *http.Client, url, method string, kv ...string) *http.Response {
	return fetchURL(t, cl, method, url+"/p", kv...)
}

// fetchURL is fetchPage for a whole URL.
func fetchURL(t *testing.T, cl *http.Client, method, url string, kv ...string) *http.Response {
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	if cl == nil {
		tr := &http.Transport{DisableCompression: true}
		defer tr.CloseIdleConnections()
		cl = &http.Client{Transport: tr}
	}
	resp, err := cl.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestH2CTransferCodedHitType: over h2c, net/http's HTTP/2 server
// ignores a handler's Transfer-Encoding and sniffs a Content-Type: the
// handler without a cache, and its miss through a view, send
// "text/html; charset=utf-8", and so do its hits. (70e11cf stored a
// nil-valued Content-Type for such a response, as net/http's HTTP/1.x
// server sends none, and every hit over HTTP/2 lost the type; reverted.)
func TestH2CTransferCodedHitType(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Transfer-Encoding", "chunked")
		_, _ = w.Write(sniffedPage)
	})
	do := func(t *testing.T, cl *http.Client, url, method string) *http.Response {
		resp := fetchPage(t, cl, url, method)
		require.Equal(t, 2, resp.ProtoMajor, "h2c")
		return resp
	}
	bare, bcl := h2cServer(t, page)
	defer bare.Close()
	want := sentType(do(t, bcl, bare.URL, http.MethodGet))
	require.Equal(t, []string{"text/html; charset=utf-8"}, want, "the handler without a cache, over h2c")
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv, cl := h2cServer(t, c.Cached(time.Minute, opts...)(page))
			miss := do(t, cl, srv.URL, http.MethodGet)
			require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
			assert.Equal(t, want, sentType(miss), "shared=%v: miss over h2c", shared)
			hit := do(t, cl, srv.URL, http.MethodGet)
			require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
			assert.Equal(t, sentType(miss), sentType(hit), "shared=%v: GET hit over h2c sends the miss's Content-Type", shared)
			srv.Close()
			c.Close()
		}
	})
}

// TestCompressOverCachedTransferCoded: compress in front of a
// view (compress.Middleware(Cached(h))) of a handler that sets a
// Transfer-Encoding and no Content-Type, over HTTP/1.1. compress ignores
// the Transfer-Encoding: it sniffs the type itself and encodes the miss,
// and the hits are the same. (With 70e11cf's nil-valued Content-Type in
// the entry, which compress reads as "never sniff, pass through", hits
// were not encoded and lost the Content-Type and Vary the miss sent.)
func TestCompressOverCachedTransferCoded(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Transfer-Encoding", "chunked")
		_, _ = w.Write(sniffedPage)
	})
	mw := compress.Middleware(compress.Options{})
	do := func(t *testing.T, url string, kv ...string) *http.Response {
		return fetchPage(t, nil, url, http.MethodGet, kv...)
	}
	bare := httptest.NewServer(mw(page))
	defer bare.Close()
	want := typeCodingVary(do(t, bare.URL, "Accept-Encoding", "gzip"))
	t.Logf("handler behind compress, no cache: %q", want)
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, shared := range []bool{false, true} {
			c, _ := k.open(t, nil, nil, Options{})
			opts := []ViewOption{CacheStatusHeader("X-Cache")}
			if shared {
				opts = append(opts, SharedCache())
			}
			srv := httptest.NewServer(mw(c.Cached(time.Minute, opts...)(page)))
			miss := do(t, srv.URL, "Accept-Encoding", "gzip")
			require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
			hit := do(t, srv.URL, "Accept-Encoding", "gzip")
			require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
			assert.Equal(t, want, typeCodingVary(miss), "shared=%v: miss", shared)
			assert.Equal(t, typeCodingVary(miss), typeCodingVary(hit), "shared=%v: hit sends what the miss sent (type, coding, Vary)", shared)
			srv.Close()
			c.Close()
		}
	})
}
