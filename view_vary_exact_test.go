package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCachedVariantKeyedAsTheHandlerReadsIt: variants were keyed by a
// normalized value (empty list elements dropped, whitespace collapsed),
// while the handler reads the header as sent. A client sending
// "X-Version: 2," got the handler's answer for that value stored where
// "X-Version: 2" is looked up, and every later client asking for version 2
// was served it: a response the handler never made for them.
func TestCachedVariantKeyedAsTheHandlerReadsIt(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "X-Version")
			if r.Header.Get("X-Version") == "2" {
				fmt.Fprint(w, "v2")
				return
			}
			fmt.Fprint(w, "v1")
		}))
		assert.Equal(t, "v1", get(ch, "/api", "X-Version", "2,").Body.String())
		assert.Equal(t, "v1", get(ch, "/api", "X-Version", "2 ,").Body.String())
		assert.Equal(t, "v2", get(ch, "/api", "X-Version", "2").Body.String(), "the poisoned variant is not version 2's")
		assert.Equal(t, "v2", get(ch, "/api", "X-Version", "2").Body.String())
		assert.EqualValues(t, 1, e.c.Stats().Hits)
	})
}

// TestCachedVaryHostWithIgnoreHost: net/http moves Host out of the header
// map, so "Vary: Host" keyed every host as the same variant; with
// IgnoreHost one host's page was served to another.
func TestCachedVaryHostWithIgnoreHost(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute, IgnoreHost())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Host")
			fmt.Fprintf(w, "site of %s", r.Host)
		}))
		assert.Equal(t, "site of a.example", getHost(ch, "a.example", "/").Body.String())
		assert.Equal(t, "site of b.example", getHost(ch, "b.example", "/").Body.String())
		assert.Equal(t, "site of a.example", getHost(ch, "a.example", "/").Body.String())
		assert.EqualValues(t, 1, e.c.Stats().Hits)
	})
}
