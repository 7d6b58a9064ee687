package caching

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRevalidationKeepsTheStoredCodingsDigests: a handler below the view
// (no package compress) stores a gzip response with the digests of its
// gzip bytes, and answers each revalidation with a 304 that carries the
// digests of the unencoded bytes (Repr-Digest, Content-Digest,
// Content-MD5, RFC 3230's Digest) and no Content-Encoding, as a middleware
// that answers 304s from the identity does (nginx's 304 skips its gzip
// filter; a response cache below compress). The view merged them into
// the stored gzip entry (RFC 9111 section 4.3.4), and served gzip bytes
// with digests a client that checks them rejects. A 304's digests now
// replace the stored ones only when its Content-Encoding names the stored
// codings: the entry keeps those of its 200. A 304 that says it describes
// the gzip bytes (Content-Encoding: gzip) still updates them, and so does
// one without Content-Encoding of an unencoded entry.
func TestRevalidationKeepsTheStoredCodingsDigests(t *testing.T) {
	plain := []byte(strings.Repeat("<p>hello</p>\n", 200))
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(plain)
	require.NoError(t, zw.Close())
	encoded := zb.Bytes()
	gzipFields := map[string]string{
		"Repr-Digest":    "sha-256=:Z3ppcA==:",
		"Content-Digest": "sha-256=:Z3ppcA==:",
		"Content-Md5":    "Z3ppcA==",
		"Digest":         "SHA-256=Z3ppcA==",
	}
	identityFields := map[string]string{
		"Repr-Digest":    "sha-256=:aWRlbnRpdHk=:",
		"Content-Digest": "sha-256=:aWRlbnRpdHk=:",
		"Content-Md5":    "aWRlbnRpdHk=",
		"Digest":         "SHA-256=aWRlbnRpdHk=",
	}
	newGzipFields := map[string]string{
		"Repr-Digest":    "sha-256=:bmV3Z3ppcA==:",
		"Content-Digest": "sha-256=:bmV3Z3ppcA==:",
		"Content-Md5":    "bmV3Z3ppcA==",
		"Digest":         "SHA-256=bmV3Z3ppcA==",
	}
	set := func(h http.Header, fields map[string]string) {
		for k, v := range fields {
			h.Set(k, v)
		}
	}
	for _, tc := range []struct {
		name      string
		stored    string            // the 200's Content-Encoding
		fields    map[string]string // the 200's digests
		tag304    string
		coding304 string            // the 304's Content-Encoding
		sent304   map[string]string // the 304's digests
		want      map[string]string // served from the freshened entry
	}{
		{"gzip, a strong 304 from the identity", "gzip", gzipFields, `"v1"`, "", identityFields, gzipFields},
		{"gzip, a weak 304 from the identity", "gzip", gzipFields, `W/"v1"`, "", identityFields, gzipFields},
		{"gzip, a 304 naming identity", "gzip", gzipFields, `W/"v1"`, "identity", identityFields, gzipFields},
		{"gzip, a 304 naming gzip", "gzip", gzipFields, `W/"v1"`, "gzip", newGzipFields, newGzipFields},
		{"identity, a 304 naming gzip", "", identityFields, `W/"v1"`, "gzip", gzipFields, identityFields},
		{"identity, a 304 naming none", "", identityFields, `W/"v1"`, "", newGzipFields, newGzipFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h.Set("Cache-Control", "public, no-cache") // revalidated on every use
				h.Set("Vary", "Accept-Encoding")
				if r.Header.Get("If-None-Match") != "" {
					h.Set("ETag", tc.tag304)
					if tc.coding304 != "" {
						h.Set("Content-Encoding", tc.coding304)
					}
					set(h, tc.sent304)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				h.Set("Content-Type", "text/html")
				h.Set("ETag", `W/"v1"`)
				set(h, tc.fields)
				if tc.stored != "" {
					h.Set("Content-Encoding", tc.stored)
					_, _ = w.Write(encoded)
					return
				}
				_, _ = w.Write(plain)
			})
			c := Must(nil)
			defer c.Close()
			h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"), SharedCache())(page)
			for i := range 3 {
				r := httptest.NewRequest(http.MethodGet, "/p", nil)
				r.Header.Set("Accept-Encoding", "gzip")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				require.Equal(t, http.StatusOK, w.Code)
				require.Equal(t, tc.stored, w.Header().Get("Content-Encoding"))
				want := tc.fields
				if i > 0 {
					require.Equal(t, "HIT", w.Header().Get("X-Cache"), "request %d: served from the revalidated entry", i)
					want = tc.want
				}
				for k, v := range want {
					assert.Equal(t, v, w.Header().Get(k), "request %d: %s", i, k)
				}
			}
		})
	}
}
