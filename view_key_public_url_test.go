package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewKeyOfPublicURLBehindTLSProxy (38643bd): behind a
// proxy that ends TLS every request reaches the view over plain http, and
// its entry is keyed "http://shop.example...". ViewKey's doc says: "for the
// key of a path, pass a request made with http.NewRequest(GET, url, nil)";
// a program that passes the site's public https URL got that key before
// 38643bd (the scheme came from r.TLS only). 38643bd kept http.NewRequest's
// r.URL.Scheme "https" beside the connection's: the key was
// "https+http://...", which no stored entry has, and the program's
// c.Backend().Delete(key) (or Peek) silently missed. A client request's
// URL scheme is not keyed by ViewKey and Peek.
func TestViewKeyOfPublicURLBehindTLSProxy(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	n := 0
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		fmt.Fprintf(w, "v%d", n)
	}))
	// As the proxy hands it over: plain http, Host the public name.
	r := httptest.NewRequest(http.MethodGet, "/p", nil)
	r.Host = "shop.example"
	h.ServeHTTP(httptest.NewRecorder(), r)

	pub, err := http.NewRequest(http.MethodGet, "https://shop.example/p", nil)
	require.NoError(t, err)
	key, err := c.ViewKey(pub)
	require.NoError(t, err)
	require.NoError(t, c.Backend().Delete(context.Background(), key))

	r2 := httptest.NewRequest(http.MethodGet, "/p", nil)
	r2.Host = "shop.example"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r2)
	assert.Equal(t, "v2", w.Body.String(), "ViewKey(%q) = %q: the delete missed the stored entry", pub.URL, key)

	_, _, err = c.Peek(pub)
	assert.NoError(t, err, "Peek of the public URL finds the stored page")
}
