package compress_test

import (
	"bufio"
	stdgzip "compress/gzip"
	stdzlib "compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// roundTrip sends a request with header h to url, with the transport's
// own decompression off, so that the response is seen as sent.
func roundTrip(t *testing.T, method, url string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header = h
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// TestReviewNegotiationNeverRefused: however a client spells its
// Accept-Encoding (case, q=0, "*;q=0", identity;q=0, repeated lines), a
// real server sends it only a coding it accepts, and says it varies.
func TestReviewNegotiationNeverRefused(t *testing.T) {
	c := compress.Must(compress.Options{})
	srv := httptest.NewServer(c.Handler(writeJSON(big)))
	defer srv.Close()
	for _, tc := range []struct {
		lines []string
		want  string // "" identity; "*" any coding
	}{
		{[]string{"GZIP"}, "gzip"},
		{[]string{"gzip;q=0"}, ""},
		{[]string{"gzip;Q=0"}, ""},
		{[]string{"gzip ; q=0"}, ""},
		{[]string{"gzip;q=0.000"}, ""},
		{[]string{"*;q=0"}, ""},
		{[]string{"gzip;q=0, *"}, "*"},
		{[]string{"identity;q=0"}, ""},
		{[]string{"gzip;q=0", "gzip"}, ""},
		{[]string{"gzip;q=0, gzip"}, ""},
		{[]string{"br;q=0, zstd;q=0, deflate;q=0, gzip"}, "gzip"},
		{[]string{"*, gzip;q=0, br;q=0, zstd;q=0"}, "deflate"},
		{[]string{"x-gzip"}, "gzip"},
		{[]string{""}, ""},
		{[]string{"identity"}, ""},
		{[]string{"gzip;q=0.5, identity"}, ""},
	} {
		t.Run(strings.Join(tc.lines, "|"), func(t *testing.T) {
			h := http.Header{"Accept-Encoding": tc.lines}
			res, body := roundTrip(t, "GET", srv.URL+"/", h)
			ce := res.Header.Get("Content-Encoding")
			switch tc.want {
			case "*":
				assert.NotEmpty(t, ce)
				assert.NotEqual(t, "gzip", ce)
			default:
				assert.Equal(t, tc.want, ce)
			}
			assert.Equal(t, big, decode(t, ce, body))
			assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding")
		})
	}
}

// TestReviewVaryOnHEADAnd304: the HEAD, the GET and the 304 of a page
// vary on Accept-Encoding for every client, the 304 keeps the ETag its
// client holds, and (ETagSuffix) one variant's tag does not revalidate
// another.
func TestReviewVaryOnHEADAnd304(t *testing.T) {
	for _, mode := range []compress.ETagMode{compress.ETagWeaken, compress.ETagSuffix} {
		probeVary(t, compress.Must(compress.Options{ETag: mode}))
	}
}

func probeVary(t *testing.T, c *compress.Compressor) {
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", mod, strings.NewReader(bigString))
	})
	srv := httptest.NewServer(c.Handler(h))
	defer srv.Close()
	for _, ae := range [][]string{nil, {"gzip"}, {"gzip;q=0"}} {
		res, _ := roundTrip(t, "HEAD", srv.URL+"/", http.Header{"Accept-Encoding": ae})
		assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding", "HEAD %q", ae)
		res, body := roundTrip(t, "GET", srv.URL+"/", http.Header{"Accept-Encoding": ae})
		assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding", "GET %q", ae)
		assert.Equal(t, big, decode(t, res.Header.Get("Content-Encoding"), body))
		et := res.Header.Get("ETag")
		res, _ = roundTrip(t, "GET", srv.URL+"/", http.Header{"Accept-Encoding": ae, "If-None-Match": {et}})
		assert.Equal(t, 304, res.StatusCode, "%q %s", ae, et)
		assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding", "304 %q", ae)
		assert.Equal(t, et, res.Header.Get("ETag"))
		if strings.HasPrefix(et, "W/") {
			continue
		}
		// Suffix: the gzip variant's tag does not revalidate for br.
		res, _ = roundTrip(t, "GET", srv.URL+"/", http.Header{"Accept-Encoding": {"br"}, "If-None-Match": {et}})
		if et != `"v1"` {
			assert.Equal(t, 200, res.StatusCode, "%q %s against br", ae, et)
		}
	}
}

// TestReviewFileServerPrecompressed: a pre-compressed sibling, or a .gz
// file served as itself, is never encoded twice, alone or behind Handler.
func TestReviewFileServerPrecompressed(t *testing.T) {
	js := strings.Repeat("console.log('hello world');\n", 100)
	var gz strings.Builder
	zw := newGzip(&gz)
	_, _ = io.WriteString(zw, js)
	_ = zw.Close()
	now := time.Now()
	fsys := fstest.MapFS{
		"a.js":     {Data: []byte(js), ModTime: now},
		"a.js.gz":  {Data: []byte(gz.String()), ModTime: now},
		"b.tar.gz": {Data: []byte(gz.String()), ModTime: now},
	}
	c := compress.Must(compress.Options{})
	for name, h := range map[string]http.Handler{
		"FileServer":          c.FileServer(fsys),
		"Handler(FileServer)": c.Handler(c.FileServer(fsys)),
		"Handler(http)":       c.Handler(http.FileServerFS(fsys)),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			for _, ae := range [][]string{nil, {"gzip"}, {"gzip;q=0"}, {"br"}, {"gzip;q=0, *"}} {
				res, body := roundTrip(t, "GET", srv.URL+"/a.js", http.Header{"Accept-Encoding": ae})
				ce := res.Header.Get("Content-Encoding")
				assert.Equal(t, js, string(decode(t, ce, body)), "%q %s", ae, ce)
				if ce != "" {
					assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding")
				}
				res, body = roundTrip(t, "GET", srv.URL+"/b.tar.gz", http.Header{"Accept-Encoding": ae})
				assert.Equal(t, "", res.Header.Get("Content-Encoding"))
				assert.Equal(t, gz.String(), string(body))
			}
		})
	}
}

// TestReviewPanicMidStreamLeavesPoolClean: a handler that panics once its
// encoded body streams leaves nothing in the pooled writers and encoders
// that the next response on the Compressor would send.
func TestReviewPanicMidStreamLeavesPoolClean(t *testing.T) {
	c := compress.Must(compress.Options{MaxBuffer: 1})
	srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/panic" {
			_, _ = w.Write(big)
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write(big)
	})))
	defer srv.Close()
	for range 5 {
		req, _ := http.NewRequest("GET", srv.URL+"/panic", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		tr := &http.Transport{DisableCompression: true}
		if res, err := tr.RoundTrip(req); err == nil {
			_, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
		tr.CloseIdleConnections()
		res, body := roundTrip(t, "GET", srv.URL+"/", http.Header{"Accept-Encoding": {"gzip"}})
		assert.Equal(t, big, decode(t, res.Header.Get("Content-Encoding"), body))
	}
}

func newGzip(w io.Writer) io.WriteCloser { return stdgzip.NewWriter(w) }

// decodeStream decodes r as it arrives.
func decodeStream(t *testing.T, enc string, r io.Reader) io.Reader {
	t.Helper()
	switch enc {
	case "":
		return r
	case compress.Gzip:
		zr, err := stdgzip.NewReader(r)
		require.NoError(t, err)
		return zr
	case compress.Deflate:
		zr, err := stdzlib.NewReader(r)
		require.NoError(t, err)
		return zr
	case compress.Brotli:
		return brotli.NewReader(r)
	case compress.Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		require.NoError(t, err)
		return d
	}
	t.Fatalf("unknown %q", enc)
	return nil
}

// TestReviewHTTP2: over HTTP/2, many small writes, a declared
// Content-Length, flushes and trailers give a body that decodes whole.
func TestReviewHTTP2(t *testing.T) {
	c := compress.Must(compress.Options{MaxBuffer: 256})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Trailer", "X-Sum")
		if r.URL.Path == "/cl" {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			w.Header().Del("Trailer")
		}
		for i := 0; i < len(big); i += 7 {
			_, _ = w.Write(big[i:min(i+7, len(big))])
			if r.URL.Path == "/flush" && i%700 == 0 {
				w.(http.Flusher).Flush()
			}
		}
		w.Header().Set("X-Sum", "ok")
	})
	srv := httptest.NewUnstartedServer(c.Handler(h))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	cl := srv.Client()
	cl.Transport.(*http.Transport).DisableCompression = true
	for _, p := range []string{"/", "/cl", "/flush"} {
		for _, ae := range []string{"gzip", "br", "zstd", ""} {
			for _, m := range []string{"GET", "HEAD"} {
				req, _ := http.NewRequest(m, srv.URL+p, nil)
				req.Header.Set("Accept-Encoding", ae)
				res, err := cl.Do(req)
				require.NoError(t, err, "%s %s %q", m, p, ae)
				b, err := io.ReadAll(res.Body)
				require.NoError(t, err, "%s %s %q", m, p, ae)
				res.Body.Close()
				assert.Equal(t, 2, res.ProtoMajor)
				ce := res.Header.Get("Content-Encoding")
				want := ae
				if p == "/flush" && ae == "gzip" {
					want = "" // StreamingAlgorithms leaves gzip out
				}
				assert.Equal(t, want, ce, "%s %s", m, p)
				if m == "GET" {
					assert.Equal(t, big, decode(t, ce, b), "%s %s %q", m, p, ae)
					if p != "/cl" {
						assert.Equal(t, "ok", res.Trailer.Get("X-Sum"), "%s %q", p, ae)
					}
				}
			}
		}
	}
}

// TestReviewStreamFlushedPromptlyAnyWay: a flushed first write reaches the
// client at once, whatever decides its coding (event stream on or off, a
// sniffed type, http.ResponseController).
func TestReviewStreamFlushedPromptlyAnyWay(t *testing.T) {
	for _, tc := range []struct {
		name, ctype string
		opts        compress.Options
		rc          bool
	}{
		{"sse-off", "text/event-stream", compress.Options{}, false},
		{"sse-on", "text/event-stream", compress.Options{EventStream: true}, false},
		{"sse-on-rc", "text/event-stream", compress.Options{EventStream: true}, true},
		{"no-type", "", compress.Options{}, false},
		{"no-type-rc", "", compress.Options{}, true},
		{"json-rc", "application/json", compress.Options{}, true},
		{"json-ndjson", "application/x-ndjson", compress.Options{MinSize: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compress.Must(tc.opts)
			release := make(chan struct{})
			srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				_, _ = io.WriteString(w, "data: one\n\n")
				if tc.rc {
					require.NoError(t, http.NewResponseController(w).Flush())
				} else {
					w.(http.Flusher).Flush()
				}
				<-release
				_, _ = io.WriteString(w, "data: two\n\n")
			})))
			defer srv.Close()
			defer close(release)
			for _, ae := range []string{"zstd", "br", "deflate", "gzip", ""} {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.Header.Set("Accept-Encoding", ae)
				tr := &http.Transport{DisableCompression: true}
				res, err := tr.RoundTrip(req)
				require.NoError(t, err)
				r := decodeStream(t, res.Header.Get("Content-Encoding"), res.Body)
				line, err := bufio.NewReader(r).ReadString('\n')
				require.NoError(t, err, ae)
				assert.Equal(t, "data: one\n", line, ae)
				res.Body.Close()
				tr.CloseIdleConnections()
				release <- struct{}{}
			}
		})
	}
}
