package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestHeaderChangedAfterWriteIsNotSent: net/http sends the header as it
// was at the first WriteHeader or Write, so a field set, changed or removed
// after it is not sent. The middleware holds a body under MinSize, and an
// encoded one until the handler returns, and committed the header map as it
// was then: fields changed after the first Write were sent for those bodies
// and not for others, so the same handler behaved differently by body size
// and differently from net/http (here a handler's late Content-Type and an
// outer "after next.ServeHTTP" middleware's field). Trailers, which
// net/http reads once the handler returns, are still sent.
func TestHeaderChangedAfterWriteIsNotSent(t *testing.T) {
	type sent struct {
		contentType, late, early, trailer string
	}
	for _, tc := range []struct {
		name        string
		body        string
		writeHeader bool // an explicit WriteHeader(200) before the changes
		flush       bool // a Flush after the changes, before returning
		encoding    string
	}{
		{name: "under MinSize", body: `{"ok":true}`},
		{name: "encoded", body: strings.Repeat(`{"ok":true}`, 200), encoding: "gzip"},
		{name: "WriteHeader, under MinSize", body: `{"ok":true}`, writeHeader: true},
		{name: "WriteHeader, encoded", body: strings.Repeat(`{"ok":true}`, 200), writeHeader: true, encoding: "gzip"},
		// Streamed: committed by Flush while the handler runs. gzip is
		// not a streaming algorithm by default: deflate is asked for.
		{name: "flushed", body: `{"ok":true}`, flush: true, encoding: "deflate"},
		{name: "WriteHeader, flushed", body: `{"ok":true}`, writeHeader: true, flush: true, encoding: "deflate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Early", "1")
				w.Header().Set("Trailer", "X-Sum")
				if tc.writeHeader {
					w.WriteHeader(http.StatusOK)
					w.Header().Set("X-Late", "header") // too late for net/http
				}
				_, _ = io.WriteString(w, tc.body)
				w.Header().Set("Content-Type", "text/html") // too late
				w.Header().Set("X-Late", "1")
				w.Header().Del("X-Early")
				w.Header().Set("X-Sum", "abc") // the declared trailer
				if tc.flush {
					w.(http.Flusher).Flush()
				}
			})
			fetch := func(handler http.Handler, encoding string) (sent, string) {
				srv := httptest.NewServer(handler)
				defer srv.Close()
				resp, _ := rawGet(t, srv.URL, "gzip, deflate")
				require.Equal(t, encoding, resp.Header.Get("Content-Encoding"))
				return sent{
					contentType: resp.Header.Get("Content-Type"),
					late:        resp.Header.Get("X-Late"),
					early:       resp.Header.Get("X-Early"),
					trailer:     resp.Trailer.Get("X-Sum"),
				}, resp.Header.Get("X-Sum")
			}
			plain, _ := fetch(h, "")
			require.Equal(t, sent{"application/json", "", "1", "abc"}, plain, "net/http's")
			got, inHeader := fetch(compress.Middleware(compress.Options{})(h), tc.encoding)
			assert.Equal(t, plain, got, "behind compress")
			assert.Empty(t, inHeader, "the trailer is not sent in the header")
		})
	}
}

// TestHeaderFrozenKeepsSniffedType: a handler that sets no Content-Type
// gets the one sniffed from its body, however late it sets one, as from
// net/http.
func TestHeaderFrozenKeepsSniffedType(t *testing.T) {
	for _, body := range []string{"<html>hi</html>", strings.Repeat("<html>hi</html>", 200)} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, body)
			w.Header().Set("Content-Type", "application/octet-stream") // too late
		})
		srv := httptest.NewServer(compress.Middleware(compress.Options{})(h))
		resp, got := rawGet(t, srv.URL, "gzip")
		srv.Close()
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), "body of %d bytes", len(body))
		assert.Equal(t, body, string(decode(t, resp.Header.Get("Content-Encoding"), got)))
	}
}
