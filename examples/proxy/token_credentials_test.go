package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDefaultTTLNotForTokenRequests: -default-ttl kept its default from
// requests with a Cookie or Authorization only. An API that signs its
// clients in with a token field of its own (X-Api-Key, X-Auth-Token,
// Api-Key, X-Access-Token, X-Session-Token...: a single-page app's fetch
// sends it on every GET, and such JSON APIs seldom send Cache-Control) had
// a signed-in client's /api/me stored with the default freshness under
// the URL's key: the next client to ask, the attacker without any token,
// got that user's data (web cache deception). A response to a request with
// a field named as a credential is not given the default; the origin's own
// freshness still decides.
func TestDefaultTTLNotForTokenRequests(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := "anonymous"
		for name, v := range r.Header {
			if name != "Accept-Encoding" && name != "User-Agent" && !strings.HasPrefix(name, "X-Forwarded-") && name != "Forwarded" {
				user = v[0]
			}
		}
		_, _ = w.Write([]byte(`{"user":"` + user + `"}`))
	})
	front, _ := startProxy(t, origin, nil, "-default-ttl", "60s")
	for _, field := range []string{
		"X-Api-Key", "Api-Key", "X-Auth-Token", "X-Access-Token", "X-Session-Token",
		"X-Csrf-Token", "X-User-Token", "X-Amz-Security-Token", "X_Auth_Token", "Private-Token",
	} {
		path := front.URL + "/api/me/" + field
		_, body := send(t, http.MethodGet, path, field, "alice-secret")
		assert.Equal(t, `{"user":"alice-secret"}`, body)
		_, body = send(t, http.MethodGet, path) // the attacker, without a token
		assert.Equal(t, `{"user":"anonymous"}`, body, "%s: a signed-in client's response served to one without the field", field)
	}
	// An anonymous request's response still gets the default.
	_, first := send(t, http.MethodGet, front.URL+"/api/products", "Accept", "application/json")
	res, again := send(t, http.MethodGet, front.URL+"/api/products", "Accept", "application/json")
	assert.Equal(t, first, again)
	assert.Equal(t, "HIT", res.Header.Get(statusHeader))
}
