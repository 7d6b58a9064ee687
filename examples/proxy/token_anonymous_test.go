package main

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// personalOrigin answers a read with a credential (Authorization, or an
// API's X-Api-Key) with that user's own data and "private", and an
// anonymous read with the page for everyone and the Cache-Control of the
// request's "cc" query (no Vary, as a framework's default sends): the
// origin never made the anonymous page for a signed-in user.
func personalOrigin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"anon"`)
		if user := r.Header.Get("X-Api-Key") + r.Header.Get("Authorization"); user != "" {
			w.Header().Set("Cache-Control", "private")
			_, _ = w.Write([]byte("data of " + user))
			return
		}
		w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
		_, _ = w.Write([]byte("page for everyone"))
	})
}

// TestCredentialReadNotAnsweredWithAnonymousPage: the cache answers a
// request with Authorization (tokenReads' mark included) with any stored
// response that says must-revalidate (RFC 9111 section 3.5 lets a shared
// cache store a response to Authorization that says so), whoever's request
// stored it. An anonymous page the origin sent "max-age=60,
// must-revalidate" was served to token users and to users with an
// Authorization, for whom the origin makes their own page. A read with a
// credential is answered from the cache only with a response the origin
// marked public or s-maxage now; the anonymous page stays stored for
// anonymous clients.
func TestCredentialReadNotAnsweredWithAnonymousPage(t *testing.T) {
	n := 0
	for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
		front, _ := startProxy(t, personalOrigin(), nil, args...)
		for _, cc := range []string{"max-age=60, must-revalidate", "must-revalidate, max-age=60, proxy-revalidate"} {
			for _, cred := range [][]string{
				{"X-Api-Key", "alice"},
				{"Authorization", "Bearer alice"},
				{"Authorization", basicAuth, "X-Api-Key", "alice"},
			} {
				n++
				u := fmt.Sprintf("%s/page/%d?cc=%s", front.URL, n, url.QueryEscape(cc))
				t.Run(fmt.Sprint(args, cc, cred), func(t *testing.T) {
					_, body := send(t, http.MethodGet, u)
					require.Equal(t, "page for everyone", body)
					res, _ := send(t, http.MethodGet, u)
					require.Equal(t, "HIT", res.Header.Get(statusHeader), "the anonymous page is stored")

					res, body = send(t, http.MethodGet, u, cred...)
					assert.Contains(t, body, "data of ", "the anonymous page served to a signed-in user")
					assert.NotEqual(t, "HIT", res.Header.Get(statusHeader))
					res, _ = send(t, http.MethodHead, u, cred...)
					assert.NotEqual(t, "HIT", res.Header.Get(statusHeader), "HEAD answered from the anonymous page")
					res, _ = send(t, http.MethodGet, u, append([]string{"If-None-Match", `"anon"`}, cred...)...)
					assert.NotEqual(t, "HIT", res.Header.Get(statusHeader), "a revalidation answered from the anonymous page")

					res, body = send(t, http.MethodGet, u)
					assert.Equal(t, "page for everyone", body)
					assert.Equal(t, "HIT", res.Header.Get(statusHeader), "the anonymous page kept for anonymous clients")
				})
			}
		}
		for _, cc := range []string{"public, max-age=60", "s-maxage=60", "max-age=60, s-maxage=60, must-revalidate"} {
			n++
			u := fmt.Sprintf("%s/shared/%d?cc=%s", front.URL, n, url.QueryEscape(cc))
			t.Run(fmt.Sprint(args, cc), func(t *testing.T) {
				send(t, http.MethodGet, u)
				res, body := send(t, http.MethodGet, u, "X-Api-Key", "alice")
				assert.Equal(t, "page for everyone", body, "the origin said the page may answer Authorization")
				assert.Equal(t, "HIT", res.Header.Get(statusHeader))
				res, body = send(t, http.MethodGet, u, "Authorization", "Bearer alice")
				assert.Equal(t, "page for everyone", body)
				assert.Equal(t, "HIT", res.Header.Get(statusHeader))
			})
		}
	}
}

// TestCredentialReadAnsweredWithCredentialedPage: a page the origin made
// for a request with Authorization and said must-revalidate may be shared
// (RFC 9111 section 3.5): it answers the next request with Authorization
// (a site behind one Basic password for all) and anonymous ones, as
// before credentialHits; only a page made for a read without a credential
// needs public or s-maxage to answer one with, and so does any page to
// answer a token read (the origin made none for a token: see
// tokenPrivate). The proxy's mark of such a page reaches no client.
func TestCredentialReadAnsweredWithCredentialedPage(t *testing.T) {
	var runs atomic.Int64
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Cache-Control", "max-age=60, must-revalidate")
		_, _ = w.Write([]byte("page"))
	}), nil)
	u := front.URL + "/staging"
	send(t, http.MethodGet, u, "Authorization", basicAuth)
	res, _ := send(t, http.MethodGet, u, "Authorization", basicAuth)
	assert.Equal(t, "HIT", res.Header.Get(statusHeader), "the page the origin shared with Authorization")
	res, _ = send(t, http.MethodGet, u, "Authorization", "Bearer other")
	assert.Equal(t, "HIT", res.Header.Get(statusHeader))
	assert.Equal(t, int64(1), runs.Load())
	// The origin saw an Authorization (a client's own: an attacker's
	// "Authorization: x" too, which an origin may answer with its anonymous
	// page), not a token: must-revalidate says nothing of token users.
	res, _ = send(t, http.MethodGet, u, "X-Api-Key", "alice")
	assert.NotEqual(t, "HIT", res.Header.Get(statusHeader), "a page made for another credential answered a token read")

	anon := front.URL + "/anonymous"
	res, _ = send(t, http.MethodGet, anon)
	assert.Empty(t, res.Header.Values(anonymousField), "the proxy's mark sent to a client")
	res, _ = send(t, http.MethodGet, anon)
	require.Equal(t, "HIT", res.Header.Get(statusHeader))
	assert.Empty(t, res.Header.Values(anonymousField), "the proxy's mark sent to a client")
	res, _ = send(t, http.MethodGet, anon, "Authorization", basicAuth)
	assert.NotEqual(t, "HIT", res.Header.Get(statusHeader), "a page made for no credential answered one")
}
