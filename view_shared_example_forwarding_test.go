package caching_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestSharedCacheProxyRecipeDropsClientForwarding: ExampleSharedCache and
// the README's SharedCache snippet wrapped httputil.NewSingleHostReverseProxy,
// whose Director passes a client's X-Forwarded-Host (and -Proto, -Prefix,
// Forwarded) to the origin; none is in the key. An origin that builds
// absolute links from X-Forwarded-Host (Django's USE_X_FORWARDED_HOST,
// Rails, Express "trust proxy") was poisoned for every client by one
// request. Then their Rewrite deleted the names that start with
// "X-Forwarded-" as Go canonicalizes them, and a client's
// "X_Forwarded_Host" ("X_forwarded_host") passed: CGI-style origins (PHP,
// WSGI, Rack: HTTP_X_FORWARDED_HOST) read it as X-Forwarded-Host. The proxy
// below is the one both now build: keep them in step.
func TestSharedCacheProxyRecipeDropsClientForwarding(t *testing.T) {
	// cgi reads a field as a CGI-style server hands it to the application:
	// '-' and '_' alike.
	cgi := func(r *http.Request, name string) string {
		env := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
		for k, vs := range r.Header {
			if env(k) == env(name) && len(vs) > 0 {
				return vs[0]
			}
		}
		return ""
	}
	for _, attack := range [][]string{
		{"X-Forwarded-Host", "evil.example", "X-Forwarded-Prefix", "/evil"},
		{"X_Forwarded_Host", "evil.example", "x_forwarded_prefix", "/evil"},
		{"X-Forwarded_Host", "evil.example", "X_FORWARDED-PREFIX", "/evil"},
		// ReverseProxy deletes a client's Forwarded under Rewrite.
		{"Forwarded", "host=evil.example;proto=https"},
	} {
		t.Run(attack[0], func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				host := cgi(r, "X-Forwarded-Host")
				// RFC 7239 host=, as a framework that honours Forwarded reads it.
				for _, part := range strings.Split(r.Header.Get("Forwarded"), ";") {
					if v, ok := strings.CutPrefix(strings.TrimSpace(part), "host="); ok {
						host = v
					}
				}
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprintf(w, "https://%s%s/app.js", host, cgi(r, "X-Forwarded-Prefix"))
			}))
			defer origin.Close()
			u, _ := url.Parse(origin.URL)
			// As ExampleSharedCache builds it.
			rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
				for name := range pr.Out.Header {
					if strings.HasPrefix(http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-")), "X-Forwarded-") {
						delete(pr.Out.Header, name)
					}
				}
				pr.SetURL(u)
				pr.SetXForwarded()
			}}
			proxy := c.Cached(10*time.Minute, caching.SharedCache(), caching.CacheStatusHeader("X-Cache"))(rp)
			front := httptest.NewServer(proxy)
			defer front.Close()

			get := func(hdr ...string) string {
				req, _ := http.NewRequest(http.MethodGet, front.URL+"/page", nil)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header[hdr[i]] = []string{hdr[i+1]} // as sent, not canonicalized
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return string(b)
			}
			get(attack...) // the attacker
			want := "https://" + strings.TrimPrefix(front.URL, "http://") + "/app.js"
			if got := get(); got != want {
				t.Errorf("a victim got %s, want %s: the attacker's forwarding fields reached the origin and were stored for everyone", got, want)
			}
		})
	}
}
