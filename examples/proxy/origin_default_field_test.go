package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOriginDefaultFieldJudgesNothing: without -default-ttl the cache
// follows CDN-Cache-Control or Cache-Control, never the proxy's own
// X-Proxy-Cache-Control, but tokenPrivate, markAnonymous and
// credentialHits read an origin's X-Proxy-Cache-Control first (only
// -default-ttl dropped it). An origin that sent "X-Proxy-Cache-Control:
// public" beside "Cache-Control: max-age=60, must-revalidate" had a token
// user's own data stored unprivate and served to an anonymous client, and
// its anonymous page served to signed-in users. The origin's field now
// goes with or without -default-ttl, as markAnonymous's does.
func TestOriginDefaultFieldJudgesNothing(t *testing.T) {
	for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
		front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(defaultField, "public, max-age=600")
			w.Header().Set("Cache-Control", "max-age=60, must-revalidate")
			if user := r.Header.Get("X-Api-Key") + r.Header.Get("Authorization"); user != "" {
				_, _ = w.Write([]byte("data of " + user))
				return
			}
			_, _ = w.Write([]byte("page for everyone"))
		}), nil, args...)
		t.Run(fmt.Sprint(args, "token page"), func(t *testing.T) {
			u := front.URL + "/me"
			_, body := send(t, http.MethodGet, u, "X-Api-Key", "alice")
			require.Equal(t, "data of alice", body)
			res, body := send(t, http.MethodGet, u)
			assert.Equal(t, "page for everyone", body, "a token user's data served to an anonymous client")
			assert.Empty(t, res.Header.Values(defaultField))
		})
		t.Run(fmt.Sprint(args, "anonymous page"), func(t *testing.T) {
			u := front.URL + "/home"
			send(t, http.MethodGet, u)
			res, _ := send(t, http.MethodGet, u)
			require.Equal(t, "HIT", res.Header.Get(statusHeader))
			for _, cred := range [][]string{{"X-Api-Key", "alice"}, {"Authorization", "Bearer alice"}} {
				_, body := send(t, http.MethodGet, u, cred...)
				assert.Contains(t, body, "data of ", "the anonymous page served to %v", cred)
			}
		})
	}
}
