package caching_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestQuerySpellingsNotShared: the key held the query decoded and escaped
// again, so a request whose raw query holds "<" (which only an attacker's
// own client sends) and the escaped "%3C" every browser sends for that
// link shared one entry. A handler that echoes its raw query
// (r.URL.RawQuery, r.RequestURI: a canonical link, a "next=" parameter),
// harmless for a browser's escaped query, had the attacker's markup stored
// and served to every browser: a reflected XSS no victim could trigger,
// made stored. Spellings that differ in any byte now have entries of their
// own; reordering parameters still shares one.
func TestQuerySpellingsNotShared(t *testing.T) {
	for name, opts := range map[string][]caching.ViewOption{"default": nil, "shared": {caching.SharedCache()}} {
		t.Run(name, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			get := rawTargetGet(t, c, opts, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, `<a href="`+r.RequestURI+`">`)
			})
			for _, tc := range []struct{ attack, victim string }{
				{`/s?q="><script>alert(1)</script>`, "/s?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
				{"/s?q=a+b", "/s?q=a%20b"},
				{"/s?%71=1", "/s?q=1"},
				{"/s?q=%2f", "/s?q=%2F"},
				{"/s?q", "/s?q="},
			} {
				get(tc.attack)
				if got, want := get(tc.victim).Body.String(), `<a href="`+tc.victim+`">`; got != want {
					t.Errorf("GET %s after GET %s: %q, want %q", tc.victim, tc.attack, got, want)
				}
			}
			get("/s?b=2&a=1")
			if got := get("/s?a=1&b=2").Header().Get("X-Cache"); got != "HIT" {
				t.Errorf("GET /s?a=1&b=2 after /s?b=2&a=1: X-Cache %q, want HIT (parameters reordered)", got)
			}
		})
	}
}

// rawTargetGet returns a function that sends "GET target HTTP/1.1", the
// target byte for byte as net/http's server parses it (Host shop.example),
// to c's view of h with opts and X-Cache as its status header.
func rawTargetGet(t *testing.T, c *caching.Cache, opts []caching.ViewOption, h http.HandlerFunc) func(target string) *httptest.ResponseRecorder {
	view := c.Cached(time.Minute, append(opts, caching.CacheStatusHeader("X-Cache"))...)(h)
	return func(target string) *httptest.ResponseRecorder {
		t.Helper()
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		view.ServeHTTP(w, r)
		return w
	}
}
