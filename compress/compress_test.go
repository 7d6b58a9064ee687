package compress_test

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	stdzlib "compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// decode decodes body with the reference decoder of enc ("" is identity).
func decode(t testing.TB, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "":
		return body
	case compress.Gzip:
		r, err = stdgzip.NewReader(bytes.NewReader(body))
	case compress.Deflate:
		r, err = stdzlib.NewReader(bytes.NewReader(body))
	case compress.Brotli:
		r = brotli.NewReader(bytes.NewReader(body))
	case compress.Zstd:
		// RFC 9659: HTTP zstd decoders need at most an 8 MiB window.
		d, derr := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderConcurrency(1))
		require.NoError(t, derr)
		defer d.Close()
		r = d
	default:
		t.Fatalf("unknown encoding %q", enc)
	}
	require.NoError(t, err)
	out, err := io.ReadAll(r)
	require.NoError(t, err, "decoding %s", enc)
	return out
}

// jsonBody returns a JSON document of about n bytes.
func jsonBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"product %d","price":%d.99}`, i, i*7919%1000, i%97)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

var big = jsonBody(2000)
var bigString = string(big)

func serve(t testing.TB, c *compress.Compressor, h http.HandlerFunc, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Handler(h).ServeHTTP(rec, req)
	return rec
}

func get(ae ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, v := range ae {
		r.Header.Add("Accept-Encoding", v)
	}
	return r
}

// respond sets Content-Type, the status when code is not 0, and writes body.
func respond(contentType string, code int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		if code != 0 {
			w.WriteHeader(code)
		}
		_, _ = w.Write(body)
	}
}

func writeJSON(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

func TestRules(t *testing.T) {
	def := compress.Must(compress.Options{})
	for _, tc := range []struct {
		name     string
		opts     *compress.Options
		handler  http.HandlerFunc
		req      *http.Request
		wantEnc  string
		wantVary bool
		wantCode int
		wantBody []byte // decoded; nil means big
		check    func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{name: "zstd preferred", handler: writeJSON(big), req: get("gzip, deflate, br, zstd"), wantEnc: "zstd", wantVary: true},
		{name: "br", handler: writeJSON(big), req: get("br"), wantEnc: "br", wantVary: true},
		{name: "gzip", handler: writeJSON(big), req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "deflate is zlib", handler: writeJSON(big), req: get("deflate"), wantEnc: "deflate", wantVary: true},
		{name: "gzip;q=0 refused", handler: writeJSON(big), req: get("gzip;q=0"), wantVary: true},
		{name: "no Accept-Encoding still varies", handler: writeJSON(big), req: get(), wantVary: true},
		{name: "identity preferred", handler: writeJSON(big), req: get("identity;q=1, gzip;q=0.5"), wantVary: true},
		{name: "below MinSize", handler: writeJSON(big[:400]), req: get("gzip"), wantBody: big[:400]},
		{name: "custom MinSize", opts: &compress.Options{MinSize: 100}, handler: writeJSON(big[:400]), req: get("gzip"),
			wantEnc: "gzip", wantVary: true, wantBody: big[:400]},
		{name: "image not compressed", handler: respond("image/png", 0, big), req: get("gzip")},
		{name: "image not compressed under wildcard", opts: &compress.Options{MimeTypes: []string{"*/*"}}, handler: respond("image/jpeg", 0, big), req: get("gzip")},
		{name: "text wildcard", opts: &compress.Options{MimeTypes: []string{"text/*"}}, handler: respond("text/csv; charset=utf-8", 0, big), req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "+json suffix rule", handler: respond("application/problem+json", 0, big), req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "type matching ignores case and params", handler: respond("Application/JSON ; charset=utf-8", 0, big), req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "not in MimeTypes", handler: respond("application/x-custom", 0, big), req: get("gzip")},
		{name: "sniffed when Content-Type is missing", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(append([]byte("<!DOCTYPE html><html>"), bytes.Repeat([]byte("<p>hello</p>"), 100)...))
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true,
			wantBody: append([]byte("<!DOCTYPE html><html>"), bytes.Repeat([]byte("<p>hello</p>"), 100)...),
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			}},
		{name: "existing Content-Encoding", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(big)
		}, req: get("gzip"), wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Equal(t, big, rec.Body.Bytes(), "untouched")
		}},
		{name: "Disable opts out", handler: func(w http.ResponseWriter, r *http.Request) {
			compress.Disable(w)
			writeJSON(big)(w, r)
		}, req: get("gzip"), check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.NotContains(t, rec.Header(), "Content-Encoding", "identity is removed")
		}},
		{name: "Skip option", opts: &compress.Options{Skip: func(r *http.Request) bool { return true }},
			handler: writeJSON(big), req: get("gzip")},
		{name: "Content-Range", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-1999/5000")
			writeJSON(big)(w, r)
		}, req: get("gzip")},
		{name: "206 varies as its 200", handler: respond("application/json", http.StatusPartialContent, big), req: get("gzip"), wantCode: http.StatusPartialContent, wantVary: true},
		{name: "no-transform", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, No-Transform")
			writeJSON(big)(w, r)
		}, req: get("gzip")},
		{name: "event stream passes by default", handler: respond("text/event-stream", 0, big), req: get("gzip")},
		{name: "event stream opted in", opts: &compress.Options{EventStream: true}, handler: respond("text/event-stream", 0, big), req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "204", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNoContent)
		}, req: get("gzip"), wantCode: http.StatusNoContent, wantBody: []byte{}},
		{name: "304 keeps Vary", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotModified)
		}, req: get("gzip"), wantCode: http.StatusNotModified, wantVary: true, wantBody: []byte{}},
		{name: "404 not compressed", handler: respond("application/json", http.StatusNotFound, big), req: get("gzip"), wantCode: http.StatusNotFound},
		{name: "201 compressed", handler: respond("application/json", http.StatusCreated, big), req: get("gzip"), wantCode: http.StatusCreated, wantEnc: "gzip", wantVary: true},
		{name: "upgrade declined with a 200 is compressed", handler: writeJSON(big), req: func() *http.Request {
			r := get("gzip")
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}(), wantEnc: "gzip", wantVary: true},
		{name: "HEAD sends GET's headers", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		}, req: func() *http.Request {
			r := httptest.NewRequest(http.MethodHead, "/", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			return r
		}(), wantEnc: "gzip", wantVary: true, wantBody: []byte{}, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Empty(t, rec.Header().Get("Content-Length"))
		}},
		{name: "Content-Length set and big", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			writeJSON(big)(w, r)
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "Content-Length set and small", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			writeJSON(big[:10])(w, r)
		}, req: get("gzip"), wantBody: big[:10]},
		{name: "Vary merged", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Cookie")
			writeJSON(big)(w, r)
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Equal(t, []string{"Cookie", "Accept-Encoding"}, rec.Header().Values("Vary"))
		}},
		{name: "Vary not duplicated", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "cookie, ACCEPT-ENCODING")
			writeJSON(big)(w, r)
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Equal(t, []string{"cookie, ACCEPT-ENCODING"}, rec.Header().Values("Vary"))
		}},
		{name: "Accept-Ranges dropped", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Accept-Ranges", "bytes")
			writeJSON(big)(w, r)
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Empty(t, rec.Header().Get("Accept-Ranges"))
		}},
		{name: "ETag weakened", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			writeJSON(big)(w, r)
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Equal(t, `W/"v1"`, rec.Header().Get("ETag"))
		}},
		{name: "ETag suffixed", opts: &compress.Options{ETag: compress.ETagSuffix}, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			writeJSON(big)(w, r)
		}, req: get("br"), wantEnc: "br", wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Equal(t, `"v1:br"`, rec.Header().Get("ETag"))
		}},
		{name: "ETag untouched when not compressed", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			writeJSON(big)(w, r)
		}, req: get(), wantVary: true, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			assert.Equal(t, `"v1"`, rec.Header().Get("ETag"))
		}},
		{name: "many small writes", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for i := 0; i < len(big); i += 7 {
				_, _ = w.Write(big[i:min(i+7, len(big))])
			}
		}, req: get("zstd"), wantEnc: "zstd", wantVary: true},
		{name: "WriteString", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, bigString)
		}, req: get("br"), wantEnc: "br", wantVary: true},
		{name: "ReadFrom through the encoder", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.Copy(w, onlyReader{bytes.NewReader(big)})
		}, req: get("gzip"), wantEnc: "gzip", wantVary: true},
		{name: "ReadFrom pass-through", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = io.Copy(w, onlyReader{bytes.NewReader(big)})
		}, req: get("gzip")},
		{name: "ReadFrom short body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.Copy(w, onlyReader{bytes.NewReader(big[:100])})
		}, req: get("gzip"), wantBody: big[:100]},
		{name: "larger than MaxBuffer streams", opts: &compress.Options{MaxBuffer: 256}, handler: writeJSON(jsonBody(50000)),
			req: get("gzip"), wantEnc: "gzip", wantVary: true, wantBody: jsonBody(50000), check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				assert.Empty(t, rec.Header().Get("Content-Length"), "no Content-Length once streamed")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := def
			if tc.opts != nil {
				c = compress.Must(*tc.opts)
			}
			rec := serve(t, c, tc.handler, tc.req)
			res := rec.Result()
			wantCode := tc.wantCode
			if wantCode == 0 {
				wantCode = http.StatusOK
			}
			assert.Equal(t, wantCode, res.StatusCode)
			want := tc.wantBody
			if want == nil {
				want = big
			}
			enc := res.Header.Get("Content-Encoding")
			if enc == "gzip" && tc.check == nil && tc.name == "existing Content-Encoding" {
				enc = ""
			}
			if tc.name != "existing Content-Encoding" {
				assert.Equal(t, tc.wantEnc, enc, "Content-Encoding")
				body := rec.Body.Bytes()
				if tc.req.Method == http.MethodHead {
					assert.Empty(t, body)
				} else {
					assert.Equal(t, string(want), string(decode(t, enc, body)), "decoded body")
				}
				if enc != "" && tc.req.Method != http.MethodHead && res.Header.Get("Content-Length") != "" {
					assert.Equal(t, strconv.Itoa(len(body)), res.Header.Get("Content-Length"), "exact Content-Length")
				}
				if enc != "" && tc.req.Method != http.MethodHead {
					assert.Less(t, len(body), len(want), "compressed is smaller")
				}
			}
			hasVary := false
			for _, v := range res.Header.Values("Vary") {
				hasVary = hasVary || strings.Contains(strings.ToLower(v), "accept-encoding")
			}
			assert.Equal(t, tc.wantVary, hasVary, "Vary: Accept-Encoding")
			if tc.check != nil {
				tc.check(t, rec)
			}
		})
	}
}

// onlyReader hides WriterTo so that io.Copy calls ReadFrom.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestContentLengthExactWhenBuffered(t *testing.T) {
	rec := serve(t, compress.Must(compress.Options{}), writeJSON(big), get("gzip"))
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	assert.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
}

func TestIfNoneMatchStillAnswers304(t *testing.T) {
	content := strings.NewReader(string(big))
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "", time.Time{}, content)
	}
	for _, tc := range []struct {
		name string
		mode compress.ETagMode
	}{{"weaken", compress.ETagWeaken}, {"suffix", compress.ETagSuffix}} {
		t.Run(tc.name, func(t *testing.T) {
			c := compress.Must(compress.Options{ETag: tc.mode})
			first := serve(t, c, h, get("gzip"))
			require.Equal(t, "gzip", first.Header().Get("Content-Encoding"))
			etag := first.Header().Get("ETag")
			require.NotEqual(t, `"abc"`, etag)

			req := get("gzip")
			req.Header.Set("If-None-Match", etag)
			second := serve(t, c, h, req)
			assert.Equal(t, http.StatusNotModified, second.Code)
			assert.Contains(t, second.Header().Values("Vary"), "Accept-Encoding")
			assert.Equal(t, etag, second.Header().Get("ETag"), "the 304 names the same variant")
			assert.Equal(t, etag, req.Header.Get("If-None-Match"), "the caller's request is not modified")
		})
	}
	t.Run("suffix of another encoding does not match", func(t *testing.T) {
		c := compress.Must(compress.Options{ETag: compress.ETagSuffix})
		req := get("br")
		req.Header.Set("If-None-Match", `"abc:gzip"`)
		rec := serve(t, c, h, req)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, `"abc:br"`, rec.Header().Get("ETag"))
	})
}

func TestInformationalPassesThrough(t *testing.T) {
	srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		writeJSON(big)(w, r)
	})))
	defer srv.Close()
	var got []int
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error { got = append(got, code); return nil },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "br")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, []int{http.StatusEarlyHints}, got, "103 sent at once")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "103 is not the final status")
	assert.Equal(t, "br", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, string(big), string(decode(t, "br", body)))
}

func TestPanicLetsRecovererWrite500(t *testing.T) {
	c := compress.Must(compress.Options{})
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					http.Error(w, "internal error", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	for _, size := range []int{100, 2000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			rec := httptest.NewRecorder()
			recoverer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(big[:size])
				panic("boom")
			}))).ServeHTTP(rec, get("gzip"))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			assert.Empty(t, rec.Header().Get("Content-Encoding"))
			assert.Equal(t, "internal error\n", rec.Body.String())
		})
	}
	// The pooled writers are usable afterwards.
	rec := serve(t, c, writeJSON(big), get("gzip"))
	assert.Equal(t, string(big), string(decode(t, "gzip", rec.Body.Bytes())))
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts compress.Options
		msg  string
	}{
		{"gzip level", compress.Options{Level: 10}, "Level: 10 is outside the valid range 1 to 9"},
		{"brotli level", compress.Options{BrotliLevel: 12}, "BrotliLevel: 12 is outside the valid range 1 to 11"},
		{"zstd level", compress.Options{ZstdLevel: -1}, "ZstdLevel: -1 is outside the valid range 1 to 22"},
		{"deflate level", compress.Options{DeflateLevel: 11}, "DeflateLevel"},
		{"unknown algorithm", compress.Options{Algorithms: []string{"lzma"}}, `Algorithms: "lzma"`},
		{"duplicate algorithm", compress.Options{StreamingAlgorithms: []string{"br", "BR"}}, "listed twice"},
		{"bad mime", compress.Options{MimeTypes: []string{"json"}}, "MimeTypes"},
		{"bad wildcard", compress.Options{MimeTypes: []string{"te*t/html"}}, "MimeTypes"},
		{"min size", compress.Options{MinSize: -1}, "MinSize"},
		{"max buffer", compress.Options{MaxBuffer: -1}, "MaxBuffer"},
		{"etag mode", compress.Options{ETag: 7}, "ETag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compress.New(tc.opts)
			require.Error(t, err)
			assert.True(t, errors.Is(err, compress.ErrInvalidOption))
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "compress: "))
			assert.Panics(t, func() { compress.Must(tc.opts) })
		})
	}
	_, err := compress.New(compress.Options{Level: 9, BrotliLevel: 11, ZstdLevel: 22, DeflateLevel: 1, Algorithms: []string{"gzip"}})
	require.NoError(t, err)
}

func TestZstdLevelsKeepTheWindow(t *testing.T) {
	// A body larger than 8 MiB at the best level still decodes with an
	// 8 MiB window limit (decode enforces it).
	body := bytes.Repeat(jsonBody(64<<10), 160)
	c := compress.Must(compress.Options{ZstdLevel: 22, Algorithms: []string{"zstd"}})
	rec := serve(t, c, writeJSON(body), get("zstd"))
	require.Equal(t, "zstd", rec.Header().Get("Content-Encoding"))
	assert.Equal(t, len(body), len(decode(t, "zstd", rec.Body.Bytes())))
}

func TestNegotiateExported(t *testing.T) {
	c := compress.Must(compress.Options{})
	assert.Equal(t, "zstd", c.Negotiate(get("gzip, zstd")))
	assert.Equal(t, "", c.Negotiate(get("gzip;q=0")))
	assert.Equal(t, "", c.Negotiate(get()))
}

// The real thing: net/http server, Go's client (which asks for gzip and
// decodes it itself), flushing, hijacking.
func TestRealServer(t *testing.T) {
	c := compress.Must(compress.Options{})
	t.Run("Go client decodes gzip transparently", func(t *testing.T) {
		srv := httptest.NewServer(c.Handler(writeJSON(big)))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.True(t, resp.Uncompressed, "the transport decoded a gzip body")
		assert.Equal(t, string(big), string(body))
	})

	t.Run("Flush streams and is not delayed", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "event one\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			_, _ = io.WriteString(w, "event two\n")
		})))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fail, not hang, if Flush is delayed
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, "deflate", resp.Header.Get("Content-Encoding"), "streamed: gzip is not in StreamingAlgorithms")
		assert.Empty(t, resp.Header.Get("Content-Length"))
		zr, err := stdzlib.NewReader(resp.Body)
		require.NoError(t, err)
		br := bufio.NewReader(zr)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "event one\n", line, "decoded before the handler went on")
		close(release)
		rest, err := io.ReadAll(br)
		require.NoError(t, err)
		assert.Equal(t, "event two\n", string(rest))
	})

	t.Run("SSE opted in, flushed through ResponseController", func(t *testing.T) {
		sse := compress.Must(compress.Options{EventStream: true})
		release := make(chan struct{})
		srv := httptest.NewServer(sse.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			_, _ = io.WriteString(w, "data: 1\n\n")
			_ = rc.Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fail, not hang, if Flush is delayed
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "deflate")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "deflate", resp.Header.Get("Content-Encoding"))
		zr, err := stdzlib.NewReader(resp.Body)
		require.NoError(t, err)
		buf := make([]byte, 9)
		_, err = io.ReadFull(zr, buf)
		require.NoError(t, err)
		assert.Equal(t, "data: 1\n\n", string(buf))
		close(release)
	})

	t.Run("Hijack passes through", func(t *testing.T) {
		srv := httptest.NewServer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			_ = brw.Flush()
		})))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "hijacked", string(body))
	})
}

// snapshotWriter records the body as it stood at each Flush.
type snapshotWriter struct {
	*httptest.ResponseRecorder
	atFlush [][]byte
}

func (s *snapshotWriter) Flush() {
	s.atFlush = append(s.atFlush, bytes.Clone(s.Body.Bytes()))
	s.ResponseRecorder.Flush()
}

func TestFlushIsASyncFlush(t *testing.T) {
	first := []byte(`{"event":"first"}` + "\n")
	for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
		t.Run(enc, func(t *testing.T) {
			c := compress.Must(compress.Options{StreamingAlgorithms: []string{enc}})
			sw := &snapshotWriter{ResponseRecorder: httptest.NewRecorder()}
			c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(first)
				w.(http.Flusher).Flush()
				_, _ = w.Write(big)
			})).ServeHTTP(sw, get(enc))
			require.Equal(t, enc, sw.Header().Get("Content-Encoding"))
			require.Len(t, sw.atFlush, 1)
			// What had been sent at Flush decodes to everything written so far.
			assert.Equal(t, string(first), string(decodePrefix(t, enc, sw.atFlush[0], len(first))))
			assert.Equal(t, string(first)+string(big), string(decode(t, enc, sw.Body.Bytes())))
		})
	}
}

// decodePrefix decodes n bytes from an unfinished stream.
func decodePrefix(t *testing.T, enc string, partial []byte, n int) []byte {
	t.Helper()
	var r io.Reader
	var err error
	src := bytes.NewReader(partial)
	switch enc {
	case compress.Gzip:
		r, err = stdgzip.NewReader(src)
	case compress.Deflate:
		r, err = stdzlib.NewReader(src)
	case compress.Brotli:
		r = brotli.NewReader(src)
	case compress.Zstd:
		d, derr := zstd.NewReader(src, zstd.WithDecoderConcurrency(1))
		require.NoError(t, derr)
		defer d.Close()
		r = d
	}
	require.NoError(t, err)
	out := make([]byte, n)
	_, err = io.ReadFull(r, out)
	require.NoError(t, err)
	return out
}

// TestSniffedTypeMatchesNetHTTP: a response without Content-Type gets the
// type net/http would sniff from the first 512 bytes of its body, however
// the handler splits its writes, and is compressed according to it.
func TestSniffedTypeMatchesNetHTTP(t *testing.T) {
	page := "<!DOCTYPE html><html><body>" + strings.Repeat("hello world ", 100) + "</body></html>"
	// Text for 505 bytes, then a byte that makes the first 512 binary.
	binaryAt505 := strings.Repeat("a", 505) + "\x00" + strings.Repeat("a", 1000)
	for _, tc := range []struct {
		name string
		opts compress.Options
		h    http.HandlerFunc
	}{
		{"short first write", compress.Options{}, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, page[:9])
			_, _ = io.WriteString(w, page[9:])
		}},
		{"MinSize reached before 512 bytes", compress.Options{}, func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i < len(binaryAt505); i += 100 {
				_, _ = io.WriteString(w, binaryAt505[i:min(i+100, len(binaryAt505))])
			}
		}},
		{"MinSize below 512", compress.Options{MinSize: 100}, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, binaryAt505[:150])
			_, _ = io.WriteString(w, binaryAt505[150:])
		}},
		{"ReadFrom with MinSize below 512", compress.Options{MinSize: 100}, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.Copy(w, onlyReader{strings.NewReader(binaryAt505)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bare := httptest.NewServer(tc.h)
			defer bare.Close()
			want, wantBody := rawGet(t, bare.URL, "gzip")
			srv := httptest.NewServer(compress.Must(tc.opts).Handler(tc.h))
			defer srv.Close()
			got, body := rawGet(t, srv.URL, "gzip")
			assert.Equal(t, want.Header.Get("Content-Type"), got.Header.Get("Content-Type"), "the type net/http sniffs")
			assert.Equal(t, string(wantBody), string(decode(t, got.Header.Get("Content-Encoding"), body)))
		})
	}
}

// TestTrailersAreSent: a compressed response that declares trailers is sent
// chunked, without Content-Length, since net/http sends trailers only then.
func TestTrailersAreSent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		declare string // the Trailer header, set before the body
		key     string // the trailer's key, set after the body
	}{
		{"declared in Trailer", "X-Sum", "X-Sum"},
		{"with TrailerPrefix", "", http.TrailerPrefix + "X-Sum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.declare != "" {
					w.Header().Set("Trailer", tc.declare)
				}
				_, _ = w.Write(big)
				w.Header().Set(tc.key, "abc")
			})))
			defer srv.Close()
			resp, body := rawGet(t, srv.URL, "gzip")
			require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
			assert.Equal(t, int64(-1), resp.ContentLength, "chunked")
			assert.Equal(t, "abc", resp.Trailer.Get("X-Sum"))
			assert.Equal(t, string(big), string(decode(t, "gzip", body)))
		})
	}
}

// TestHeadWithoutSize: a HEAD gets its GET's headers when the handler gives
// its size (Content-Length, or the body written as for GET); without a size
// it is sent unencoded with its ETag untouched, but with the Vary its GET
// has.
func TestHeadWithoutSize(t *testing.T) {
	c := compress.Must(compress.Options{})
	handler := func(contentType string, bodyForHead bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.Header().Set("ETag", `"v1"`)
			if r.Method == http.MethodHead && !bodyForHead {
				return
			}
			_, _ = w.Write(big)
		}
	}
	head := func() *http.Request {
		r := httptest.NewRequest(http.MethodHead, "/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		return r
	}
	for _, tc := range []struct {
		name     string
		h        http.HandlerFunc
		req      *http.Request
		wantEnc  string
		wantVary []string
		wantETag string
	}{
		{"GET", handler("text/html", false), get("gzip"), "gzip", []string{"Accept-Encoding"}, `W/"v1"`},
		{"HEAD without a body", handler("text/html", false), head(), "", []string{"Accept-Encoding"}, `"v1"`},
		{"HEAD without a body or a type", handler("", false), head(), "", []string{"Accept-Encoding"}, `"v1"`},
		{"HEAD with Content-Length but no type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			handler("", false)(w, r)
		}, head(), "", []string{"Accept-Encoding"}, `"v1"`},
		{"HEAD with Content-Length and a body to sniff", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			handler("", true)(w, r)
		}, head(), "gzip", []string{"Accept-Encoding"}, `W/"v1"`},
		{"HEAD of a type not compressed", handler("image/png", false), head(), "", nil, `"v1"`},
		{"HEAD writing the body", handler("text/html", true), head(), "gzip", []string{"Accept-Encoding"}, `W/"v1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, c, tc.h, tc.req)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tc.wantEnc, rec.Header().Get("Content-Encoding"))
			assert.Equal(t, tc.wantVary, rec.Header().Values("Vary"))
			assert.Equal(t, tc.wantETag, rec.Header().Get("ETag"))
			if tc.req.Method == http.MethodHead {
				assert.Zero(t, rec.Body.Len())
				if tc.wantEnc != "" {
					assert.Empty(t, rec.Header().Get("Content-Length"), "the encoded length is unknown")
				}
			}
		})
	}
}

// TestSuffix304NamesTheRevalidatedVariant: with ETagSuffix, a handler's 304
// to a client that revalidates an encoded variant carries that variant's
// ETag, the streamed one's included (StreamingAlgorithms may choose another
// encoding than Algorithms).
func TestSuffix304NamesTheRevalidatedVariant(t *testing.T) {
	c := compress.Must(compress.Options{ETag: compress.ETagSuffix})
	h := func(flush bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("ETag", `"x"`)
			if strings.Contains(r.Header.Get("If-None-Match"), `"x"`) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "hello")
			if flush {
				w.(http.Flusher).Flush()
			}
			_, _ = w.Write(big)
		}
	}
	for _, tc := range []struct {
		name  string
		flush bool
		etag  string
	}{{"buffered", false, `"x:gzip"`}, {"streamed", true, `"x:deflate"`}} {
		t.Run(tc.name, func(t *testing.T) {
			first := serve(t, c, h(tc.flush), get("gzip, deflate"))
			require.Equal(t, tc.etag, first.Header().Get("ETag"))
			req := get("gzip, deflate")
			req.Header.Set("If-None-Match", tc.etag)
			rec := serve(t, c, h(tc.flush), req)
			require.Equal(t, http.StatusNotModified, rec.Code)
			assert.Equal(t, tc.etag, rec.Header().Get("ETag"), "the 304 names the variant the client has")
			assert.Equal(t, []string{"Accept-Encoding"}, rec.Header().Values("Vary"))
		})
	}
}
