package caching_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/go-caching/caching"
)

// A caching reverse proxy: the origin's Cache-Control decides what is kept
// and for how long, and a write through the proxy drops its path.
func ExampleSharedCache() {
	c := caching.Must(nil)
	defer c.Close()
	calls := 0
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		calls++
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "version %d", calls)
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	// Rewrite, not NewSingleHostReverseProxy: the origin must get only the
	// forwarding fields the proxy sets, never a client's (none is in the
	// key: a forged X-Forwarded-Host would be stored for everyone).
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		for name := range pr.Out.Header {
			// '_' as '-': CGI-style origins (PHP, WSGI, Rack) read X_Forwarded_Host as X-Forwarded-Host.
			if strings.HasPrefix(http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-")), "X-Forwarded-") {
				delete(pr.Out.Header, name) // -Prefix, -Port...: SetXForwarded drops only -For, -Host, -Proto
			}
		}
		pr.SetURL(u)
		pr.SetXForwarded()
	}}
	proxy := c.Cached(10*time.Minute, caching.SharedCache(), caching.CacheStatusHeader("X-Cache"))(rp)
	front := httptest.NewServer(proxy)
	defer front.Close()

	get := func() {
		res, err := http.Get(front.URL + "/page")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body), res.Header.Get("X-Cache"))
	}
	get()
	get()
	req, _ := http.NewRequest(http.MethodPut, front.URL+"/page", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	get()
	// Output:
	// version 1 MISS
	// version 1 HIT
	// version 2 MISS
}

// InvalidateOnWrite in the default mode: the write route's view drops the
// cached responses of the product it changed.
func ExampleInvalidateOnWrite() {
	c := caching.Must(nil)
	defer c.Close()
	price := "9.99"
	mux := http.NewServeMux()
	mux.Handle("GET /products/{id}", c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, price)
	})))
	mux.Handle("PUT /products/{id}", c.Cached(0, caching.InvalidateOnWrite())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		price = "7.50" // the database write
		w.WriteHeader(http.StatusNoContent)
	})))
	get := func() string {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/products/42", nil))
		return w.Body.String()
	}
	fmt.Println(get())
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/products/42", nil))
	fmt.Println(get())
	// Output:
	// 9.99
	// 7.50
}
