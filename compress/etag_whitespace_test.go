package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// handlerETags are ETag values a handler may set with whitespace around the
// entity-tag (a hash read from a file ends with a newline). net/http trims
// it before sending, so each is the strong tag "v1" on the wire.
var handlerETags = []string{"\"v1\"\n", "\"v1\"\r\n", "\"v1\" ", " \"v1\"", "\t\"v1\"\t"}

// fetchETag sends a GET to url with these Accept-Encoding and If-None-Match
// values ("" for none) and returns the response, its body read.
func fetchETag(t *testing.T, url, ae, inm string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestETagWithWhitespaceIsEncoded: a strong ETag with whitespace around it
// in the handler's header is strong on the wire, so the encoded body must go
// out weakened (or suffixed), not under the identity body's strong tag: a
// cache combining ranges, or an If-Range against the unencoded body, would
// splice bytes of two different bodies. The identity body keeps "v1".
func TestETagWithWhitespaceIsEncoded(t *testing.T) {
	for _, tc := range []struct {
		mode compress.ETagMode
		want string
	}{
		{compress.ETagWeaken, `W/"v1"`},
		{compress.ETagSuffix, `"v1:gzip"`},
	} {
		for _, etag := range handlerETags {
			c := compress.Must(compress.Options{ETag: tc.mode})
			srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("ETag", etag)
				_, _ = w.Write(big)
			})))
			plain := fetchETag(t, srv.URL, "", "")
			gz := fetchETag(t, srv.URL, "gzip", "")
			srv.Close()
			assert.Equal(t, `"v1"`, plain.Header.Get("Etag"), "mode %d, handler ETag %q: identity body", tc.mode, etag)
			require.Equal(t, "gzip", gz.Header.Get("Content-Encoding"))
			assert.Equal(t, tc.want, gz.Header.Get("Etag"), "mode %d, handler ETag %q: gzip body", tc.mode, etag)
		}
	}
}

// TestETagWithWhitespaceRevalidates: the tag the client was sent for each
// body, compared with the handler's ETag as net/http sends it, answers 304
// (Conditional alone, and in the Compressor); a handler's own 304 names the
// encoded variant the client revalidated.
func TestETagWithWhitespaceRevalidates(t *testing.T) {
	for _, etag := range handlerETags {
		body := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", etag)
			_, _ = w.Write(big)
		}
		own304 := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
		}
		for _, tc := range []struct {
			name     string
			h        http.Handler
			ae, inm  string
			wantETag string // of the 304
		}{
			{"Conditional", compress.Conditional(http.HandlerFunc(body)), "", `"v1"`, `"v1"`},
			{"weaken, identity", compress.Middleware(compress.Options{})(http.HandlerFunc(body)), "", `"v1"`, `"v1"`},
			{"weaken, gzip", compress.Middleware(compress.Options{})(http.HandlerFunc(body)), "gzip", `W/"v1"`, `W/"v1"`},
			{"suffix, gzip", compress.Middleware(compress.Options{ETag: compress.ETagSuffix})(http.HandlerFunc(body)), "gzip", `"v1:gzip"`, `"v1:gzip"`},
			{"weaken, handler's 304", compress.Middleware(compress.Options{})(http.HandlerFunc(own304)), "gzip", `W/"v1"`, `W/"v1"`},
			{"suffix, handler's 304", compress.Middleware(compress.Options{ETag: compress.ETagSuffix})(http.HandlerFunc(own304)), "gzip", `"v1:gzip"`, `"v1:gzip"`},
		} {
			srv := httptest.NewServer(tc.h)
			resp := fetchETag(t, srv.URL, tc.ae, tc.inm)
			srv.Close()
			if assert.Equal(t, http.StatusNotModified, resp.StatusCode, "%s, handler ETag %q", tc.name, etag) {
				assert.Equal(t, tc.wantETag, resp.Header.Get("Etag"), "%s, handler ETag %q", tc.name, etag)
			}
		}
	}
}
