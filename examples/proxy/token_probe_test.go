package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenMarkStaysInFrontOfOrigin pins what an attacker gets from the
// mark tokenReads gives a read with a token field: a stored page the
// anonymous clients share is revalidated (304 and 200) and refreshed in
// the background for token requests without the origin ever seeing the
// mark, the token's 200 (its user's data) neither replaces nor drops the
// shared page, a 304 to a token request freshens it with none of that
// user's fields, and a client that forges the mark sends no Authorization
// on (it is the proxy's), where a real one goes as sent.
func TestTokenMarkStaysInFrontOfOrigin(t *testing.T) {
	var (
		mu   sync.Mutex
		auth []string
		runs atomic.Int64
	)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		mu.Lock()
		auth = append(auth, r.Header.Values("Authorization")...)
		mu.Unlock()
		key := r.Header.Get("X-Api-Key")
		switch {
		case key == "" || r.URL.Query().Has("same"):
			// The anonymous page, revalidated before every reuse, or
			// within a second behind stale-while-revalidate.
			w.Header().Set("Cache-Control", "public, max-age=1, stale-while-revalidate=60")
			if r.URL.Query().Has("no-cache") {
				w.Header().Set("Cache-Control", "public, no-cache")
			}
			w.Header().Set("ETag", `"anon"`)
			if r.Header.Get("If-None-Match") == `"anon"` {
				w.Header().Set("X-Account", key) // the user's own field
				if key != "" {
					w.Header().Set("Cache-Control", "max-age=600")
				}
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprint(w, "anonymous")
		default:
			w.Header().Set("Cache-Control", "max-age=600") // neither public nor Vary
			fmt.Fprint(w, "user "+key)
		}
	})
	front, _ := startProxy(t, origin, nil)

	t.Run("token 200 on a shared page", func(t *testing.T) {
		u := front.URL + "/page?no-cache"
		_, body := send(t, http.MethodGet, u)
		require.Equal(t, "anonymous", body)
		_, body = send(t, http.MethodGet, u, "X-Api-Key", "alice")
		require.Equal(t, "user alice", body)
		before := runs.Load()
		res, body := send(t, http.MethodGet, u)
		assert.Equal(t, "anonymous", body, "alice's page served to an anonymous client")
		assert.Equal(t, before+1, runs.Load())
		assert.Equal(t, "HIT", res.Header.Get(statusHeader), "the shared page, revalidated (304): dropped by alice's 200? %q", res.Header.Get(statusHeader))
	})
	t.Run("token 304 freshens nothing for others", func(t *testing.T) {
		u := front.URL + "/page?no-cache&same"
		_, body := send(t, http.MethodGet, u)
		require.Equal(t, "anonymous", body)
		res, body := send(t, http.MethodGet, u, "X-Api-Key", "alice")
		require.Equal(t, "anonymous", body)
		require.Equal(t, "alice", res.Header.Get("X-Account"))
		res, _ = send(t, http.MethodGet, u)
		assert.Empty(t, res.Header.Get("X-Account"), "alice's field served to another client")
	})
	t.Run("forged mark", func(t *testing.T) {
		u := front.URL + "/page?forged"
		_, body := send(t, http.MethodGet, u, "Authorization", tokenMark)
		assert.Equal(t, "anonymous", body)
		_, body = send(t, http.MethodGet, front.URL+"/page?forged2", "Authorization", tokenMark, "X-Api-Key", "mallory")
		require.Equal(t, "user mallory", body)
		res, body := send(t, http.MethodGet, front.URL+"/page?forged2")
		assert.Equal(t, "anonymous", body, "mallory's page stored with %s", res.Header.Get(statusHeader))
	})
	mu.Lock()
	assert.Empty(t, auth, "the mark reached the origin")
	auth = nil
	mu.Unlock()

	t.Run("real Authorization goes as sent", func(t *testing.T) {
		_, body := send(t, http.MethodGet, front.URL+"/page?real", "Authorization", "Bearer x", "X-Api-Key", "bob")
		assert.Equal(t, "user bob", body)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"Bearer x"}, auth)
	})
}
