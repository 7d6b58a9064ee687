package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHarmlessKeyFieldsAreNoToken: a field whose name holds a credential
// word by chance (Sec-WebSocket-Key, a handshake nonce; Idempotency-Key, a
// retry's identifier) made its read a token read: never answered with a
// stored page nor stored unless the origin said public, and never given
// -default-ttl. Such fields carry no credential: their reads are shared
// as any other, where a real token field's still are not.
func TestHarmlessKeyFieldsAreNoToken(t *testing.T) {
	for _, name := range []string{"Sec-WebSocket-Key", "Sec-Websocket-Key", "Idempotency-Key", "X-Idempotency-Key"} {
		assert.False(t, credentialField(name), "%s carries no credential", name)
	}
	for _, name := range []string{"X-Api-Key", "X-Auth-Token", "X-Session-Id", "Private-Token", "X-Idempotency-Key-Secret"} {
		assert.True(t, credentialField(name), "%s carries a credential", name)
	}

	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60") // neither public nor private
		fmt.Fprint(w, "page")
	})
	front, _ := startProxy(t, origin, nil)
	for _, field := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		t.Run(field, func(t *testing.T) {
			u := front.URL + "/page/" + field
			_, body := send(t, http.MethodGet, u)
			require.Equal(t, "page", body)
			res, _ := send(t, http.MethodGet, u, field, "4f1c-retry-1")
			assert.Equal(t, "HIT", res.Header.Get(statusHeader), "a read with %s is not answered with the stored page", field)
		})
	}
}

// perCredentialAPI starts a proxy in front of an API that answers every
// GET with "public, max-age=60" and "Vary: Authorization", the data of the
// X-Api-Key it was sent, and returns the URL of its /api/me, which alice
// (X-Api-Key: alice) has read through the proxy.
func perCredentialAPI(t *testing.T) string {
	t.Helper()
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Authorization")
		fmt.Fprint(w, "data of "+r.Header.Get("X-Api-Key"))
	})
	front, _ := startProxy(t, origin, nil)
	u := front.URL + "/api/me"
	_, body := send(t, http.MethodGet, u, "X-Api-Key", "alice")
	require.Equal(t, "data of alice", body)
	return u
}

// TestTokenUsersVaryOnAuthorization: every token read (an API's
// X-Api-Key, with no Authorization) carried the same mark as its
// Authorization, so an origin that said public, max-age and Vary:
// Authorization had one user's response served to every other token user:
// they all fell in one variant. The mark now holds a keyed hash of the
// token fields' values: each user has a variant of their own, and a user's
// second read is a hit.
func TestTokenUsersVaryOnAuthorization(t *testing.T) {
	u := perCredentialAPI(t)
	_, body := send(t, http.MethodGet, u, "X-Api-Key", "bob")
	assert.Equal(t, "data of bob", body, "alice's response served to bob")
	res, body := send(t, http.MethodGet, u, "X-Api-Key", "alice")
	assert.Equal(t, "data of alice", body)
	assert.Equal(t, "HIT", res.Header.Get(statusHeader), "alice's own variant")
	_, body = send(t, http.MethodGet, u, "X-Auth-Token", "alice")
	assert.Equal(t, "data of ", body, "another field with the same value is another credential")
}

// TestTokenMarkKeyed: the mark depends on the token fields' names and
// values, not their order, and never on other fields; rewrite removes
// every mark, whatever its hash.
func TestTokenMarkKeyed(t *testing.T) {
	mark := func(kv ...string) string {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = append(h[kv[i]], kv[i+1])
		}
		return tokenMarkOf(h, credentials{})
	}
	alice := mark("X-Api-Key", "alice")
	assert.Equal(t, alice, mark("X-Api-Key", "alice", "Accept", "text/html", "Idempotency-Key", "1"))
	assert.NotEqual(t, alice, mark("X-Api-Key", "bob"))
	assert.NotEqual(t, alice, mark("Api-Key", "alice"))
	assert.NotEqual(t, mark("X-Api-Key", "a", "X-Auth-Token", "bc"), mark("X-Api-Key", "ab", "X-Auth-Token", "c"))
	assert.Equal(t, mark("X-Api-Key", "a", "X-Auth-Token", "b"), mark("X-Auth-Token", "b", "X-Api-Key", "a"))
	assert.True(t, isTokenMark([]string{alice}))
	assert.True(t, isTokenMark([]string{tokenMark}), "a forged mark is the proxy's too")
	assert.False(t, isTokenMark([]string{"Bearer x"}))
	assert.False(t, isTokenMark([]string{alice, "Bearer x"}))
}

// TestForgedTokenMarkReachesNoVariant: a client that sent a mark itself
// (the one value every token read carried before, or one it learned) had
// the cache look up the variant of that mark: with an origin that says
// public and Vary: Authorization, a token user's data, without any token.
// A client's mark is dropped before the cache sees the request: it is
// answered as its own fields say.
func TestForgedTokenMarkReachesNoVariant(t *testing.T) {
	u := perCredentialAPI(t)
	aliceMark := tokenMarkOf(http.Header{"X-Api-Key": {"alice"}}, credentials{})
	_, body := send(t, http.MethodGet, u, "Authorization", aliceMark)
	assert.Equal(t, "data of ", body, "alice's variant served to a client with her mark and no token")
	_, body = send(t, http.MethodGet, u, "Authorization", aliceMark, "X-Api-Key", "mallory")
	assert.Equal(t, "data of mallory", body, "alice's variant served to mallory")
}
