package compress_test

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// failingReader yields n bytes of body, then fails (the file or upstream
// the handler copies from broke).
type failingReader struct {
	body string
	n    int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("source failed")
	}
	k := copy(p, f.body[:min(f.n, len(p))])
	f.body, f.n = f.body[k:], f.n-k
	return k, nil
}

// fetch GETs url with Accept-Encoding: gzip and reads the body, decoding
// gzip; err is the first error the client sees (request or read).
func fetch(t *testing.T, url string) (body []byte, enc string, err error) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	enc = resp.Header.Get("Content-Encoding")
	if enc == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, enc, err
		}
		rd = zr
	}
	body, err = io.ReadAll(rd)
	return body, enc, err
}

// TestShortBodyBecomesCompleteResponse: a handler that declares
// Content-Length and then writes less (a failed io.Copy from a file or an
// upstream) makes net/http cut the connection, so the client sees the
// truncation. Through compress the short body went out as a complete,
// well-formed compressed 200: a silent truncation that caches store. Now
// the client sees an error, whether the body was held back or had already
// been streamed, written or copied.
func TestShortBodyBecomesCompleteResponse(t *testing.T) {
	body := strings.Repeat("hello world ", 200) // 2400 bytes
	for _, tc := range []struct {
		name   string
		opts   compress.Options
		handle func(w http.ResponseWriter)
	}{
		{"Write", compress.Options{}, func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, body[:1000])
		}},
		{"io.Copy", compress.Options{}, func(w http.ResponseWriter) {
			_, _ = io.Copy(w, &failingReader{body: body, n: 1000})
		}},
		{"io.Copy, type sniffed", compress.Options{}, func(w http.ResponseWriter) {
			w.Header().Del("Content-Type")
			_, _ = io.Copy(w, &failingReader{body: body, n: 1000})
		}},
		{"streamed past MaxBuffer", compress.Options{MaxBuffer: 64}, func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, body[:2000])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"plain", "compressed"} {
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/plain")
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					tc.handle(w)
				})
				if name == "compressed" {
					h = compress.Must(tc.opts).Handler(h)
				}
				srv := httptest.NewServer(h)
				got, enc, err := fetch(t, srv.URL)
				srv.Close()
				if err == nil {
					t.Errorf("%s: client read %d of %d bytes (Content-Encoding %q) with no error: truncation is silent", name, len(got), len(body), enc)
				}
			}
		})
	}
}

// TestWritePastContentLength: a write beyond the declared Content-Length
// fails with http.ErrContentLength, writing nothing, as net/http's does;
// the whole body, declared right, is compressed as before.
func TestWritePastContentLength(t *testing.T) {
	body := strings.Repeat("hello world ", 200)
	for _, name := range []string{"plain", "compressed"} {
		var errs []error
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "1000")
			_, err := io.WriteString(w, body[:1000])
			errs = append(errs, err)
			n, err := io.WriteString(w, "x")
			errs = append(errs, err)
			assert.Zero(t, n, name)
		})
		if name == "compressed" {
			h = compress.Must(compress.Options{}).Handler(h)
		}
		srv := httptest.NewServer(h)
		got, enc, err := fetch(t, srv.URL)
		srv.Close()
		require.NoError(t, err, name)
		assert.Equal(t, body[:1000], string(got), name)
		if name == "compressed" {
			assert.Equal(t, "gzip", enc)
		}
		require.Len(t, errs, 2, name)
		assert.NoError(t, errs[0], name)
		assert.ErrorIs(t, errs[1], http.ErrContentLength, name)
	}
}

// TestHeadWithContentLengthNotAborted: a HEAD declares its GET's length and
// writes no body; that is not a short body.
func TestHeadWithContentLengthNotAborted(t *testing.T) {
	srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "2400")
	})))
	defer srv.Close()
	req, _ := http.NewRequest("HEAD", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
