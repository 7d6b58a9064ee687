package caching

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWarmRequestBodyIsNoBody: Warm's request had a nil Body, where a
// server's request always has one (http.NoBody when none), so a handler
// that closes or drains it, as many do, panicked and the target failed,
// while every client's request was served and stored.
func TestWarmRequestBodyIsNoBody(t *testing.T) {
	c, _ := memCache(t, simple.Options{})
	var body io.ReadCloser
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer r.Body.Close()
		_, _ = io.Copy(io.Discard, r.Body)
		body = r.Body
		io.WriteString(w, "catalog")
	})
	h := c.Cached(time.Minute)(page)

	rep := c.Warm(t.Context(), h, WarmTarget{URL: "https://shop.example/catalog"})
	assert.Equal(t, 1, rep.Stored, "%+v", rep.Results)
	assert.Zero(t, rep.Failed, "%+v", rep.Results)
	assert.Equal(t, http.NoBody, body)
}

// TestWarmTLSServerNameIsTheHost: Warm's https requests had a TLS state
// without a ServerName, where every TLS client sends the host it asks for
// (SNI), so a handler serving tenants by r.TLS.ServerName stored the
// no-tenant page under the host's key, served to its every client. An IP
// literal is no server name, as TLS clients send none for it.
func TestWarmTLSServerNameIsTheHost(t *testing.T) {
	c, _ := memCache(t, simple.Options{})
	var seen []string
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.TLS.ServerName)
		io.WriteString(w, "tenant="+r.TLS.ServerName)
	})
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(page)

	rep := c.Warm(t.Context(), h,
		WarmTarget{URL: "https://shop.example/"},
		WarmTarget{URL: "https://Shop.Example:8443/"},
		WarmTarget{URL: "https://192.0.2.7/"},
		WarmTarget{URL: "https://[2001:db8::1]:8443/"},
	)
	require.Equal(t, 4, rep.Stored, "%+v", rep.Results)
	assert.Equal(t, []string{"shop.example", "shop.example", "", ""}, seen)

	r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: "shop.example"}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "tenant=shop.example", w.Body.String())
}
