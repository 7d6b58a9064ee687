package caching

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/internal/header"
)

func reviewDecode(t *testing.T, enc string, body []byte) string {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "":
		return string(body)
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(body))
		if err == nil {
			defer d.Close()
		}
		r = d
	default:
		t.Fatalf("unknown coding %q", enc)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return string(b)
}

// TestReviewCompressCachedSequence sends clients with every reading of
// Accept-Encoding, in turn, through both orders of Cached and compress, and
// checks what each observes: a coding it accepts, the whole content, a
// range of the bytes the Content-Encoding says, and a 304 only for a tag
// it holds of a coding it accepts.
func TestReviewCompressCachedSequence(t *testing.T) {
	content := strings.Repeat(`{"id":1,"name":"desk lamp","price":19.99,"category":"home"},`, 60)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	handlers := map[string]http.HandlerFunc{
		"ServeContent": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"v1"`)
			http.ServeContent(w, r, "", mod, strings.NewReader(content))
		},
		// Streamed: StreamingAlgorithms, no Content-Length.
		"flushed": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
			_, _ = io.WriteString(w, content[:100])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, content[100:])
		},
		// Leaves the validators to compress's Conditional.
		"plain": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
			_, _ = io.WriteString(w, content)
		},
	}
	clients := []string{"gzip", "br", "", "-", "gzip;q=0", "*;q=0", "identity;q=0, gzip", "GZIP",
		"zstd;q=0.5, gzip;q=0.9", "gzip;q=0, *", "deflate", "br;q=0, zstd;q=0, gzip;q=0, deflate;q=0, *"}
	for hname, handler := range handlers {
		for _, mode := range []compress.ETagMode{compress.ETagWeaken, compress.ETagSuffix} {
			for _, order := range []string{"cached(compress)", "compress(cached)"} {
				t.Run(fmt.Sprintf("%s/%d/%s", hname, mode, order), func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					cmp := compress.Must(compress.Options{ETag: mode})
					var h http.Handler
					if order == "cached(compress)" {
						h = c.Cached(time.Minute)(cmp.Handler(handler))
					} else {
						h = cmp.Handler(c.Cached(time.Minute)(handler))
					}
					srv := httptest.NewServer(h)
					defer srv.Close()
					tr := &http.Transport{DisableCompression: true}
					defer tr.CloseIdleConnections()
					type held struct{ etag, coding string }
					var tags []held
					do := func(method, ae string, extra ...string) (*http.Response, []byte) {
						req, _ := http.NewRequest(method, srv.URL+"/x", nil)
						if ae != "-" {
							req.Header.Set("Accept-Encoding", ae)
						}
						for i := 0; i < len(extra); i += 2 {
							req.Header.Set(extra[i], extra[i+1])
						}
						res, err := tr.RoundTrip(req)
						if err != nil {
							t.Fatal(err)
						}
						defer res.Body.Close()
						b, _ := io.ReadAll(res.Body)
						ce := res.Header.Get("Content-Encoding")
						var lines []string
						if ae != "-" {
							lines = []string{ae}
						}
						if ce != "" && !header.Acceptable(lines, res.Header["Content-Encoding"]) {
							t.Errorf("%s %q %v: Content-Encoding %q refused", method, ae, extra, ce)
						}
						return res, b
					}
					for round := range 2 {
						for _, ae := range clients {
							res, b := do("GET", ae)
							ce := res.Header.Get("Content-Encoding")
							if res.StatusCode != 200 || reviewDecode(t, ce, b) != content {
								t.Fatalf("round %d GET %q: %d %q", round, ae, res.StatusCode, ce)
							}
							if ce != "" && !header.HasToken(res.Header["Vary"], "accept-encoding") {
								t.Errorf("GET %q: %q without Vary", ae, ce)
							}
							et := res.Header.Get("ETag")
							tags = append(tags, held{et, ce})
							hr, hb := do("HEAD", ae)
							if len(hb) != 0 || hr.StatusCode != 200 {
								t.Errorf("HEAD %q: %d %d bytes", ae, hr.StatusCode, len(hb))
							}
							if hce := hr.Header.Get("Content-Encoding"); hce != ce || hr.Header.Get("ETag") != et {
								t.Errorf("HEAD %q: %q %s, GET had %q %s", ae, hce, hr.Header.Get("ETag"), ce, et)
							}
							// Every tag held so far, revalidated by this client.
							for _, hd := range tags {
								r3, _ := do("GET", ae, "If-None-Match", hd.etag)
								if r3.StatusCode == 304 {
									if got := r3.Header.Get("ETag"); got != hd.etag && got != et {
										t.Errorf("%q INM %s: 304 with ETag %s", ae, hd.etag, r3.Header.Get("ETag"))
									}
									var lines []string
									if ae != "-" {
										lines = []string{ae}
									}
									if hd.coding != "" && !header.Acceptable(lines, []string{hd.coding}) && !strings.HasPrefix(hd.etag, "W/") {
										t.Errorf("%q INM %s: 304 vouches for %q, which it refuses", ae, hd.etag, hd.coding)
									}
								}
							}
							// If-Modified-Since alone: a 304 names the variant this client gets.
							// (Not for a streamed response behind Cached: the view runs the
							// handler without the validators and stores nothing, so it
							// sends the full 200.)
							if r5, _ := do("GET", ae, "If-Modified-Since", mod.Format(http.TimeFormat)); r5.StatusCode != 304 {
								if hname != "flushed" || order != "cached(compress)" || r5.StatusCode != 200 {
									t.Errorf("%q IMS: %d", ae, r5.StatusCode)
								}
							} else if got := r5.Header.Get("ETag"); got != et {
								t.Errorf("%q IMS: 304 ETag %s, the 200 has %s", ae, got, et)
							}
							// A range: of the bytes the response's coding says.
							for _, ir := range []string{"", et, mod.Format(http.TimeFormat)} {
								extra := []string{"Range", "bytes=10-29"}
								if ir != "" {
									extra = append(extra, "If-Range", ir)
								}
								r4, b4 := do("GET", ae, extra...)
								ce4 := r4.Header.Get("Content-Encoding")
								switch r4.StatusCode {
								case 200:
									if reviewDecode(t, ce4, b4) != content {
										t.Errorf("Range %q If-Range %q: 200 %q not the content", ae, ir, ce4)
									}
								case 206:
									if ce4 != "" {
										// Only a stored encoding's bytes; we can check against the GET's.
										if ce4 != ce || string(b4) != string(b[10:30]) {
											t.Errorf("Range %q If-Range %q: 206 %q does not match the %q body", ae, ir, ce4, ce)
										}
									} else if string(b4) != content[10:30] {
										t.Errorf("Range %q If-Range %q: 206 identity is not the content's bytes", ae, ir)
									} else if ce != "" && ir != "" && ir != `"v1"` {
										t.Errorf("Range %q If-Range %q: identity range for a client holding %q", ae, ir, ce)
									}
									if cr := r4.Header.Get("Content-Range"); !strings.HasPrefix(cr, "bytes 10-29/") {
										t.Errorf("Content-Range %q", cr)
									} else if ce4 == "" && cr != "bytes 10-29/"+strconv.Itoa(len(content)) {
										t.Errorf("identity Content-Range %q", cr)
									}
								default:
									t.Errorf("Range %q If-Range %q: %d", ae, ir, r4.StatusCode)
								}
							}
						}
					}
				})
			}
		}
	}
}
