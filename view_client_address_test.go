package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A response that varies on a field a proxy below the cache sets from the
// client's address (httputil.ReverseProxy: X-Forwarded-For) was made for
// that address; the cache sees the field as the client sent it (absent),
// so it must not store it for every client that sent the same.
func TestVaryOnClientAddressIsNotStored(t *testing.T) {
	for _, field := range []string{"X-Forwarded-For", "x-real-ip", "Forwarded"} {
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/shared=%v", field, shared), func(t *testing.T) {
				var calls atomic.Int64
				origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.Header().Set("Cache-Control", "max-age=600")
					w.Header().Set("Vary", "Accept-Encoding, "+field)
					// The origin reads the address the proxy sends in
					// X-Forwarded-For, whichever field it says it varies on.
					fmt.Fprintf(w, "your city, from %s", r.Header.Get("X-Forwarded-For"))
				}))
				defer origin.Close()
				u, err := url.Parse(origin.URL)
				require.NoError(t, err)
				c := Must(nil)
				defer c.Close()
				opts := []ViewOption{CacheStatusHeader("X-Cache")}
				if shared {
					opts = append(opts, SharedCache())
				}
				view := c.Cached(time.Hour, opts...)(httputil.NewSingleHostReverseProxy(u))
				// Each client's address, as a server on the Internet sees it.
				front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r.RemoteAddr = r.Header.Get("Test-Client") + ":4000"
					view.ServeHTTP(w, r)
				}))
				defer front.Close()
				get := func(client string) (string, string) {
					req, err := http.NewRequest(http.MethodGet, front.URL+"/city", nil)
					require.NoError(t, err)
					req.Header.Set("Test-Client", client)
					res, err := front.Client().Do(req)
					require.NoError(t, err)
					defer res.Body.Close()
					b, err := io.ReadAll(res.Body)
					require.NoError(t, err)
					return string(b), res.Header.Get("X-Cache")
				}
				body, _ := get("192.0.2.1")
				assert.Equal(t, "your city, from 192.0.2.1", body)
				body, status := get("198.51.100.7")
				assert.Equal(t, "your city, from 198.51.100.7", body, "X-Cache: %s", status)
				assert.Equal(t, int64(2), calls.Load())
			})
		}
	}
}
