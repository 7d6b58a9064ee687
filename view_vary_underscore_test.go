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

// TestSharedPreconditionUnderscoreSpelling: a SharedCache view stores only
// a 200 answering a request with If-Match, If-Unmodified-Since or
// If-Range: its 412 answers that request alone. A client that spelled it
// "If_Match" was not seen to have one, while a CGI-style origin evaluates
// it as If-Match: its 412, with the freshness the origin gives every
// response, was stored and served to every client.
func TestSharedPreconditionUnderscoreSpelling(t *testing.T) {
	for _, field := range []string{"If_Match", "if_unmodified_since"} {
		t.Run(field, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("ETag", `"v1"`)
				if v := cgiField(r, "If-Match"); v != "" && v != `"v1"` || cgiField(r, "If-Unmodified-Since") != "" {
					w.WriteHeader(http.StatusPreconditionFailed)
					return
				}
				fmt.Fprint(w, "page")
			}))
			defer origin.Close()
			u, err := url.Parse(origin.URL)
			require.NoError(t, err)
			rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}
			front := httptest.NewServer(c.Cached(10*time.Minute, SharedCache())(rp))
			defer front.Close()
			do := func(hdr ...string) int {
				req, err := http.NewRequest(http.MethodGet, front.URL+"/doc", nil)
				require.NoError(t, err)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header[hdr[i]] = []string{hdr[i+1]}
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				_, _ = io.Copy(io.Discard, res.Body)
				return res.StatusCode
			}
			assert.Equal(t, http.StatusPreconditionFailed, do(field, `"v0"`), "the request with a precondition")
			assert.Equal(t, http.StatusOK, do(), "a client without a precondition")
		})
	}
}

// TestValidatorUnderscoreSpellingNeverReachesHandler: a miss's handler gets
// the request without the client's If-None-Match and If-Modified-Since, so
// that it makes the full response, stored for the next clients. Spelled
// "If_None_Match", they reached it, and a CGI-style handler answered a
// 304, stored for no one; the client got a 304 for a validator the cache
// does not evaluate. In both modes.
func TestValidatorUnderscoreSpellingNeverReachesHandler(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprint("shared=", shared), func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			var saw []string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, f := range []string{"If-None-Match", "If-Modified-Since"} {
					if v := cgiField(r, f); v != "" {
						saw = append(saw, f+": "+v)
					}
				}
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
				if cgiField(r, "If-None-Match") == `"v1"` || cgiField(r, "If-Modified-Since") != "" {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				fmt.Fprint(w, "page")
			})
			var opts []ViewOption
			if shared {
				opts = append(opts, SharedCache())
			}
			front := httptest.NewServer(c.Cached(10*time.Minute, opts...)(h))
			defer front.Close()
			for _, hdr := range [][2]string{{"If_None_Match", `"v1"`}, {"if_modified_since", "Mon, 02 Jan 2006 15:04:05 GMT"}} {
				req, err := http.NewRequest(http.MethodGet, front.URL+"/"+hdr[0], nil)
				require.NoError(t, err)
				req.Header[hdr[0]] = []string{hdr[1]}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Equal(t, http.StatusOK, res.StatusCode, hdr[0])
				assert.Equal(t, "page", string(b), hdr[0])
			}
			assert.Empty(t, saw, "the handler got the client's validators")
		})
	}
}
