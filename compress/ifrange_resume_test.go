package compress_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestIfRangeResumeOfEncodedGetsWholeBody: a client resuming a download
// with Range and If-Range gets either a range of the bytes it holds the
// start of or the whole body, never a range of the unencoded body after
// encoded bytes. The handler is http.ServeContent, which validates If-Range
// against its own ETag or Last-Modified: a date names the encoded and the
// unencoded variants alike, and used to get a 206 of the unencoded bytes.
func TestIfRangeResumeOfEncodedGetsWholeBody(t *testing.T) {
	t.Parallel()
	content := strings.Repeat("some text to resume ", 500)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	date := mod.Format(http.TimeFormat)
	handler := func(etag string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			if etag != "" {
				w.Header().Set("ETag", etag)
			}
			http.ServeContent(w, r, "", mod, strings.NewReader(content))
		})
	}
	for _, tc := range []struct {
		name    string
		mode    compress.ETagMode
		etag    string // the handler's
		ae      string // the resuming request's Accept-Encoding
		ifRange string
		whole   bool // the whole body, encoded when ae accepts gzip
	}{
		{"date, gzip accepted", compress.ETagWeaken, "", "gzip", date, true},
		{"date, gzip accepted, suffixed tags", compress.ETagSuffix, "", "gzip", date, true},
		{"date, only a streaming codec accepted", compress.ETagWeaken, "", "br", date, true},
		{"weak tag of the encoded variant", compress.ETagWeaken, `"v1"`, "gzip", `W/"v1"`, true},
		{"suffixed tag of the encoded variant", compress.ETagSuffix, `"v1"`, "gzip", `"v1:gzip"`, true},
		{"date under ETagKeep", compress.ETagKeep, "", "gzip", date, true},
		// Under ETagKeep the handler's tag for the encoded variant
		// matches its own unencoded bytes: any tag gets the whole body.
		{"handler's strong tag under ETagKeep", compress.ETagKeep, `"v1"`, "gzip", `"v1"`, true},
		// The strong tag of the unencoded variant: the client holds
		// unencoded bytes, and the range continues them.
		{"handler's strong tag", compress.ETagWeaken, `"v1"`, "gzip", `"v1"`, false},
		// No encoding acceptable: every response is unencoded.
		{"date, nothing accepted", compress.ETagWeaken, "", "", date, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := compress.Must(compress.Options{ETag: tc.mode}).Handler(handler(tc.etag))
			r := httptest.NewRequest(http.MethodGet, "/file.txt", nil)
			if tc.ae != "" {
				r.Header.Set("Accept-Encoding", tc.ae)
			}
			r.Header.Set("Range", "bytes=100-")
			r.Header.Set("If-Range", tc.ifRange)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if !tc.whole {
				require.Equal(t, http.StatusPartialContent, w.Code)
				assert.Empty(t, w.Header().Get("Content-Encoding"))
				assert.Equal(t, content[100:], w.Body.String())
				return
			}
			require.Equal(t, http.StatusOK, w.Code, "a range of the unencoded body, Content-Range %q", w.Header().Get("Content-Range"))
			assert.Empty(t, w.Header().Get("Content-Range"))
			assert.Equal(t, tc.ae, w.Header().Get("Content-Encoding"))
			assert.Equal(t, content, string(decode(t, tc.ae, w.Body.Bytes())))
		})
	}
	t.Run("the caller's request is untouched", func(t *testing.T) {
		t.Parallel()
		h := compress.Must(compress.Options{}).Handler(handler(""))
		r := httptest.NewRequest(http.MethodGet, "/file.txt", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		r.Header.Set("Range", "bytes=100-")
		r.Header.Set("If-Range", date)
		h.ServeHTTP(httptest.NewRecorder(), r)
		assert.Equal(t, "bytes=100-", r.Header.Get("Range"))
		assert.Equal(t, date, r.Header.Get("If-Range"))
	})
}
