package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-caching/caching"
)

// benchHit measures a hit of the proxy, the handler served in process (no
// connection), for a GET with the fields hdr (name, value, ...) of a page
// the origin marked public.
func benchHit(b *testing.B, hdr ...string) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = w.Write([]byte("page for everyone"))
	}))
	defer o.Close()
	cfg, err := parseFlags([]string{"-origin", o.URL}, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	c := caching.Must(nil)
	defer c.Close()
	p, _, err := newProxy(cfg, c, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://proxy/page", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	p.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		if w.Header().Get(statusHeader) != "HIT" {
			b.Fatal(w.Header().Get(statusHeader))
		}
	}
}

// BenchmarkProxyHitAnonymous: a hit for a client without a credential.
func BenchmarkProxyHitAnonymous(b *testing.B) { benchHit(b) }

// BenchmarkProxyHitToken: a hit for a token read (credentialHits' path).
func BenchmarkProxyHitToken(b *testing.B) { benchHit(b, "X-Api-Key", "alice") }
