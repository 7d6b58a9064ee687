package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

var lastModified = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// validated is a handler that sets validators and ignores the request's:
// what Conditional and the Compressor make conditional.
func validated(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", lastModified.Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=60")
		w.WriteHeader(status)
		_, _ = w.Write(big)
	}
}

func conditionalGet(method string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, "/", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

// TestConditional: a handler that ignores validators gets 304 answered for
// it when the request's match its response's, and only then.
func TestConditional(t *testing.T) {
	ims := func(t time.Time) string { return t.Format(http.TimeFormat) }
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int // the handler's
		want   int
	}{
		{"If-None-Match", conditionalGet("GET", "If-None-Match", `"v1"`), 200, 304},
		{"weak comparison", conditionalGet("GET", "If-None-Match", `W/"v1"`), 200, 304},
		{"in a list", conditionalGet("GET", "If-None-Match", `"v0", "v1"`), 200, 304},
		{"over several lines", conditionalGet("GET", "If-None-Match", `"v0"`, "If-None-Match", `"v1"`), 200, 304},
		{"star", conditionalGet("GET", "If-None-Match", "*"), 200, 304},
		{"another tag", conditionalGet("GET", "If-None-Match", `"v0"`), 200, 200},
		{"HEAD", conditionalGet("HEAD", "If-None-Match", `"v1"`), 200, 304},
		{"POST", conditionalGet("POST", "If-None-Match", `"v1"`), 200, 200},
		{"not a 200", conditionalGet("GET", "If-None-Match", `"v1"`), 404, 404},
		{"a 206", conditionalGet("GET", "If-None-Match", `"v1"`), 206, 206},
		{"If-Modified-Since equal", conditionalGet("GET", "If-Modified-Since", ims(lastModified)), 200, 304},
		{"If-Modified-Since later", conditionalGet("GET", "If-Modified-Since", ims(lastModified.Add(time.Hour))), 200, 304},
		{"If-Modified-Since earlier", conditionalGet("GET", "If-Modified-Since", ims(lastModified.Add(-time.Second))), 200, 200},
		{"If-Modified-Since malformed", conditionalGet("GET", "If-Modified-Since", "yesterday"), 200, 200},
		{"If-None-Match wins", conditionalGet("GET", "If-None-Match", `"v0"`, "If-Modified-Since", ims(lastModified)), 200, 200},
		{"no validator", conditionalGet("GET"), 200, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			compress.Conditional(validated(tc.status)).ServeHTTP(rec, tc.req)
			require.Equal(t, tc.want, rec.Code)
			if tc.want != http.StatusNotModified {
				if tc.req.Method != http.MethodHead {
					assert.Equal(t, len(big), rec.Body.Len())
				}
				return
			}
			assert.Zero(t, rec.Body.Len(), "no body")
			assert.Equal(t, `"v1"`, rec.Header().Get("ETag"))
			assert.Equal(t, "max-age=60", rec.Header().Get("Cache-Control"), "kept, as RFC 9110 asks")
			assert.Empty(t, rec.Header().Get("Content-Type"))
			assert.Empty(t, rec.Header().Get("Content-Length"))
			assert.Empty(t, rec.Header().Get("Last-Modified"), "there is an ETag")
		})
	}
}

// TestConditionalRealServer: through a real server, with a body sent by
// ReadFrom (sendfile), the 304 has no body, and other responses are whole.
func TestConditionalRealServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.json")
	require.NoError(t, os.WriteFile(path, big, 0o600))
	srv := httptest.NewServer(compress.Conditional(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		w.Header().Set("ETag", `"file"`)
		_, _ = io.Copy(w, f)
	})))
	defer srv.Close()
	for _, tc := range []struct {
		inm  string
		want int
		body int
	}{{`"file"`, 304, 0}, {`"other"`, 200, len(big)}, {"", 200, len(big)}} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		if tc.inm != "" {
			req.Header.Set("If-None-Match", tc.inm)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, tc.want, resp.StatusCode, tc.inm)
		assert.Len(t, body, tc.body, tc.inm)
	}
}

// TestCompressAnswersConditional: the Compressor answers 304 for a handler
// that ignores validators, comparing the ETag the client was sent
// (weakened or suffixed), with the Vary the 200 had; IgnoreConditional
// leaves it to the handler; Skip leaves the request untouched.
func TestCompressAnswersConditional(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts compress.Options
		etag string
	}{
		{"weaken", compress.Options{}, `W/"v1"`},
		{"suffix", compress.Options{ETag: compress.ETagSuffix}, `"v1:gzip"`},
		{"keep", compress.Options{ETag: compress.ETagKeep}, `"v1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compress.Must(tc.opts)
			first := serve(t, c, validated(200), get("gzip"))
			require.Equal(t, http.StatusOK, first.Code)
			require.Equal(t, "gzip", first.Header().Get("Content-Encoding"))
			require.Equal(t, tc.etag, first.Header().Get("ETag"))

			req := get("gzip")
			req.Header.Set("If-None-Match", tc.etag)
			second := serve(t, c, validated(200), req)
			assert.Equal(t, http.StatusNotModified, second.Code)
			assert.Zero(t, second.Body.Len())
			assert.Equal(t, tc.etag, second.Header().Get("ETag"))
			assert.Contains(t, second.Header().Values("Vary"), "Accept-Encoding")
			assert.Empty(t, second.Header().Get("Content-Encoding"))

			req = get("gzip")
			req.Header.Set("If-Modified-Since", lastModified.Format(http.TimeFormat))
			assert.Equal(t, http.StatusNotModified, serve(t, c, validated(200), req).Code, "If-Modified-Since")
		})
	}
	t.Run("IgnoreConditional", func(t *testing.T) {
		c := compress.Must(compress.Options{IgnoreConditional: true})
		req := get("gzip")
		req.Header.Set("If-None-Match", `W/"v1"`)
		rec := serve(t, c, validated(200), req)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	})
	t.Run("Skip", func(t *testing.T) {
		calls := 0
		c := compress.Must(compress.Options{Skip: func(*http.Request) bool { calls++; return true }})
		req := get("gzip")
		req.Header.Set("If-None-Match", `"v1"`)
		rec := serve(t, c, validated(200), req)
		assert.Equal(t, http.StatusOK, rec.Code, "a skipped request is untouched")
		assert.Equal(t, 1, calls, "Skip is called once per request")
	})
	t.Run("uncompressed", func(t *testing.T) {
		req := get() // no Accept-Encoding: the strong ETag goes out as it is
		req.Header.Set("If-None-Match", `"v1"`)
		assert.Equal(t, http.StatusNotModified, serve(t, compress.Must(compress.Options{}), validated(200), req).Code)
	})
}

// TestBrotliWindow: the window is an option, validated, and a body
// compressed with a small window decodes.
func TestBrotliWindow(t *testing.T) {
	for _, bad := range []int{-1, 9, 25} {
		_, err := compress.New(compress.Options{BrotliWindow: bad})
		require.ErrorIs(t, err, compress.ErrInvalidOption, "%d", bad)
		assert.Contains(t, err.Error(), "BrotliWindow")
	}
	long := []byte(strings.Repeat(string(big), 40))
	for _, window := range []int{10, 16, 24} {
		c := compress.Must(compress.Options{BrotliWindow: window})
		rec := serve(t, c, writeJSON(long), get("br"))
		require.Equal(t, "br", rec.Header().Get("Content-Encoding"))
		assert.Equal(t, long, decode(t, "br", rec.Body.Bytes()), "window %d", window)
	}
	small := serve(t, compress.Must(compress.Options{BrotliWindow: 10}), writeJSON(long), get("br")).Body.Len()
	large := serve(t, compress.Must(compress.Options{BrotliWindow: 24}), writeJSON(long), get("br")).Body.Len()
	assert.Greater(t, small, large, "a 1 KiB window misses the repeats a 16 MiB one finds")
}
