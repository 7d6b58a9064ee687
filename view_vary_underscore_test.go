package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cgiField reads a request field as a CGI, WSGI or Rack server hands it to
// the application (HTTP_ACCEPT_LANGUAGE): "-" and "_" both become "_", so
// that "Accept_Language" reaches it as Accept-Language does.
func cgiField(r *http.Request, name string) string {
	env := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
	for k, vs := range r.Header {
		if env(k) == env(name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// TestVaryUnderscoreSpellingIsKeyed: the response varies on
// Accept-Language, and the key held the request's Accept-Language field
// only; a client sent "Accept_Language: fr" instead. Go canonicalizes it
// as "Accept_language", another field for the key (the variant of a
// request without Accept-Language), while an origin that maps field names
// to CGI-style variables reads it as Accept-Language: its French page was
// stored as the default variant, served to every client that sends no
// Accept-Language. In a SharedCache view behind ExampleSharedCache's proxy,
// and in a default view around such a handler.
func TestVaryUnderscoreSpellingIsKeyed(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		if strings.HasPrefix(cgiField(r, "Accept-Language"), "fr") {
			fmt.Fprint(w, "Bonjour")
			return
		}
		fmt.Fprint(w, "Hello")
	})
	proxied := func(t *testing.T, c *Cache) *httptest.Server {
		o := httptest.NewServer(origin)
		t.Cleanup(o.Close)
		u, err := url.Parse(o.URL)
		require.NoError(t, err)
		rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		}}
		front := httptest.NewServer(c.Cached(10*time.Minute, SharedCache())(rp))
		t.Cleanup(front.Close)
		return front
	}
	direct := func(t *testing.T, c *Cache) *httptest.Server {
		front := httptest.NewServer(c.Cached(10 * time.Minute)(origin))
		t.Cleanup(front.Close)
		return front
	}
	for name, mk := range map[string]func(*testing.T, *Cache) *httptest.Server{"SharedCache": proxied, "default": direct} {
		t.Run(name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			front := mk(t, c)
			do := func(hdr ...string) string {
				req, err := http.NewRequest(http.MethodGet, front.URL+"/home", nil)
				require.NoError(t, err)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header[hdr[i]] = []string{hdr[i+1]} // as sent, not canonicalized
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return string(b)
			}
			assert.Equal(t, "Bonjour", do("Accept_Language", "fr"), "the request with an underscore spelling")
			assert.Equal(t, "Hello", do(), "a client without Accept-Language gets the default page")
			assert.Equal(t, "Bonjour", do("accept_language", "fr"), "the French page, once stored, for its own spelling")
			assert.Equal(t, "Hello", do("Accept-Language", "en"))
		})
	}
}
