package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTokenParamSpellings: PHP reads a query parameter's '.', ' ' (or
// '+') and an unclosed '[' in its name as '_' ($_GET['api_key'] for
// ?api.key=, ?api+key=, ?api[key=), and PHP and Rack read
// ?api_key[]= and ?api_key[0]= as api_key's value (a list); the proxy
// compared the name as written, so such a read of a signed-in user's
// page was no token read: stored by its max-age (or -default-ttl) under
// its URL, and answered from there after the key was revoked. They count
// as the name they are read as now.
func TestTokenParamSpellings(t *testing.T) {
	spellings := []string{"api.key", "api+key", "api%20key", "API.KEY", "api[key", "api_key[]", "api_key%5B%5D", "api_key[0]", "access.token", "private-token[x]"}
	cr := credentials{params: defaultTokenParams}
	for _, name := range spellings {
		assert.True(t, cr.tokenParam(&url.URL{RawQuery: name + "=alice"}), "?%s=alice is a token parameter", name)
	}
	for _, name := range []string{"apikeys", "key_id", "monkey", "a[api_key]", "sort.key.x"} {
		assert.False(t, cr.tokenParam(&url.URL{RawQuery: name + "=1"}), "?%s=1 is no token parameter", name)
	}

	front, _ := startProxy(t, countingOrigin(), nil, "-default-ttl", "1m")
	for i, name := range spellings {
		for _, cc := range []string{"", "max-age%3D60"} {
			u := fmt.Sprintf("%s/api/me?%s=alice&cc=%s&i=%d", front.URL, name, cc, i)
			_, first := send(t, http.MethodGet, u)
			res, second := send(t, http.MethodGet, u)
			assert.NotEqual(t, first, second, "?%s=, %q: the token read's response was stored (%s)", name, cc, res.Header.Get(statusHeader))
		}
	}
	_, err := parseFlags([]string{"-origin", "http://o", "-token-params", "[x]"}, func(string) string { return "" })
	assert.Error(t, err, "a name that is read as no name")

	// A pair with a ';' is no parameter to the origin: ReverseProxy drops
	// it (Go's net/url reads none), so no credential reaches it there.
	_, body := send(t, http.MethodGet, front.URL+"/api/me?a=1;api_key=alice&b=2")
	assert.False(t, strings.Contains(body, "alice"), "the origin read %q", body)
}

// TestMoreTokenParams: the default -token-params left out the query
// credentials of common servers: Laravel's token guard reads ?api_token=,
// OAuth 1.0a's query form carries ?oauth_token= (RFC 5849 section 3.5.3),
// OAuth 2 clients that send their credentials in the query
// ?client_secret= and ?refresh_token=, and some APIs ?x-api-key= or
// ?password=. A signed-in user's page read so was stored by its max-age
// (or -default-ttl) and answered after the credential's revocation.
func TestMoreTokenParams(t *testing.T) {
	front, _ := startProxy(t, countingOrigin(), nil, "-default-ttl", "1m")
	for i, name := range []string{"api_token", "oauth_token", "client_secret", "refresh_token", "x-api-key", "password"} {
		for _, cc := range []string{"", "max-age%3D60"} {
			u := fmt.Sprintf("%s/api/me?%s=alice&cc=%s&i=%d", front.URL, name, cc, i)
			_, first := send(t, http.MethodGet, u)
			res, second := send(t, http.MethodGet, u)
			assert.NotEqual(t, first, second, "?%s=, %q: the token read's response was stored (%s)", name, cc, res.Header.Get(statusHeader))
		}
	}
}
