package pool_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestStatsHandlerAuthorizesBeforeMethod: a client that Authorize refuses
// sent a POST to the stats endpoint and got 405 with "Allow: GET, HEAD",
// which told it that the endpoint exists and how to read it. A refused
// request gets 403 whatever its method; only an admitted one learns the
// allowed methods. Every answer, a refusal included, says no-store.
func TestStatsHandlerAuthorizesBeforeMethod(t *testing.T) {
	var reg pool.Registry
	require.NoError(t, reg.Register("n", func() any { return 1 }))
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: func(r *http.Request) bool {
		return r.Header.Get("X-Admin-Token") == "secret"
	}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, tc := range []struct {
		name      string
		method    string
		token     string
		want      int
		wantAllow string
	}{
		{"refused get", http.MethodGet, "", http.StatusForbidden, ""},
		{"refused post", http.MethodPost, "", http.StatusForbidden, ""},
		{"refused delete", http.MethodDelete, "wrong", http.StatusForbidden, ""},
		{"refused options", http.MethodOptions, "", http.StatusForbidden, ""},
		{"admitted get", http.MethodGet, "secret", http.StatusOK, ""},
		{"admitted head", http.MethodHead, "secret", http.StatusOK, ""},
		{"admitted post", http.MethodPost, "secret", http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"/admin/pool-stats", strings.NewReader(""))
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("X-Admin-Token", tc.token)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tc.want, resp.StatusCode)
			assert.Equal(t, tc.wantAllow, resp.Header.Get("Allow"))
			// A 405 is cacheable by default (RFC 9110 15.5.6): no answer
			// of the endpoint may be kept by a cache in front of it.
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			if tc.want == http.StatusForbidden {
				assert.NotContains(t, string(body), "method")
				assert.NotContains(t, string(body), `"n"`)
			}
		})
	}
}
