package caching

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spellingPrint is what a handler may read of a request's target: its
// host, the scheme a middleware or an absolute target set, its path in
// every form (decoded, raw, escaped, as sent), its parsed query (each
// name's values in order) and a mux's wildcard. The canonical query form
// and the '&'s around empty parameters are left out: sharing them is
// documented (CanonicalQuery).
func spellingPrint(r *http.Request) string {
	scheme := r.URL.Scheme
	if scheme == "http" {
		scheme = "" // an absolute http target over plain HTTP: the connection's own
	}
	var b strings.Builder
	fmt.Fprintf(&b, "host=%q scheme=%q path=%q raw=%q esc=%q sent=%q pv=%q", r.Host, scheme,
		r.URL.Path, r.URL.RawPath, r.URL.EscapedPath(), requestPath(r), r.PathValue("x"))
	fmt.Fprint(&b, r.URL.Query()) // fmt sorts a map's keys
	return b.String()
}

// rawExchange sends req, a request as bytes, on a connection of its own
// to addr, and returns the status and body.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return fmt.Sprint(res.StatusCode, " ", string(b))
}

// TestTargetSpellingsNeverShareAnAnswer is an attacker's review of the
// view key in the default mode: for every pair of targets below, sent as
// bytes over a real connection (spellings no http.Client sends), the
// attacker's request first, then the victim's, the victim gets what the
// handler answers it without the cache, in Cached and in CachedMux (with
// a wildcard route). Redirects and errors are stored too (StoreStatuses).
func TestTargetSpellingsNeverShareAnAnswer(t *testing.T) {
	targets := []string{
		"/p", "/P", "/p/", "//p", "/./p", "/x/../p", "/%70", "/p?", "*",
		"http://a.example/p", "https://a.example/p", "http://b.example/p", "http://a.example:80/p",
		"/p?a=1", "/p?a=%31", "/p?a=1&a=2", "/p?a=2&a=1", "/p?a=1&a=1", "/p?a=1;a=2", "/p?a", "/p?a=",
		"/p?%61=1", "/p?a+b=1", "/p?a%20b=1", "/p?a=1&=2", "/p?!a=1", "/p?a=1%26b=2", "/p?a=1&b=2%26",
		"/d/a", "/d/a/b", "/d/a%2Fb", "/d/a%2fb", "/d/a%252Fb", "/d/a|b", "/d/a%7Cb", "/d/a%7cb",
		"/d/a%23b", "/d/a#b", "/d/a%3Fb", "/d/a?b", "/d/a;b", "/d/a%3Bb", "/d/%E2%82%AC", "/d/\xe2\x82\xac", "/d/a%00",
	}
	hosts := []string{"a.example", "A.example", "a.example:80", "a.example.", "a.example%23x", "[::1]", ""}
	var reqs []string
	for _, tg := range targets {
		reqs = append(reqs, "GET "+tg+" HTTP/1.1\r\nHost: a.example\r\n\r\n")
	}
	for _, h := range hosts {
		reqs = append(reqs, "GET /p HTTP/1.1\r\nHost: "+h+"\r\n\r\n")
	}
	reqs = append(reqs, "GET /p HTTP/1.0\r\n\r\n")
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, spellingPrint(r)) })
	for _, mux := range []bool{false, true} {
		handler := func() http.Handler {
			if !mux {
				return page
			}
			m := http.NewServeMux()
			m.Handle("/d/{x...}", page)
			m.Handle("/", page)
			return m
		}
		bare := httptest.NewServer(handler())
		want := make(map[string]string, len(reqs))
		for _, rq := range reqs {
			want[rq] = rawExchange(t, bare.Listener.Addr().String(), rq)
		}
		bare.Close()
		for _, attacker := range reqs {
			c := Must(nil)
			opts := []ViewOption{StoreStatuses(200, 301, 307, 400, 404)}
			var h http.Handler
			if mux {
				h = c.CachedMux(handler().(*http.ServeMux), time.Minute, opts...)
			} else {
				h = c.Cached(time.Minute, opts...)(page)
			}
			srv := httptest.NewServer(h)
			rawExchange(t, srv.Listener.Addr().String(), attacker)
			for _, victim := range reqs {
				assert.Equal(t, want[victim], rawExchange(t, srv.Listener.Addr().String(), victim),
					"mux=%v: %q after %q", mux, victim, attacker)
			}
			srv.Close()
			c.Close()
		}
	}
}
