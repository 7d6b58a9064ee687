package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A client that sends an empty Cookie line before its real one is still a
// request with a Cookie: the origin reads every line, and its logged-in
// page must not be stored for anonymous clients.
func TestCookieAfterEmptyCookieLineBypasses(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60") // a framework's page cache default
		if c, err := r.Cookie("session"); err == nil {
			fmt.Fprintf(w, "hello %s", c.Value)
			return
		}
		fmt.Fprint(w, "hello guest")
	})
	front, _ := startProxy(t, origin, nil)
	_, mine := send(t, http.MethodGet, front.URL+"/home", "Cookie", "", "Cookie", "session=mallory")
	assert.Equal(t, "hello mallory", mine)
	_, guest := send(t, http.MethodGet, front.URL+"/home")
	assert.True(t, strings.HasPrefix(guest, "hello guest"), "mallory's page was served to an anonymous client: %q", guest)
}

// -default-ttl leaves a response alone when it has any Cache-Control line:
// an empty one followed by "private" (two middlewares each adding one) is a
// private page, which the CDN-Cache-Control the proxy adds would override.
func TestDefaultTTLSeesEveryCacheControlLine(t *testing.T) {
	var n atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = []string{"", "private"}
		fmt.Fprintf(w, "account page #%d", n.Add(1))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "1m")
	_, first := send(t, http.MethodGet, front.URL+"/account")
	res, second := send(t, http.MethodGet, front.URL+"/account")
	assert.Equal(t, "account page #1", first)
	assert.Equal(t, "account page #2", second, "a private response was stored and served to another client")
	assert.Empty(t, res.Header.Get("CDN-Cache-Control"))
}
