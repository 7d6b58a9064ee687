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

// TestHandler304WhoseTagNamesNoOneVariantDropsTheIdentityFields: a handler
// that sets Repr-Digest and Accept-Ranges answers a revalidation with its
// own 304 (http.ServeContent) under a tag that does not tell the variants
// apart: its own weak tag (every variant's, in any mode), its strong tag
// under ETagKeep (the encoded variant's too), or any tag to If-None-Match:
// * (the client may hold any variant). The 304 carried the identity's
// digest, and a client holding the gzip variant merges it into what it
// stored (RFC 9111 section 4.3.4): the gzip bytes then failed their
// digest. Only a 304 to a client that named the identity's own strong tag
// keeps them; a 304 with fewer fields costs a client nothing, as it keeps
// its stored ones. An If-None-Match list that names an encoded variant's
// tag beside the identity's relabels the 304 with it and drops them; one
// that names the identity's strong tag beside a tag of no variant
// negotiated keeps them (the 304's tag selects the identity only); an
// If-Modified-Since alone keeps them only when no encoding is accepted.
func TestHandler304WhoseTagNamesNoOneVariantDropsTheIdentityFields(t *testing.T) {
	body := []byte(strings.Repeat("<p>hello</p>\n", 200))
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, etag, inm string
		mode            compress.ETagMode
		keeps           bool
		ims, ae         string // ae "" is gzip, "-" none
	}{
		{"weak tag, weaken", `W/"v1"`, `W/"v1"`, compress.ETagWeaken, false, "", ""},
		{"weak tag, suffix", `W/"v1"`, `W/"v1"`, compress.ETagSuffix, false, "", ""},
		{"keep", `"v1"`, `"v1"`, compress.ETagKeep, false, "", ""},
		{"star, weaken", `"v1"`, `*`, compress.ETagWeaken, false, "", ""},
		{"star, suffix", `"v1"`, `*`, compress.ETagSuffix, false, "", ""},
		{"identity named, weaken", `"v1"`, `"v1"`, compress.ETagWeaken, true, "", ""},
		{"identity named, suffix", `"v1"`, `"v1"`, compress.ETagSuffix, true, "", ""},
		{"identity and weak, weaken", `"v1"`, `"v1", W/"v1"`, compress.ETagWeaken, false, "", ""},
		{"weak and identity lines, weaken", `"v1"`, `W/"v1"` + "\n" + `"v1"`, compress.ETagWeaken, false, "", ""},
		{"old weak and identity, weaken", `"v1"`, `W/"v0", "v1"`, compress.ETagWeaken, true, "", ""},
		{"gzip and identity, suffix", `"v1"`, `"v1:gzip", "v1"`, compress.ETagSuffix, false, "", ""},
		{"br not negotiated and identity, suffix", `"v1"`, `"v1:br", "v1"`, compress.ETagSuffix, true, "", ""},
		{"identity named, none accepted", `"v1"`, `"v1"`, compress.ETagWeaken, true, "", "-"},
		{"if-modified-since, gzip", `"v1"`, "", compress.ETagWeaken, false, mod.Format(http.TimeFormat), ""},
		{"if-modified-since, none accepted", `"v1"`, "", compress.ETagWeaken, true, mod.Format(http.TimeFormat), "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("ETag", tc.etag)
				w.Header().Set("Accept-Ranges", "bytes")
				w.Header().Set("Repr-Digest", "sha-256=:aWRlbnRpdHk=:")
				w.Header().Set("Digest", "SHA-256=aWRlbnRpdHk=")
				http.ServeContent(w, r, "", mod, bytes.NewReader(body))
			})
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				r := httptest.NewRequest(method, "/", nil)
				if tc.ae != "-" {
					r.Header.Set("Accept-Encoding", "gzip")
				}
				if tc.inm != "" {
					r.Header["If-None-Match"] = strings.Split(tc.inm, "\n")
				}
				if tc.ims != "" {
					r.Header.Set("If-Modified-Since", tc.ims)
				}
				w := httptest.NewRecorder()
				compress.Must(compress.Options{ETag: tc.mode}).Handler(h).ServeHTTP(w, r)
				require.Equal(t, http.StatusNotModified, w.Code, method)
				for _, k := range []string{"Repr-Digest", "Digest", "Accept-Ranges"} {
					assert.Equal(t, tc.keeps, len(w.Header()[k]) > 0, "%s: the 304 (ETag %s) has %s", method, w.Header().Get("Etag"), k)
				}
			}
		})
	}
}
