package caching

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForwardedHostKeptApart pins the two documented ways to keep a handler
// that builds links from X-Forwarded-Host from being poisoned (the header
// is not in the key: one forged request would store links to the
// attacker's host for every client of the page): the handler answers Vary
// for it, or a trusted proxy-headers middleware outside the cache moves it
// into r.Host, which the key holds.
func TestForwardedHostKeptApart(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	vary := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "X-Forwarded-Host")
		fmt.Fprintf(w, `<script src="//%s/app.js"></script>`, cmp(r.Header.Get("X-Forwarded-Host"), r.Host))
	}))
	get(vary, "http://shop.example/", "X-Forwarded-Host", "evil.example") // the attacker
	assert.Equal(t, `<script src="//shop.example/app.js"></script>`, get(vary, "http://shop.example/").Body.String(), "Vary")

	moved := proxyHeaders(c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<script src="//%s/app.js"></script>`, r.Host)
	})))
	get(moved, "http://shop.example/m", "X-Forwarded-Host", "evil.example") // another path: the views share keys
	assert.Equal(t, `<script src="//shop.example/app.js"></script>`, get(moved, "http://shop.example/m").Body.String(),
		"proxy headers outside the cache")
}

// TestViewsOnOneURLKeptApartByKeyFormat: two views of one Cache on one URL
// (a router that picks one by a header, as gorilla/mux's Headers matcher
// or chi's RouteHeaders) share their keys, as documented on Cached; a
// KeyFormat of its own on one keeps their entries apart, and
// InvalidatePath still reaches both.
func TestViewsOnOneURLKeptApartByKeyFormat(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	jsonView := c.Cached(time.Minute, KeyFormat("items.json/%s"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[]}`)
	}))
	htmlView := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<ul></ul>`)
	}))
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "application/json" {
			jsonView.ServeHTTP(w, r)
			return
		}
		htmlView.ServeHTTP(w, r)
	})
	get(router, "/items", "Accept", "application/json")
	assert.Equal(t, "text/html", get(router, "/items", "Accept", "text/html").Header().Get("Content-Type"))
	assert.Equal(t, "application/json", get(router, "/items", "Accept", "application/json").Header().Get("Content-Type"))
	assert.Equal(t, "text/html", get(router, "/items", "Accept", "text/html").Header().Get("Content-Type"))
	require.Equal(t, int64(2), c.Stats().Hits)

	require.NoError(t, c.InvalidatePath(context.Background(), "/items"))
	get(router, "/items", "Accept", "application/json")
	get(router, "/items", "Accept", "text/html")
	assert.Equal(t, int64(2), c.Stats().Hits, "both views' entries invalidated")
}
