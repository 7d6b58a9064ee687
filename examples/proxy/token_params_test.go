package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingOrigin answers every request with its count and the query, and
// with the Cache-Control of its cc parameter (none when absent).
func countingOrigin() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		fmt.Fprintf(w, "#%d %s", n.Add(1), r.URL.RawQuery)
	})
}

// TestTokenParamsAreCredentials: a credential in the query string
// (?access_token=, ?api_key=...) made no token read: a signed-in user's
// page the origin sent with max-age, or none with -default-ttl, was
// stored under the URL, the key in it, and answered from there after the
// key was revoked; one sent with must-revalidate too. Such a read is a
// token read now, as one with X-Api-Key: stored only when the origin says
// public or s-maxage.
func TestTokenParamsAreCredentials(t *testing.T) {
	front, _ := startProxy(t, countingOrigin(), nil, "-default-ttl", "1m")
	for i, param := range []string{"access_token", "api_key", "API_KEY", "api%5Fkey", "api-key", "apikey", "key", "token", "auth", "private_token"} {
		for _, cc := range []string{"", "max-age%3D60", "max-age%3D60%2C+must-revalidate"} {
			u := fmt.Sprintf("%s/api/me?%s=alice&cc=%s&i=%d", front.URL, param, cc, i)
			_, first := send(t, http.MethodGet, u)
			res, second := send(t, http.MethodGet, u)
			assert.NotEqual(t, first, second, "%s, %q: the token read's response was stored (%s)", param, cc, res.Header.Get(statusHeader))
		}
	}
	// The origin's public still shares it.
	u := front.URL + "/api/catalog?key=k&cc=public%2C+max-age%3D60"
	_, first := send(t, http.MethodGet, u)
	res, second := send(t, http.MethodGet, u)
	assert.Equal(t, first, second)
	assert.Equal(t, "HIT", res.Header.Get(statusHeader))
}

// TestTokenParamsFlag: -token-params replaces the list; "" names none.
func TestTokenParamsFlag(t *testing.T) {
	for _, tc := range []struct {
		flag          string
		token, notTok []string
	}{
		{"sid, X-Sig", []string{"sid", "SID", "x_sig"}, []string{"api_key", "key"}},
		{"", nil, []string{"api_key", "access_token"}},
	} {
		front, _ := startProxy(t, countingOrigin(), nil, "-token-params", tc.flag)
		for _, param := range append(tc.token, tc.notTok...) {
			u := fmt.Sprintf("%s/p?%s=1&cc=max-age%%3D60", front.URL, param)
			_, first := send(t, http.MethodGet, u)
			_, second := send(t, http.MethodGet, u)
			assert.Equal(t, !strings.Contains(strings.Join(tc.token, ","), param), first == second, "-token-params %q, ?%s=", tc.flag, param)
		}
	}
	_, err := parseFlags([]string{"-origin", "http://o", "-token-params", "a=b"}, func(string) string { return "" })
	require.Error(t, err)
}

// TestIdentityFieldsFlag: a front end's identity field whose name holds
// none of the credential words (oauth2-proxy's X-Forwarded-User is
// dropped; Vouch's X-Vouch-User, a gateway's X-User are not) made no token
// read: a user's page the origin answered by it with max-age was served to
// the next client. -identity-fields names them.
func TestIdentityFieldsFlag(t *testing.T) {
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		user := r.Header.Get("X-Vouch-User") + r.Header.Get("X-User") + r.Header.Get("X_User")
		if user == "" {
			user = "anonymous"
		}
		_, _ = w.Write([]byte("page of " + user))
	}), nil, "-identity-fields", "X-User, x-vouch-user")
	for _, field := range []string{"X-Vouch-User", "X-User", "X_User"} {
		u := front.URL + "/me/" + field
		_, body := send(t, http.MethodGet, u, field, "alice")
		require.Equal(t, "page of alice", body, field)
		_, body = send(t, http.MethodGet, u)
		assert.Equal(t, "page of anonymous", body, "%s: alice's page served to another client", field)
	}
	_, err := parseFlags([]string{"-origin", "http://o", "-identity-fields", "X User"}, func(string) string { return "" })
	require.Error(t, err)
}

// TestSessionIDsInURLAreCredentials: a session id in the URL (PHP's
// ?PHPSESSID=, a servlet's ?JSESSIONID= or its path parameter
// ;jsessionid=, phpBB's ?sid=), which sites use for a client that takes no
// cookie, made no token read: a signed-in user's page reached by such a
// URL was stored by its max-age (or -default-ttl) and served to whoever had
// the URL after the session ended. They are token reads now.
func TestSessionIDsInURLAreCredentials(t *testing.T) {
	front, _ := startProxy(t, countingOrigin(), nil, "-default-ttl", "1m")
	for i, path := range []string{
		"/account?PHPSESSID=s1&",
		"/account?phpsessid=s1&",
		"/account?JSESSIONID=s1&",
		"/account;jsessionid=s1?",
		"/account;JSESSIONID=S1?",
		"/shop;jsessionid=s1/cart?",
		"/account%3Bjsessionid=s1?",
		"/viewtopic.php?sid=s1&",
		"/account?sessionid=s1&",
		"/account?session_id=s1&",
	} {
		assertSessionNotStored(t, front.URL+path, i)
	}
	// A path parameter of another name is no credential, nor is a
	// parameter whose value only looks like one.
	for i, path := range []string{"/page;v=2?", "/page?q=jsessionid&"} {
		assertShared(t, front.URL+path, i)
	}
}

// assertSessionNotStored asserts that countingOrigin's page at u (which
// ends with '?' or '&'), without Cache-Control and with max-age, is not
// stored: two reads get two runs. i tells the URL apart from other cases'.
func assertSessionNotStored(t *testing.T, u string, i int) {
	t.Helper()
	for _, cc := range []string{"", "max-age%3D60"} {
		u := fmt.Sprintf("%scc=%s&i=%d", u, cc, i)
		_, first := send(t, http.MethodGet, u)
		res, second := send(t, http.MethodGet, u)
		assert.NotEqual(t, first, second, "%s: the session's page was stored (%s)", u, res.Header.Get(statusHeader))
	}
}

// assertShared asserts that countingOrigin's page at u (which ends with
// '?' or '&') with max-age is stored and answers the next read. i tells
// the URL apart from other cases'.
func assertShared(t *testing.T, u string, i int) {
	t.Helper()
	u = fmt.Sprintf("%scc=max-age%%3D60&j=%d", u, i)
	_, first := send(t, http.MethodGet, u)
	res, second := send(t, http.MethodGet, u)
	assert.Equal(t, first, second, u)
	assert.Equal(t, "HIT", res.Header.Get(statusHeader), u)
}

// TestTokenParamAfterSemicolon: a session id or key in the query after a
// ';' (?page=2;sid=..., as Perl's CGI.pm writes its links, and as Rack 2,
// CGI.pm and Python's parse_qs before 3.9.2 read a query), or after a
// leading '+' (?+PHPSESSID=..., PHP drops a name's leading spaces), was no
// token read: the proxy split the query on '&' alone and read " phpsessid"
// as another name, while the origin read the credential and made the
// signed-in user's page, stored by its max-age and served to whoever had
// the URL. A ';' now ends a parameter as a '&' does, and a name's leading
// spaces are dropped: a ';' or space that was part of a value (?q=a;sid=b)
// only costs that URL its hits.
func TestTokenParamAfterSemicolon(t *testing.T) {
	front, _ := startProxy(t, countingOrigin(), nil, "-default-ttl", "1m")
	for i, query := range []string{
		"page=2;sid=s1&",
		"page=2;PHPSESSID=s1&",
		";jsessionid=s1&",
		"x=1;+api_key=k&",
		"+PHPSESSID=s1&",
		"%20%20sid=s1&",
		"a=1&amp;sid=s1&",
	} {
		assertSessionNotStored(t, front.URL+"/account?"+query, i)
	}
	// A ';' or space in a query without a credential's name still shares.
	for i, query := range []string{"q=a;b&", "q=1;v=2&", "+q=1&"} {
		assertShared(t, front.URL+"/page?"+query, i)
	}
}

// TestASPNETCookielessSessionIsCredential: ASP.NET's cookieless session
// state, forms authentication and anonymous identification keep their
// ids in a segment of the path, /(S(id))/page.aspx, /(F(ticket))/...,
// /(A(id))/..., or several at once, /(X(1)S(id))/... (the segment
// ASP.NET strips before it routes the request), for a client that takes
// no cookie. They made no token read: a signed-in user's page reached by
// such a URL was stored by its max-age (or -default-ttl) and served to
// whoever had the URL after the session ended. A segment of that form is
// a token read now, whatever -token-params says, as it names no parameter.
func TestASPNETCookielessSessionIsCredential(t *testing.T) {
	for _, flags := range [][]string{nil, {"-token-params", ""}} {
		front, _ := startProxy(t, countingOrigin(), nil, append([]string{"-default-ttl", "1m"}, flags...)...)
		for i, path := range []string{
			"/(S(lit3py55t21z5v55vlm25s55))/orderform.aspx?",
			"/app/(S(s1))/account.aspx?",
			"/(F(ticket1))/account.aspx?",
			"/(A(anon1))/page.aspx?",
			"/(X(1)S(s1))/page.aspx?",
			"/(X(1)A(a1)F(f1))/page.aspx?",
			"/%28S%28s1%29%29/page.aspx?",
			"/(S(s1))/?",
		} {
			assertSessionNotStored(t, front.URL+path, i)
		}
		// Parentheses that are not such a segment still share.
		for i, path := range []string{"/(1)/page?", "/wiki/Go_(language)?", "/(s1)/page?", "/a(S(s1))/page?", "/(S(s1)x)/page?"} {
			assertShared(t, front.URL+path, i)
		}
	}
}

// TestASPNETCookielessAfterBackslash: IIS reads a '\' in the path, or a
// %5C, as a '/' before ASP.NET looks for its cookieless segment, so that
// /app\(S(id))\account.aspx is the session's account page. The proxy split
// the path at '/' only: the segment was part of app\(S(id))\account.aspx,
// no token read, and the page was stored by its max-age.
func TestASPNETCookielessAfterBackslash(t *testing.T) {
	front, _ := startProxy(t, countingOrigin(), nil, "-default-ttl", "1m")
	for i, path := range []string{
		"/app%5C(S(s1))%5Caccount.aspx?",
		"/app%5c(F(f1))/account.aspx?",
		"/(S(s1))%5Caccount.aspx?",
	} {
		assertSessionNotStored(t, front.URL+path, i)
	}
	assertShared(t, front.URL+"/a%5Cb(S(s1))/page?", 0)
}
