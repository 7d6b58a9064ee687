package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenMarkSpellingsReachNoVariant: however a client spells what it
// sends (its own marks over several Authorization lines, a mark with more
// after it, the mark in a token field, a token field empty, in another
// spelling, or named in Connection so that it is dropped before the
// origin), it gets no token user's variant of a page the origin shares
// per Authorization (public, Vary: Authorization): only the data of the
// credential the origin itself reads.
func TestTokenMarkSpellingsReachNoVariant(t *testing.T) {
	u := perCredentialAPI(t) // alice's variant is stored
	alice := tokenMarkOf(http.Header{"X-Api-Key": {"alice"}}, credentials{})
	for name, hdr := range map[string][]string{
		"two marks":              {"Authorization", alice, "Authorization", alice},
		"mark and an empty line": {"Authorization", alice, "Authorization", ""},
		"mark and more":          {"Authorization", alice + ", Bearer x"},
		"mark in a token field":  {"X-Api-Key", alice},
		"empty token field":      {"X-Api-Key", ""},
		"underscore spelling":    {"X_Api_Key", "alice"},
		"token in connection":    {"X-Api-Key", "alice", "Connection", "X-Api-Key"},
		"mark in connection":     {"Authorization", alice, "Connection", "Authorization"},
	} {
		t.Run(name, func(t *testing.T) {
			res, body := send(t, http.MethodGet, u, hdr...)
			assert.NotEqual(t, "HIT", res.Header.Get(statusHeader), "a stored variant answered")
			assert.NotEqual(t, "data of alice", body, "alice's variant served")
		})
	}
	res, body := send(t, http.MethodGet, u, "x-api-key", "alice")
	assert.Equal(t, "data of alice", body, "a field name's case is the server's to fold")
	assert.Equal(t, "HIT", res.Header.Get(statusHeader), "alice's own variant, whatever her client's case")
}

// TestTokenMarkNeverReachesOrigin: no request the proxy sends the origin
// carries a mark it made, whatever the client sent with its token field:
// a plain read, a HEAD, a read that bypasses the cache (Connection), a
// conditional one, a write.
func TestTokenMarkNeverReachesOrigin(t *testing.T) {
	origin, seen := perKeyOrigin("public, max-age=60", "Authorization")
	front, _ := startProxy(t, origin, nil)
	for _, req := range []struct {
		method string
		hdr    []string
	}{
		{http.MethodGet, []string{"X-Api-Key", "alice"}},
		{http.MethodHead, []string{"X-Api-Key", "bob"}},
		{http.MethodGet, []string{"X-Api-Key", "carol", "Connection", "Keep-Alive, X-Trace"}},
		{http.MethodGet, []string{"X-Api-Key", "dave", "If-None-Match", `"e"`}},
		{http.MethodGet, []string{"X-Api-Key", "erin", "Authorization", tokenMark}},
		{http.MethodPost, []string{"X-Api-Key", "frank", "Authorization", tokenMark}},
	} {
		res, _ := send(t, req.method, front.URL+"/api/me", req.hdr...)
		require.Less(t, res.StatusCode, 500)
	}
	assert.Empty(t, seen(), "the origin got Authorization lines it was never sent")
}

// TestTokenMarkBoundedByHeaderLimit: the mark's hash reads the token
// fields whole, but the server refuses a header past its limit (1 MiB by
// default) before any handler runs: a client cannot make it hash more.
func TestTokenMarkBoundedByHeaderLimit(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the origin got a request past the header limit")
	})
	front, _ := startProxy(t, origin, nil)
	res, _ := send(t, http.MethodGet, front.URL+"/api/me", "X-Api-Key", strings.Repeat("k", 2<<20))
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
}
