package compress_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestHandler304ToIfModifiedSinceNamesTheEncodedVariant: a client holding
// the gzip variant ("v1:gzip" under ETagSuffix, W/"v1" under ETagWeaken)
// revalidates with If-Modified-Since only. The handler's own 304
// (http.ServeContent, or a response cache's hit below compress) carried
// "v1", the identity's strong tag, for the encoded bytes the client holds:
// a cache holding "v1:gzip" may not use it (RFC 9111 section 4.3.4), and
// one that merges it anyway labels gzip bytes with the identity's strong
// validator. It now names the variant negotiated for the request, as the
// 304 compress's Conditional makes of the same request does.
func TestHandler304ToIfModifiedSinceNamesTheEncodedVariant(t *testing.T) {
	body := []byte(strings.Repeat("<p>hello</p>\n", 200))
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	serveContent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
	})
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
		_, _ = w.Write(body)
	})
	getPath := func(h http.Handler, path, ae, inm string, ims bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		if ims {
			r.Header.Set("If-Modified-Since", mod.Format(http.TimeFormat))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	get := func(h http.Handler, ae, inm string, ims bool) *httptest.ResponseRecorder {
		return getPath(h, "/", ae, inm, ims)
	}
	for _, mode := range []struct {
		name string
		m    compress.ETagMode
		held string // the gzip variant's ETag
	}{
		{"suffix", compress.ETagSuffix, `"v1:gzip"`},
		{"weaken", compress.ETagWeaken, `W/"v1"`},
	} {
		t.Run(mode.name, func(t *testing.T) {
			cz := compress.Must(compress.Options{ETag: mode.m})
			full := get(cz.Handler(serveContent), "gzip", "", false)
			require.Equal(t, "gzip", full.Header().Get("Content-Encoding"))
			require.Equal(t, mode.held, full.Header().Get("Etag"))

			byConditional := get(cz.Handler(plain), "gzip", "", true)
			require.Equal(t, http.StatusNotModified, byConditional.Code)
			assert.Equal(t, mode.held, byConditional.Header().Get("Etag"), "compress's own 304")

			byHandler := get(cz.Handler(serveContent), "gzip", "", true)
			require.Equal(t, http.StatusNotModified, byHandler.Code)
			assert.Equal(t, mode.held, byHandler.Header().Get("Etag"), "the handler's 304 names the variant the client holds")
			assert.Equal(t, []string{"Accept-Encoding"}, byHandler.Header().Values("Vary"))

			// Unchanged: a client that accepts no encoding holds the
			// identity representation; one whose If-None-Match names the
			// identity's tag holds that.
			identity := get(cz.Handler(serveContent), "", "", true)
			require.Equal(t, http.StatusNotModified, identity.Code)
			assert.Equal(t, `"v1"`, identity.Header().Get("Etag"), "no encoding accepted")
			named := get(cz.Handler(serveContent), "gzip", `"v1"`, true)
			require.Equal(t, http.StatusNotModified, named.Code)
			assert.Equal(t, `"v1"`, named.Header().Get("Etag"), "If-None-Match named the identity's tag")
			// A file whose type is never encoded: ServeContent's 304
			// has no Content-Type, but the path tells its 200 was the
			// identity.
			png := getPath(cz.Handler(serveContent), "/logo.png", "gzip", "", true)
			require.Equal(t, http.StatusNotModified, png.Code)
			assert.Equal(t, `"v1"`, png.Header().Get("Etag"), "a .png is never encoded")
		})
	}
	t.Run("streaming encoding only", func(t *testing.T) {
		// The client accepts only an encoding used for streamed
		// responses: the 304 names that variant, never the identity's
		// strong tag (at worst the client's cache runs a full request).
		cz := compress.Must(compress.Options{ETag: compress.ETagSuffix, Algorithms: []string{"gzip"}, StreamingAlgorithms: []string{"zstd"}})
		w := get(cz.Handler(serveContent), "zstd", "", true)
		require.Equal(t, http.StatusNotModified, w.Code)
		assert.Equal(t, `"v1:zstd"`, w.Header().Get("Etag"))
	})
}

// TestHandler304NamingAnEncodedVariantDropsTheIdentitysFields: a handler
// that sets digests of its bytes (Repr-Digest, Content-Digest, Content-MD5)
// and Accept-Ranges, and answers revalidations itself (http.ServeContent,
// or a response cache below compress), had them passed on with its 304
// once compress labelled that 304 with an encoded variant's ETag (W/"x",
// "x:gzip"). The encoded 200 goes out without them (they describe the
// identity's bytes), but a cache that revalidates it merges the 304's
// fields into what it stored (RFC 9111 section 4.3.4): its gzip bytes were
// then served with the identity's digests, which a client that checks them
// rejects, and with Accept-Ranges. The 304 now drops them, as the 200 does;
// a 304 naming the identity's own tag keeps them.
func TestHandler304NamingAnEncodedVariantDropsTheIdentitysFields(t *testing.T) {
	body := []byte(strings.Repeat("<p>hello</p>\n", 200))
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"x"`)
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("Repr-Digest", "sha-256=:aWRlbnRpdHk=:")
		w.Header().Set("Content-Digest", "sha-256=:aWRlbnRpdHk=:")
		w.Header().Set("Content-MD5", "aWRlbnRpdHk=")
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
	})
	fields := []string{"Accept-Ranges", "Repr-Digest", "Content-Digest", "Content-Md5"}
	for _, tc := range []struct {
		name string
		mode compress.ETagMode
		tag  string // the encoded variant's
	}{
		{"weaken", compress.ETagWeaken, `W/"x"`},
		{"suffix", compress.ETagSuffix, `"x:gzip"`},
	} {
		for _, ignore := range []bool{false, true} {
			c := compress.Must(compress.Options{ETag: tc.mode, IgnoreConditional: ignore})
			get := func(inm string, ims bool) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/page", nil)
				r.Header.Set("Accept-Encoding", "gzip")
				if inm != "" {
					r.Header.Set("If-None-Match", inm)
				}
				if ims {
					r.Header.Set("If-Modified-Since", mod.Format(http.TimeFormat))
				}
				w := httptest.NewRecorder()
				c.Handler(h).ServeHTTP(w, r)
				return w
			}
			full := get("", false)
			assert.Equal(t, "gzip", full.Header().Get("Content-Encoding"), tc.name)
			assert.Equal(t, tc.tag, full.Header().Get("Etag"), tc.name)
			for _, k := range fields {
				assert.Empty(t, full.Header()[k], "%s: the encoded 200 has no %s", tc.name, k)
			}
			for _, rv := range []struct {
				how string
				inm string
				ims bool
			}{{"If-None-Match", tc.tag, false}, {"If-Modified-Since", "", true}} {
				w := get(rv.inm, rv.ims)
				assert.Equal(t, http.StatusNotModified, w.Code, "%s %s ignore=%v", tc.name, rv.how, ignore)
				assert.Equal(t, tc.tag, w.Header().Get("Etag"), "%s %s ignore=%v", tc.name, rv.how, ignore)
				for _, k := range fields {
					assert.Empty(t, w.Header()[k], "%s %s ignore=%v: the 304 of the encoded variant has no %s", tc.name, rv.how, ignore, k)
				}
			}
			// The identity's own tag: its 304 describes the identity's bytes.
			w := get(`"x"`, false)
			assert.Equal(t, http.StatusNotModified, w.Code, tc.name)
			assert.Equal(t, `"x"`, w.Header().Get("Etag"), tc.name)
			assert.Equal(t, "sha-256=:aWRlbnRpdHk=:", w.Header().Get("Repr-Digest"), "%s: the identity's 304 keeps its digest", tc.name)
		}
	}
}
