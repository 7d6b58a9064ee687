package httpcache

import (
	"bufio"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyRequest(t *testing.T) {
	tests := []struct {
		name   string
		method string
		header http.Header
		policy Policy
		want   Reason
	}{
		{"GET", http.MethodGet, nil, Policy{}, ReasonNone},
		{"HEAD may be looked up", http.MethodHead, nil, Policy{}, ReasonNone},
		{"POST", http.MethodPost, nil, Policy{}, ReasonMethod},
		{"PUT", http.MethodPut, nil, Policy{}, ReasonMethod},
		{"Authorization", http.MethodGet, http.Header{"Authorization": {"Bearer x"}}, Policy{}, ReasonAuthorization},
		{"Authorization allowed", http.MethodGet, http.Header{"Authorization": {"Bearer x"}}, Policy{AllowAuthorization: true}, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			assert.Equal(t, tt.want, tt.policy.Request(r))
		})
	}
}

// TestPolicyRequestClientCertificate: a TLS client certificate, verified
// or only presented, is a credential as Authorization is: the response
// may be one user's.
func TestPolicyRequestClientCertificate(t *testing.T) {
	var p Policy
	r := httptest.NewRequest(http.MethodGet, "https://bank.example/", nil)
	assert.Equal(t, ReasonNone, p.Request(r), "TLS without a certificate")
	r.TLS.PeerCertificates = []*x509.Certificate{{}} // presented, not verified
	assert.Equal(t, ReasonCertificate, p.Request(r))
	assert.Equal(t, ReasonCertificate, Credentials(r))
	r.Header.Set("Authorization", "Bearer x")
	assert.Equal(t, ReasonAuthorization, Credentials(r), "Authorization first")
	assert.Equal(t, ReasonNone, (&Policy{AllowAuthorization: true}).Request(r))
}

// TestPolicyRequestBody: a GET or HEAD with a body (a search API's query)
// is answered by its body, which no key holds: never cached. One without
// is, whatever its Body field.
func TestPolicyRequestBody(t *testing.T) {
	var p Policy
	withBody := httptest.NewRequest(http.MethodGet, "/_search", strings.NewReader(`{"q":"alice"}`))
	assert.Equal(t, ReasonBody, p.Request(withBody), "a Content-Length")
	chunked := httptest.NewRequest(http.MethodGet, "/_search", nil)
	chunked.TransferEncoding = []string{"chunked"}
	assert.Equal(t, ReasonBody, p.Request(chunked), "a Transfer-Encoding")
	unknown := httptest.NewRequest(http.MethodHead, "/", nil)
	unknown.ContentLength = -1 // HTTP/2: a body of unknown length
	assert.Equal(t, ReasonBody, p.Request(unknown))
	for _, body := range []io.ReadCloser{nil, http.NoBody} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Body = body
		assert.Equal(t, ReasonNone, p.Request(r), "%T", body)
	}
}

func TestPolicyResponse(t *testing.T) {
	const ttl = time.Minute
	tests := []struct {
		name    string
		policy  Policy
		status  int
		header  http.Header
		wantTTL time.Duration
		want    Reason
	}{
		{"200", Policy{}, 200, nil, ttl, ReasonNone},
		{"500 is not cached (Flask caches it)", Policy{}, 500, nil, 0, ReasonStatus},
		{"404 refused by default", Policy{}, 404, nil, 0, ReasonStatus},
		{"404 allowed", Policy{Statuses: []int{200, 404}}, 404, nil, ttl, ReasonNone},
		{"200 not in custom list", Policy{Statuses: []int{404}}, 200, nil, 0, ReasonStatus},
		{"206 never, even allowed", Policy{Statuses: []int{200, 206}}, 206, http.Header{"Content-Range": {"bytes 0-9/100"}}, 0, ReasonPartial},
		{"Set-Cookie never (Flask replays it)", Policy{}, 200, http.Header{"Set-Cookie": {"s=1"}}, 0, ReasonSetCookie},
		{"no-store", Policy{}, 200, http.Header{"Cache-Control": {"public, NO-STORE"}}, 0, ReasonNoStore},
		{"private", Policy{}, 200, http.Header{"Cache-Control": {"max-age=60", `private="X"`}}, 0, ReasonPrivate},
		{"no-cache", Policy{}, 200, http.Header{"Cache-Control": {"no-cache"}}, 0, ReasonNoCache},
		{"Vary star", Policy{}, 200, http.Header{"Vary": {"Accept", " * "}}, 0, ReasonVaryStar},
		{"Vary names fine", Policy{}, 200, http.Header{"Vary": {"Accept"}}, ttl, ReasonNone},
		{"max-age ignored unless asked", Policy{}, 200, http.Header{"Cache-Control": {"max-age=10"}}, ttl, ReasonNone},
		{"max-age caps", Policy{RespectMaxAge: true}, 200, http.Header{"Cache-Control": {"max-age=10"}}, 10 * time.Second, ReasonNone},
		{"max-age larger than ttl", Policy{RespectMaxAge: true}, 200, http.Header{"Cache-Control": {"max-age=3600"}}, ttl, ReasonNone},
		{"s-maxage wins over max-age", Policy{RespectMaxAge: true}, 200, http.Header{"Cache-Control": {"max-age=5, s-maxage=20"}}, 20 * time.Second, ReasonNone},
		{"max-age=0 refuses", Policy{RespectMaxAge: true}, 200, http.Header{"Cache-Control": {"max-age=0"}}, 0, ReasonMaxAge},
		{"duplicate max-age smallest", Policy{RespectMaxAge: true}, 200, http.Header{"Cache-Control": {"max-age=30", "max-age=7"}}, 7 * time.Second, ReasonNone},
		{"semicolons", Policy{}, 200, http.Header{"Cache-Control": {"no-store; private"}}, 0, ReasonNoStore},
		{"semicolon after public", Policy{}, 200, http.Header{"Cache-Control": {"public;no-cache"}}, 0, ReasonNoCache},
		{"no comma", Policy{}, 200, http.Header{"Cache-Control": {"max-age=60 private"}}, 0, ReasonPrivate},
		{"hidden by an unterminated quote", Policy{}, 200, http.Header{"Cache-Control": {`max-age=60, community="x, Private`}}, 0, ReasonPrivate},
		{"stray with a value", Policy{}, 200, http.Header{"Cache-Control": {`max-age=60 private="Set-Cookie"`}}, 0, ReasonPrivate},
		{"a longer word is not one", Policy{}, 200, http.Header{"Cache-Control": {"public, max-age=60, x-private, no-stored"}}, ttl, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := tt.policy.Response(tt.status, tt.header, ttl)
			assert.Equal(t, tt.want, reason)
			assert.Equal(t, tt.wantTTL, got)
		})
	}
	t.Run("forever capped by max-age", func(t *testing.T) {
		p := Policy{RespectMaxAge: true}
		got, reason := p.Response(200, http.Header{"Cache-Control": {"max-age=9"}}, 0)
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, 9*time.Second, got)
	})
}

// TestPolicyResponseDoesNotAllocate: the search for stray directives in a
// malformed Cache-Control costs the store path no allocation.
func TestPolicyResponseDoesNotAllocate(t *testing.T) {
	var p Policy
	h := http.Header{"Cache-Control": {`public, max-age=60; community="x y`}}
	allocs := testing.AllocsPerRun(100, func() { _, _ = p.Response(200, h, time.Minute) })
	assert.Zero(t, allocs)
}

func TestHopByHop(t *testing.T) {
	for _, tc := range []struct {
		connection []string
		upgrade    string
		want       bool
	}{
		{nil, "", false},
		{[]string{"keep-alive"}, "", false},
		{[]string{"Keep-Alive, TE"}, "", false},
		{[]string{"close", " , "}, "", false},
		{[]string{"Upgrade"}, "websocket", true},
		{[]string{"keep-alive", "upgrade"}, "websocket", true},
		{[]string{"Upgrade"}, "", true},
		{[]string{"keep-alive, Accept-Language"}, "", true},
		{[]string{"X-Anything"}, "", true},
		// curl --http2 on an http:// URL: h2c, which only a server that
		// speaks it takes up, before any handler.
		{[]string{"Upgrade, HTTP2-Settings"}, "h2c", false},
		{[]string{"Upgrade, HTTP2-Settings"}, "H2C", false},
		{[]string{"Upgrade, HTTP2-Settings, Accept-Language"}, "h2c", true},
		{[]string{"Upgrade, HTTP2-Settings"}, "h2c, websocket", true},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.connection != nil {
			r.Header["Connection"] = tc.connection
		}
		if tc.upgrade != "" {
			r.Header.Set("Upgrade", tc.upgrade)
		}
		if got := HopByHop(r); got != tc.want {
			t.Errorf("Connection %q, Upgrade %q: HopByHop = %v, want %v", tc.connection, tc.upgrade, got, tc.want)
		}
		want := ReasonNone
		if tc.want {
			want = ReasonConnection
		}
		if got := (&Policy{}).Request(r); got != want {
			t.Errorf("Connection %q, Upgrade %q: Request = %q, want %q", tc.connection, tc.upgrade, got, want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Connection", "keep-alive")
	if n := testing.AllocsPerRun(100, func() { HopByHop(r) }); n != 0 {
		t.Errorf("HopByHop allocates %v times", n)
	}
}

// TestPolicyRequestOpaqueTarget: a target in absolute form without "//"
// ("GET http:foo HTTP/1.1") has its rest in URL.Opaque, which no key holds:
// never cached. The absolute form with "//" is.
func TestPolicyRequestOpaqueTarget(t *testing.T) {
	var p Policy
	for target, want := range map[string]Reason{"http:foo?a=1": ReasonTarget, "http://shop.example/foo": ReasonNone, "/foo": ReasonNone} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")))
		require.NoError(t, err)
		assert.Equal(t, want, p.Request(r), target)
	}
}
