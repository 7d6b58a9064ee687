package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawRequest sends req byte for byte on a connection of its own (no client
// normalises it) and returns the response's status and body; status 0
// when the proxy closed the connection without a response.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: strings.Fields(req)[0]})
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestPoisoningFamiliesThroughProxy pins the classic web cache poisoning
// and deception families (PortSwigger's "Practical Web Cache Poisoning",
// "Web Cache Entanglement", "Web Cache Deception", "Gotta cache 'em all")
// against the proxy, with raw requests: for each, an attacker's request
// that makes the origin answer differently, then a victim's ordinary
// request of the URL the attacker aimed at, which must get the origin's
// answer for the victim, never the attacker's. The origin echoes what it
// read and says public, max-age=600, as a site-wide default would.
func TestPoisoningFamiliesThroughProxy(t *testing.T) {
	front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		body, _ := io.ReadAll(r.Body)
		if c := r.Header.Get("Cookie"); c != "" {
			fmt.Fprintf(w, "account of %s", c) // a deceived route: personal, yet public
			return
		}
		// As IIS, Symfony and method-override middleware read these.
		method, uri := r.Method, r.RequestURI
		if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
			method = m
		}
		for _, name := range []string{"X-Original-URL", "X-Rewrite-URL"} {
			if u := r.Header.Get(name); u != "" {
				uri = u
			}
		}
		fmt.Fprintf(w, "m=%s uri=%s xfh=%s body=%s", method, uri, r.Header.Get("X-Forwarded-Host"), body)
	}), nil)
	addr := strings.TrimPrefix(front.URL, "http://")
	host := "Host: " + addr + "\r\n"
	for _, tc := range []struct{ name, attack, victim string }{
		// Fat GET: a body the origin reads, which no key holds.
		{"fat GET", "GET /fat HTTP/1.1\r\n" + host + "Content-Length: 4\r\n\r\nevil", "/fat"},
		{"fat GET chunked", "GET /chunked HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n", "/chunked"},
		{"Content-Length with Transfer-Encoding", "GET /te-cl HTTP/1.1\r\n" + host + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n", "/te-cl"},
		{"fat HEAD", "HEAD /fat-head HTTP/1.1\r\n" + host + "Content-Length: 4\r\n\r\nevil", "/fat-head"},
		// Method: net/http's methods are case-sensitive, "get" is not GET.
		{"lower-case method", "get /method HTTP/1.1\r\n" + host + "\r\n", "/method"},
		// Host: the key holds the Host (or the absolute target's) byte for byte.
		{"HTTP/1.0 without Host", "GET /no-host HTTP/1.0\r\n\r\n", "/no-host"},
		{"absolute target, another host", "GET http://evil.example/absolute HTTP/1.1\r\n" + host + "\r\n", "/absolute"},
		{"trailing dot in Host", "GET /dot HTTP/1.1\r\nHost: " + strings.Replace(addr, ":", ".:", 1) + "\r\n\r\n", "/dot"},
		{"upper-case absolute scheme", "GET HTTP://evil.example/scheme HTTP/1.1\r\n" + host + "\r\n", "/scheme"},
		// Path normalisation: the key holds the escaped path as sent.
		{"encoded dot segment", "GET /x/%2e%2e/norm HTTP/1.1\r\n" + host + "\r\n", "/norm"},
		{"encoded slash", "GET /x%2Fslash HTTP/1.1\r\n" + host + "\r\n", "/x/slash"},
		{"double slash", "GET //double HTTP/1.1\r\n" + host + "\r\n", "/double"},
		// Parameter cloaking: ';' and encoded delimiters are not separators in the key.
		{"semicolon", "GET /q?a=1;a=evil HTTP/1.1\r\n" + host + "\r\n", "/q?a=1"},
		{"encoded ampersand", "GET /q2?a=1%26a=evil HTTP/1.1\r\n" + host + "\r\n", "/q2?a=1"},
		{"repeated parameter", "GET /q3?a=1&a=evil HTTP/1.1\r\n" + host + "\r\n", "/q3?a=1"},
		{"encoded question mark", "GET /q4%3Fa=evil HTTP/1.1\r\n" + host + "\r\n", "/q4"},
		// Hop-by-hop: a field the proxy removes before the origin sees it.
		{"Connection names a field", "GET /hop HTTP/1.1\r\n" + host + "Connection: X-Forwarded-Host\r\n\r\n", "/hop"},
		// Unkeyed forwarding fields: dropped, the proxy's own set.
		{"X-Forwarded-Host", "GET /xfh HTTP/1.1\r\n" + host + "X-Forwarded-Host: evil.example\r\n\r\n", "/xfh"},
		{"X-Original-URL", "GET /orig HTTP/1.1\r\n" + host + "X-Original-URL: /evil\r\nX-Rewrite-URL: /evil\r\n\r\n", "/orig"},
		{"method override", "GET /override HTTP/1.1\r\n" + host + "X-HTTP-Method-Override: POST\r\n\r\n", "/override"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rawRequest(t, addr, tc.attack)
			for range 2 { // the miss, then the hit
				code, body := rawRequest(t, addr, "GET "+tc.victim+" HTTP/1.1\r\n"+host+"\r\n")
				assert.Equal(t, http.StatusOK, code)
				assert.Equal(t, "m=GET uri="+tc.victim+" xfh="+addr+" body=", body, "the victim's page")
			}
		})
	}
	// Web cache deception: a signed-in victim follows the attacker's link
	// to a path the origin answers with the account page and marks public
	// (an extension rule, a router that ignores ";x.css"); the attacker
	// then asks for it.
	for _, path := range []string{"/account/x.css", "/account;x.css", "/account%0Ax.css", "/account%23x.css", "/account%3Fx.css"} {
		t.Run("deception "+path, func(t *testing.T) {
			_, body := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\n"+host+"Cookie: session=alice\r\n\r\n")
			require.Equal(t, "account of session=alice", body)
			_, body = rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\n"+host+"\r\n")
			assert.NotContains(t, body, "alice", "the attacker got the victim's account")
		})
	}
}
