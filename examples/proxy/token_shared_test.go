package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenOrigin is an API that signs its clients in with a token field of
// its own (X-Api-Key, X-Auth-Token...) and marks every response with the
// Cache-Control of the path's last segment ("max-age=60" for
// /api/me/max-age=60), as a framework's default does: the user's own data
// with max-age and neither private nor Vary. It records the Authorization
// lines it was sent.
func tokenOrigin(auth *[]string, mu *sync.Mutex) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*auth = append(*auth, r.Header.Values("Authorization")...)
		mu.Unlock()
		user := "anonymous"
		for name, v := range r.Header {
			if credentialField(name) {
				user = v[0]
			}
		}
		w.Header().Set("Cache-Control", r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		_, _ = w.Write([]byte(`{"user":"` + user + `"}`))
	})
}

// TestTokenRequestsSharedOnlyWhenPublic: only reads with a Cookie bypassed
// the cache, so a signed-in client's request with an API token field
// (X-Api-Key, X-Auth-Token, Private-Token...) whose response said max-age,
// without private or Vary, had it stored under the URL: the next client,
// without any token, got that user's data. A read with a credential field
// is now treated as one with Authorization (RFC 9111 section 3.5): its
// response is stored only when the origin says public or s-maxage, and it
// is served a stored response only when that one says so, never the
// anonymous page another client's request stored.
func TestTokenRequestsSharedOnlyWhenPublic(t *testing.T) {
	var (
		mu   sync.Mutex
		auth []string
	)
	front, _ := startProxy(t, tokenOrigin(&auth, &mu), nil)
	for _, field := range []string{"X-Api-Key", "X-Auth-Token", "Api-Key", "X_Auth_Token", "Private-Token", "X-Session-Id"} {
		t.Run(field, func(t *testing.T) {
			me := front.URL + "/api/" + field + "/me/max-age=60"
			_, body := send(t, http.MethodGet, me, field, "alice-secret")
			require.Equal(t, `{"user":"alice-secret"}`, body)
			_, body = send(t, http.MethodGet, me) // the attacker, without a token
			assert.Equal(t, `{"user":"anonymous"}`, body, "a signed-in client's response served to one without the field")
			_, body = send(t, http.MethodGet, me, field, "bob-secret")
			assert.Equal(t, `{"user":"bob-secret"}`, body, "a stored response that does not say public served to a signed-in client")

			public := front.URL + "/api/" + field + "/catalog/public,%20max-age=60"
			_, first := send(t, http.MethodGet, public, field, "alice-secret")
			res, again := send(t, http.MethodGet, public)
			assert.Equal(t, first, again, "the origin said public: stored for everyone")
			assert.Equal(t, "HIT", res.Header.Get(statusHeader))
		})
	}
	t.Run("Authorization as before", func(t *testing.T) {
		me := front.URL + "/api/authorization/me/max-age=60"
		_, body := send(t, http.MethodGet, me, "Authorization", "Bearer alice")
		require.Equal(t, `{"user":"Bearer alice"}`, body)
		res, _ := send(t, http.MethodGet, me)
		assert.NotEqual(t, "HIT", res.Header.Get(statusHeader))
	})
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"Bearer alice"}, auth, "the origin gets the client's Authorization, and nothing else")
}

// TestTokenResponseWithMustRevalidateStaysPrivate: must-revalidate lets a
// response to a request with Authorization be shared (RFC 9111 section
// 3.5), and tokenReads' reads are treated as such requests; but the origin
// never saw an Authorization, and "max-age=60, must-revalidate" is a
// framework's default on a signed-in user's own data: it was stored and
// served to the next client, token or none. Such a response is private
// now, unless the origin says public or s-maxage; a page stored for
// everyone is neither dropped nor replaced by a token read.
func TestTokenResponseWithMustRevalidateStaysPrivate(t *testing.T) {
	var (
		mu   sync.Mutex
		auth []string
	)
	front, _ := startProxy(t, tokenOrigin(&auth, &mu), nil)
	for _, cc := range []string{"max-age=60,%20must-revalidate", "must-revalidate,%20max-age=60", "proxy-revalidate,%20must-revalidate,%20max-age=60"} {
		t.Run(cc, func(t *testing.T) {
			me := front.URL + "/api/me/" + cc
			res, body := send(t, http.MethodGet, me, "X-Api-Key", "alice-secret")
			require.Equal(t, `{"user":"alice-secret"}`, body)
			assert.Contains(t, res.Header.Values("Cache-Control"), "private", "the client is told the response is its own")
			_, body = send(t, http.MethodGet, me) // the attacker, without a token
			assert.Equal(t, `{"user":"anonymous"}`, body, "a signed-in client's response served to one without the field")
		})
	}
	t.Run("s-maxage shares it", func(t *testing.T) {
		page := front.URL + "/api/catalog/s-maxage=60,%20must-revalidate"
		_, first := send(t, http.MethodGet, page, "X-Api-Key", "alice-secret")
		res, again := send(t, http.MethodGet, page)
		assert.Equal(t, first, again)
		assert.Equal(t, "HIT", res.Header.Get(statusHeader))
	})
	t.Run("a page stored for everyone stays", func(t *testing.T) {
		page := front.URL + "/api/home/max-age=60,%20must-revalidate"
		_, body := send(t, http.MethodGet, page)
		require.Equal(t, `{"user":"anonymous"}`, body)
		send(t, http.MethodGet, page, "X-Api-Key", "alice-secret")
		res, body := send(t, http.MethodGet, page)
		assert.Equal(t, `{"user":"anonymous"}`, body)
		assert.Equal(t, "HIT", res.Header.Get(statusHeader), "the shared page kept")
	})
}
