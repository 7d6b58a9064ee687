package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOriginQueryMakesNoTokenReads: -origin may carry a query of its own
// (https://api.example/?key=..., the proxy's own key for the origin),
// which ReverseProxy adds to every request it sends. The proxy judged
// whether a response answered a token read by that outgoing request, so
// every response counted as one: made private, never given -default-ttl,
// never marked anonymous, and nothing but public pages was cached. The
// client's request decides now, as it does for the cache.
func TestOriginQueryMakesNoTokenReads(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		fmt.Fprintf(w, "page of %s for %s", r.URL.Query().Get("key"), r.URL.Query().Get("api_key")+r.Header.Get("X-Api-Key"))
	}))
	t.Cleanup(o.Close)
	for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
		// The last -origin wins over startProxy's own.
		front, _ := startProxy(t, http.NotFoundHandler(), nil, append([]string{"-origin", o.URL + "/?key=proxy-key"}, args...)...)
		for _, cc := range []string{"max-age%3D60", "max-age%3D60%2C+must-revalidate", ""} {
			if cc == "" && args == nil {
				continue // nothing to store without -default-ttl
			}
			u := fmt.Sprintf("%s/p?cc=%s", front.URL, cc)
			_, body := send(t, http.MethodGet, u)
			require.Equal(t, "page of proxy-key for ", body)
			res, _ := send(t, http.MethodGet, u)
			assert.Equal(t, "HIT", res.Header.Get(statusHeader), "%v, cc=%s: an anonymous read's page was not stored", args, cc)
			// A token read is still one: it gets no anonymous page.
			_, body = send(t, http.MethodGet, u+"&api_key=alice")
			assert.Equal(t, "page of proxy-key for alice", body)
			_, body = send(t, http.MethodGet, u, "X-Api-Key", "alice")
			assert.Equal(t, "page of proxy-key for alice", body, "%v, cc=%s: the anonymous page served to a token read", args, cc)
		}
	}
}
