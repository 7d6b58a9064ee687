package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuotedDirectiveSharesNothing: the proxy split cache-control fields
// on every comma, so a quoted value holding a directive's name
// (`community="UCI, public, x"`, RFC 9111's own example of an extension), or a
// targeted field's public=?0 or quoted string, read as public, while the
// cache read no public: a token user's own data, which the origin sent
// with must-revalidate, was not made private and was served to an
// anonymous client; and the anonymous page was left unmarked and served to
// signed-in users. The proxy reads the fields as the cache does now.
func TestQuotedDirectiveSharesNothing(t *testing.T) {
	for _, tc := range []struct{ field, value string }{
		{"Cache-Control", `max-age=60, must-revalidate, community="UCI, public, x"`},
		{"Cache-Control", `max-age=60, must-revalidate, ext="a, s-maxage=60"`},
		{"CDN-Cache-Control", `max-age=60, must-revalidate, public=?0`},
		{"CDN-Cache-Control", `max-age=60, must-revalidate, ext="a, public, b"`},
	} {
		for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
			testCredentialPages(t, fmt.Sprint(tc.field, ": ", tc.value, args), args, http.Header{tc.field: {tc.value}})
		}
	}
}

// TestInvalidTargetedFieldJudgesNothing: the proxy decided by
// CDN-Cache-Control (or its copy, with -default-ttl) whenever the origin
// sent one, while the cache follows a targeted field only when it is a
// valid Structured Field dictionary, and Cache-Control otherwise. An
// invalid "CDN-Cache-Control: Public" (a key is lower-case) beside
// "Cache-Control: max-age=60, must-revalidate" had a token user's data
// stored unprivate by must-revalidate and served to an anonymous client.
func TestInvalidTargetedFieldJudgesNothing(t *testing.T) {
	for _, value := range []string{"Public", "public, max-age=60,", `public, max-age="60`, "public, max-age=60.5.0"} {
		for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
			testCredentialPages(t, fmt.Sprint(value, args), args, http.Header{
				"Cdn-Cache-Control": {value}, "Cache-Control": {"max-age=60, must-revalidate"},
			})
		}
	}
}

// testCredentialPages checks, under a proxy run with args before an origin
// that sends the fields of h, that a token user's own data reaches no
// anonymous client and the anonymous page no signed-in client, and that
// the proxy's own fields reach no client.
func testCredentialPages(t *testing.T, name string, args []string, h http.Header) {
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range h {
			w.Header()[http.CanonicalHeaderKey(k)] = v
		}
		if user := r.Header.Get("X-Api-Key") + r.Header.Get("Authorization"); user != "" {
			_, _ = w.Write([]byte("data of " + user))
			return
		}
		_, _ = w.Write([]byte("page for everyone"))
	}), nil, args...)
	t.Run(name+" token page", func(t *testing.T) {
		u := front.URL + "/me"
		_, body := send(t, http.MethodGet, u, "X-Api-Key", "alice")
		require.Equal(t, "data of alice", body)
		res, body := send(t, http.MethodGet, u)
		assert.Equal(t, "page for everyone", body, "a token user's data served to an anonymous client")
		assert.Empty(t, res.Header.Values(defaultField))
		assert.Empty(t, res.Header.Values(anonymousField))
	})
	t.Run(name+" anonymous page", func(t *testing.T) {
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

// TestSharesWithAuthorization reads the fields as the cache does: a
// quoted-string holds no directive, a targeted field counts only when
// valid and its public only when true.
func TestSharesWithAuthorization(t *testing.T) {
	for _, tc := range []struct {
		field, value string
		want         bool
	}{
		{"Cache-Control", `private="a,public,b"`, false},
		{"Cache-Control", `no-cache="x\",public", max-age=60`, false},
		{"Cache-Control", `max-age=60 , Public`, true},
		{"Cache-Control", `x="a, b", s-maxage=60`, true},
		{"Cache-Control", `s-maxage`, true},
		{"Cdn-Cache-Control", `public`, true},
		{"Cdn-Cache-Control", `public=?1;a=1, max-age=60`, true},
		{"Cdn-Cache-Control", `public=?0`, false},
		{"Cdn-Cache-Control", `public="1"`, false},
		{"Cdn-Cache-Control", `s-maxage=60`, true},
		{"Cdn-Cache-Control", `private="a, public"`, false},
	} {
		h := http.Header{tc.field: {tc.value}}
		assert.Equal(t, tc.want, sharesWithAuthorization(h, tc.field), "%s: %s", tc.field, tc.value)
	}
	for value, followed := range map[string]string{
		"public": "Cdn-Cache-Control", "Public": "Cache-Control", "": "Cache-Control",
		"max-age=60,": "Cache-Control", "a=(1 2);b, c=:YQ==:": "Cdn-Cache-Control",
	} {
		assert.Equal(t, followed, http.CanonicalHeaderKey(freshnessFields(http.Header{"Cdn-Cache-Control": {value}})[0]), value)
	}
}
