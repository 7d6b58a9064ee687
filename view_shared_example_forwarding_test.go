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
// request. The proxy below is the one both now build: keep them in step.
func TestSharedCacheProxyRecipeDropsClientForwarding(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "https://%s%s/app.js", r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Prefix"))
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	// As ExampleSharedCache builds it.
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		for name := range pr.Out.Header {
			if strings.HasPrefix(name, "X-Forwarded-") {
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
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	get("X-Forwarded-Host", "evil.example", "X-Forwarded-Prefix", "/evil") // the attacker
	want := "https://" + strings.TrimPrefix(front.URL, "http://") + "/app.js"
	if got := get(); got != want {
		t.Errorf("a victim got %s, want %s: the attacker's forwarding fields reached the origin and were stored for everyone", got, want)
	}
}
