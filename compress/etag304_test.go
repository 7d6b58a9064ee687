package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// Test304NamesTheVariantTheHandlerMatched: a cache that holds several
// variants sends all their ETags in If-None-Match (RFC 9111 section 4.3.1).
// The 304 must name the one the handler matched: it used to name the
// encoded variant of whichever suffixed (or weak) tag was rewritten, a
// representation the client does not have, when the handler matched
// another tag of the list.
func Test304NamesTheVariantTheHandlerMatched(t *testing.T) {
	serveB := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"b"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(bigString))
	}
	for _, tc := range []struct {
		name string
		mode compress.ETagMode
		ae   string
		inm  string
		etag string // of the 304
	}{
		// Stale gzip variant "a" and current identity variant "b".
		{"suffix: identity matched", compress.ETagSuffix, "gzip", `"a:gzip", "b"`, `"b"`},
		// Stale gzip variant "a" and current streamed (deflate) variant "b".
		{"suffix: streamed variant matched", compress.ETagSuffix, "gzip, deflate", `"a:gzip", "b:deflate"`, `"b:deflate"`},
		{"suffix: encoded variant matched", compress.ETagSuffix, "gzip", `"a", "b:gzip"`, `"b:gzip"`},
		{"weaken: identity matched", compress.ETagWeaken, "gzip", `W/"a", "b"`, `"b"`},
		{"weaken: encoded variant matched", compress.ETagWeaken, "gzip", `"a", W/"b"`, `W/"b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compress.Must(compress.Options{ETag: tc.mode})
			srv := httptest.NewServer(c.Handler(http.HandlerFunc(serveB)))
			defer srv.Close()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", tc.ae)
			req.Header.Set("If-None-Match", tc.inm)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusNotModified, resp.StatusCode)
			assert.Equal(t, tc.etag, resp.Header.Get("ETag"), "the 304 names a representation the client has")
			assert.Equal(t, []string{"Accept-Encoding"}, resp.Header.Values("Vary"))
		})
	}
}

// Test304VariesOnlyWhereIts200Would: a 304 carries the Vary its 200 would
// have had (RFC 9110 section 15.4.5). A handler's 304 that keeps a
// Content-Type the middleware never compresses (image/png) must not say
// "Vary: Accept-Encoding", or a cache splits a single representation into
// one entry per Accept-Encoding. A 304 without Content-Type still varies:
// the middleware cannot tell what its 200 would have been. So does one
// with the handler's own coding, as its 200 does (TestOwnCodingVaries).
func Test304VariesOnlyWhereIts200Would(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        compress.Options
		contentType string // "" sets none
		header      http.Header
		inm         string // the request's If-None-Match, "" for none
		wantVary    bool
		wantETag    string
	}{
		{name: "never compressed type", contentType: "image/png", wantVary: false, wantETag: `"v"`},
		{name: "type with parameters and case", contentType: "Image/PNG; q=1", wantVary: false, wantETag: `"v"`},
		{name: "type outside MimeTypes", opts: compress.Options{MimeTypes: []string{"text/html"}}, contentType: "application/json", wantVary: false, wantETag: `"v"`},
		{name: "never compressed type, suffixed ETag revalidated", opts: compress.Options{ETag: compress.ETagSuffix},
			contentType: "image/png", inm: `"v:gzip"`, wantVary: false, wantETag: `"v"`},
		{name: "compressible type", contentType: "text/html; charset=utf-8", wantVary: true, wantETag: `"v"`},
		{name: "no Content-Type", wantVary: true, wantETag: `"v"`},
		{name: "no-transform", contentType: "text/html", header: http.Header{"Cache-Control": {"max-age=60, no-transform"}}, wantVary: false, wantETag: `"v"`},
		{name: "the handler's own coding", contentType: "text/html", header: http.Header{"Content-Encoding": {"br"}}, wantVary: true, wantETag: `"v"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(compress.Must(tc.opts).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				for k, vs := range tc.header {
					w.Header()[k] = vs
				}
				w.Header().Set("ETag", `"v"`)
				w.WriteHeader(http.StatusNotModified)
			})))
			defer srv.Close()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			if tc.inm != "" {
				req.Header.Set("If-None-Match", tc.inm)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusNotModified, resp.StatusCode)
			if tc.wantVary {
				assert.Equal(t, []string{"Accept-Encoding"}, resp.Header.Values("Vary"))
			} else {
				assert.Empty(t, resp.Header.Values("Vary"), "its 200 would not vary on Accept-Encoding")
			}
			assert.Equal(t, tc.wantETag, resp.Header.Get("ETag"))
		})
	}
}
