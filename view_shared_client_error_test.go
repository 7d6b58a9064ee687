package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientErrorOrigin is a site whose middleware marks every response
// "public, max-age=600" (nginx's add_header ... always, a framework's
// site-wide default) and whose front answers some requests with a client
// error made of that request alone: a header past its buffer (nginx's 8 KiB
// large_client_header_buffers: 400), a WAF rule on User-Agent (403), a
// per-client rate limit (429, told here by a header), too many or too large
// header fields (431). It fails on some requests alone too: a 500 for a
// header its code cannot parse (X-Broken), a 502 or 504 from its gateway
// for a query that took its backend down or past a timeout, a 503 from an
// overload guard (X-Fail names the status). Every other request of a URL
// gets the URL's page.
func clientErrorOrigin(n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		status := http.StatusOK
		switch {
		case len(r.Header.Get("X-Padding")) > 8<<10:
			status = http.StatusBadRequest
		case strings.Contains(r.UserAgent(), "sqlmap"):
			status = http.StatusForbidden
		case r.Header.Get("X-Burst") != "":
			status = http.StatusTooManyRequests
		case len(r.Header) > 50:
			status = http.StatusRequestHeaderFieldsTooLarge
		case r.Header.Get("X-Broken") != "":
			status = http.StatusInternalServerError
		case r.Header.Get("X-Fail") != "":
			fmt.Sscan(r.Header.Get("X-Fail"), &status)
		case r.URL.Path == "/revalidated":
			// Revalidated before every reuse: 304 for its tag.
			w.Header().Set("Cache-Control", "public, no-cache")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case strings.HasPrefix(r.URL.Path, "/gone"):
			status = http.StatusGone
		case strings.HasPrefix(r.URL.Path, "/missing"):
			status = http.StatusNotFound
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "%d #%d", status, n.Add(1))
	})
}

// TestSharedCacheClientErrorNotStoredForEveryone: a SharedCache view
// stored any status with explicit freshness, so a 4xx that one request
// provoked with a field the key does not hold (an oversized header, a
// User-Agent a WAF blocks, a client past its rate limit) was stored under
// the URL's key and served to every client for its max-age (or replaced
// the stored page when it answered that page's revalidation): a
// cache-poisoned denial of service (CPDoS, Nguyen et al. 2019: "HTTP
// Header Oversize", "HTTP Meta Character"). The view's own revalidation
// rules already read such a 4xx as an answer to the request (it never
// drops the entry); a miss now reads it so too, and stores only the 4xx
// that RFC 9110 section 15.1 makes cacheable by default (404, 405, 410,
// 414), which name the URL. A 5xx with explicit freshness was stored too:
// one request the origin failed on (a header it could not parse, a query
// that timed out) had its 500 served to every client for ten minutes. No
// 5xx is stored now either, not even a 501 (cacheable by default, but
// what Go's server answers to a Transfer-Encoding it does not support,
// others to a method or an Expect they do not know: a client's choice).
func TestSharedCacheClientErrorNotStoredForEveryone(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var n atomic.Int64
	srv := httptest.NewServer(c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(clientErrorOrigin(&n)))
	defer srv.Close()
	do := func(path string, hdr ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	many := make([]string, 0, 120)
	for i := range 60 {
		many = append(many, fmt.Sprintf("X-F%d", i), "1")
	}
	for _, tc := range []struct {
		name   string
		status int
		attack []string
	}{
		{"oversized header", http.StatusBadRequest, []string{"X-Padding", strings.Repeat("a", 9<<10)}},
		{"waf", http.StatusForbidden, []string{"User-Agent", "sqlmap/1.7"}},
		{"rate limited", http.StatusTooManyRequests, []string{"X-Burst", "1"}},
		{"too many fields", http.StatusRequestHeaderFieldsTooLarge, many},
		{"unparsable header", http.StatusInternalServerError, []string{"X-Broken", `"unterminated`}},
		{"bad gateway", http.StatusBadGateway, []string{"X-Fail", "502"}},
		{"overloaded", http.StatusServiceUnavailable, []string{"X-Fail", "503"}},
		{"gateway timeout", http.StatusGatewayTimeout, []string{"X-Fail", "504"}},
		{"insufficient storage", http.StatusInsufficientStorage, []string{"X-Fail", "507"}},
		{"not implemented", http.StatusNotImplemented, []string{"X-Fail", "501"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/page/" + strings.ReplaceAll(tc.name, " ", "-")
			code, _ := do(path, tc.attack...)
			require.Equal(t, tc.status, code, "the origin answers the attacker's request with its error")
			code, body := do(path)
			assert.Equal(t, http.StatusOK, code, "a client without the attacker's field got %q", body)
		})
	}
	for _, tc := range []struct {
		name   string
		status int
		attack []string
	}{
		{"revalidation", http.StatusForbidden, []string{"User-Agent", "sqlmap/1.7"}},
		{"revalidation failed", http.StatusInternalServerError, []string{"X-Broken", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The stored page is revalidated by whichever client asks
			// next: the attacker's 403 (or 500) replaced it.
			_, page := do("/revalidated")
			code, _ := do("/revalidated", tc.attack...)
			require.Equal(t, tc.status, code)
			code, body := do("/revalidated")
			assert.Equal(t, http.StatusOK, code, "a client after the attacker's revalidation got %q", body)
			assert.Equal(t, page, body, "the stored page, revalidated")
		})
	}
	t.Run("404 and 410 still stored", func(t *testing.T) {
		for _, path := range []string{"/missing", "/gone"} {
			_, first := do(path)
			_, again := do(path)
			assert.Equal(t, first, again, "%s: an error cacheable by default, with max-age, is stored", path)
		}
	})
}
