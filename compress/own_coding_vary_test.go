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

// TestOwnCodingVaries: a handler that sets Content-Encoding itself (a
// pre-compressed blob, a proxied upstream) chose that coding by the
// request's Accept-Encoding, yet its response went out without "Vary:
// Accept-Encoding", where the same response unencoded got it: a shared
// cache in front stored the coded bytes under the URL alone and served
// them to every client, those that do not accept the coding included. It
// now gets the Vary its uncoded form would have had: merged once, never
// duplicated, and none where the middleware would not have varied either
// (a type it never encodes, no-transform, Disable, a status it leaves
// alone).
func TestOwnCodingVaries(t *testing.T) {
	gz := encodeAll(t, compress.Gzip, big)
	for _, tc := range []struct {
		name     string
		method   string
		header   http.Header
		status   int
		wantVary []string
	}{
		{name: "json", header: http.Header{"Content-Type": {"application/json"}}, wantVary: []string{"Accept-Encoding"}},
		{name: "no Content-Type", wantVary: []string{"Accept-Encoding"}},
		{name: "HEAD", method: http.MethodHead, header: http.Header{"Content-Type": {"application/json"}}, wantVary: []string{"Accept-Encoding"}},
		{name: "201", status: http.StatusCreated, header: http.Header{"Content-Type": {"text/html"}}, wantVary: []string{"Accept-Encoding"}},
		{name: "304", status: http.StatusNotModified, header: http.Header{"Content-Type": {"text/html"}}, wantVary: []string{"Accept-Encoding"}},
		{name: "other Vary kept", header: http.Header{"Content-Type": {"application/json"}, "Vary": {"Origin"}}, wantVary: []string{"Origin", "Accept-Encoding"}},
		{name: "already named", header: http.Header{"Content-Type": {"application/json"}, "Vary": {"origin, accept-encoding"}}, wantVary: []string{"origin, accept-encoding"}},
		{name: "star", header: http.Header{"Content-Type": {"application/json"}, "Vary": {"*"}}, wantVary: []string{"*"}},
		{name: "type never encoded", header: http.Header{"Content-Type": {"application/zip"}}},
		{name: "no-transform", header: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-transform"}}},
		{name: "Disable", header: http.Header{"Content-Type": {"application/json"}, "content-encoding": {"identity"}}},
		{name: "404", status: http.StatusNotFound, header: http.Header{"Content-Type": {"application/json"}}},
		{name: "206", status: http.StatusPartialContent, header: http.Header{"Content-Type": {"application/json"}, "Content-Range": {"bytes 0-9/100"}}, wantVary: []string{"Accept-Encoding"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compress.Must(compress.Options{})
			srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range tc.header {
					w.Header()[k] = vs
				}
				w.Header().Add("Content-Encoding", "gzip")
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				_, _ = w.Write(gz)
			})))
			defer srv.Close()
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			for _, ae := range []string{"gzip", ""} {
				h := http.Header{}
				if ae != "" {
					h.Set("Accept-Encoding", ae)
				}
				res, body := roundTrip(t, method, srv.URL+"/", h)
				assert.Equal(t, []string{"gzip"}, res.Header["Content-Encoding"], "Accept-Encoding %q", ae)
				assert.Equal(t, tc.wantVary, res.Header["Vary"], "Accept-Encoding %q", ae)
				if method == http.MethodGet && res.StatusCode != http.StatusNotModified && res.StatusCode != http.StatusPartialContent &&
					res.StatusCode != http.StatusNotFound {
					assert.Equal(t, gz, body, "the handler's bytes, untouched")
				}
			}
		})
	}
}

// TestOwnCodingVariesThroughConditional: the 304 that Options'
// conditional evaluation makes of a handler-coded 200 carries the Vary
// that 200 has (RFC 9110 section 15.4.5).
func TestOwnCodingVariesThroughConditional(t *testing.T) {
	gz := encodeAll(t, compress.Gzip, big)
	srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("ETag", `"g"`)
		_, _ = w.Write(gz)
	})))
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("If-None-Match", `"g"`)
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusNotModified, res.StatusCode)
	assert.Equal(t, []string{"Accept-Encoding"}, res.Header["Vary"])
	assert.Equal(t, `"g"`, res.Header.Get("ETag"), "the handler's own tag: it names its coded bytes")
}
