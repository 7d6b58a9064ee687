package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendRaw sends the request line "GET target HTTP/1.1" byte for byte (no
// client escapes it) and returns the body.
func sendRaw(t *testing.T, addr, target string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// TestQuerySpellingsNotShared: the key held the query decoded and
// escaped again, so "?q=<script>" (raw, as only an attacker's own client
// sends it) and "?q=%3Cscript%3E" (what every browser sends for that link)
// shared one entry. An origin that echoes its raw query (a canonical link,
// a "next=" built from REQUEST_URI: harmless for browsers, whose query is
// escaped) had the attacker's unescaped markup stored and served to every
// browser that followed the escaped link: a reflected XSS that no victim's
// browser could trigger, made stored.
func TestQuerySpellingsNotShared(t *testing.T) {
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, `<a href="/search?%s">again</a>`, r.URL.RawQuery)
	}), nil)
	addr := strings.TrimPrefix(front.URL, "http://")
	for _, tc := range []struct{ attack, victim string }{
		{`/search?q="><script>alert(1)</script>`, "/search?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
		{`/search?q=a+b`, "/search?q=a%20b"},
		{`/search?q=%41`, "/search?q=A"},
	} {
		attacked := sendRaw(t, addr, tc.attack)
		require.Contains(t, attacked, tc.attack[len("/search?"):], "the origin echoes what it got")
		_, b := send(t, http.MethodGet, front.URL+tc.victim)
		assert.Equal(t, `<a href="`+tc.victim+`">again</a>`, b, "a browser's request gets its own query's page")
	}
}
