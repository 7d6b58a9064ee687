package compress_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/andybalholm/brotli"

	"github.com/go-caching/caching/compress"
)

// The middleware with Flask-Compress's defaults around a whole mux.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"products":[`+strings.Repeat(`{"name":"tea"},`, 100)+`{}]}`)
	})
	srv := httptest.NewServer(compress.Middleware(compress.Options{})(mux))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/products", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	// Output: zstd Accept-Encoding
}

// Custom levels and preference order, validated once at start-up.
func ExampleNew() {
	c, err := compress.New(compress.Options{
		Algorithms:  []string{compress.Brotli, compress.Gzip}, // no zstd, no deflate
		Level:       9,                                        // gzip
		BrotliLevel: 6,
		MinSize:     1024,
	})
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "zstd, gzip, br")
	fmt.Println(c.Negotiate(req))

	_, err = compress.New(compress.Options{Level: 12})
	fmt.Println(err)
	// Output:
	// br
	// compress: invalid option: Level: 12 is outside the valid range 1 to 9 (0 means 6)
}

// A handler can opt one response out.
func ExampleDisable() {
	h := compress.Middleware(compress.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		compress.Disable(w) // e.g. a body that is already encrypted
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("secret ", 200))
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(rec, req)
	fmt.Printf("%q\n", rec.Header().Get("Content-Encoding"))
	// Output: ""
}

// Pre-compressed static files: a.js.br is served for a.js to clients that
// accept br.
func ExampleCompressor_FileServer() {
	src := []byte("console.log('hi')")
	var br bytes.Buffer // usually written at build time: brotli -k a.js
	bw := brotli.NewWriter(&br)
	_, _ = bw.Write(src)
	_ = bw.Close()
	fsys := fstest.MapFS{
		"a.js":    {Data: src},
		"a.js.br": {Data: br.Bytes()},
	}
	h := compress.Must(compress.Options{}).FileServer(fsys)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/a.js", nil)
	req.Header.Set("Accept-Encoding", "br")
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Header().Get("Content-Encoding"), rec.Header().Get("Content-Type"))
	// Output: br text/javascript; charset=utf-8
}
