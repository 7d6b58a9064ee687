package caching

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// accountOf is a handler that answers the client its TLS client
// certificate names (mutual TLS): a page of one user.
var accountOf = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	who := "anonymous"
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		who = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	w.Header().Set("Cache-Control", "public, max-age=60") // even so
	fmt.Fprintf(w, "account of %s", who)
})

// asClient sends GET https://bank.example/account to h over TLS, with a
// client certificate naming cn ("" for none).
func asClient(h http.Handler, cn string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "https://bank.example/account", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if cn != "" {
		r.TLS.PeerCertificates = []*x509.Certificate{{Subject: pkix.Name{CommonName: cn}}}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestClientCertificateNotShared: a client identified by its TLS client
// certificate (r.TLS.PeerCertificates) was cached under the key of every
// https client: bob was served alice's account page. Such a request is a
// credentialed one, as one with Authorization: without UserKey it passes
// through the cache, in either mode, and is neither served an entry nor
// stored.
func TestClientCertificateNotShared(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{
		{"default", nil},
		{"shared", []ViewOption{SharedCache()}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			h := c.Cached(time.Minute, append(mode.opts, CacheStatusHeader("X-Cache"))...)(accountOf)

			require.Equal(t, "MISS", asClient(h, "").Header().Get("X-Cache"))
			w := asClient(h, "alice")
			require.Equal(t, "account of alice", w.Body.String())
			assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"), "not served the anonymous entry")
			w = asClient(h, "bob")
			assert.Equal(t, "account of bob", w.Body.String(), "bob got alice's response")
			assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
			assert.Equal(t, "account of anonymous", asClient(h, "").Body.String(), "the anonymous entry is alice's")

			s := c.Stats()
			assert.Equal(t, int64(2), s.Bypasses)
		})
	}
}

// TestClientCertificateWithUserKey: with UserKey, a request with a client
// certificate is cached under the user UserKey names; one it names no user
// for passes through, as one with Authorization does.
func TestClientCertificateWithUserKey(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{
		{"default", nil},
		{"shared", []ViewOption{SharedCache()}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			user := func(r *http.Request) string {
				if cn := r.TLS.PeerCertificates[0].Subject.CommonName; cn != "mallory" {
					return cn
				}
				return "" // not a user UserKey knows
			}
			h := c.Cached(time.Minute, append(mode.opts, CacheStatusHeader("X-Cache"), UserKey(user))...)(accountOf)

			assert.Equal(t, "MISS", asClient(h, "alice").Header().Get("X-Cache"))
			w := asClient(h, "alice")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "alice's entry")
			assert.Equal(t, "account of alice", w.Body.String())
			w = asClient(h, "mallory")
			assert.Equal(t, "BYPASS", w.Header().Get("X-Cache"))
			assert.Equal(t, "account of mallory", w.Body.String())
			assert.Equal(t, "account of mallory", asClient(h, "mallory").Body.String())
		})
	}
}

// TestClientCertificatePeek: Peek finds nothing for a request with a
// client certificate and no user for it, as a view never stores one.
func TestClientCertificatePeek(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute)(accountOf)
	asClient(h, "")
	r := httptest.NewRequest(http.MethodGet, "https://bank.example/account", nil)
	_, _, err := c.Peek(r)
	require.NoError(t, err, "the anonymous entry")
	r.TLS.PeerCertificates = []*x509.Certificate{{Subject: pkix.Name{CommonName: "alice"}}}
	_, _, err = c.Peek(r)
	assert.ErrorIs(t, err, ErrNotFound)
}
