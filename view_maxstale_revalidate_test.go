package caching

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMaxStaleRespectsMustRevalidate: a response that says must-revalidate
// (or proxy-revalidate, or s-maxage, which implies it for a shared cache)
// must not be served stale to a client that accepts staleness (RFC 9111
// sections 4.2.4, 5.2.2.2). SharedCache kept to this; the default mode,
// with HonorRequestCacheControl, served it stale to any max-stale.
func TestMaxStaleRespectsMustRevalidate(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{{"default mode", nil}, {"SharedCache", []ViewOption{SharedCache()}}} {
		for _, cc := range []string{"max-age=60, must-revalidate, stale-if-error=3600", "max-age=60, proxy-revalidate, stale-if-error=3600", "max-age=60, s-maxage=60, stale-if-error=3600"} {
			t.Run(mode.name+"/"+cc, func(t *testing.T) {
				e := newViewEnv(t, viewStores[0])
				h := &counter{body: "b", fn: cacheControl(cc)}
				opts := append(mode.opts, HonorRequestCacheControl(), CacheStatusHeader("X-Cache"), StaleIfError(time.Hour))
				ch := e.c.Cached(time.Minute, opts...)(h)
				assert.Equal(t, "b #1", get(ch, "/a").Body.String())
				e.clock.Advance(70 * time.Second)
				w := get(ch, "/a", "Cache-Control", "max-stale")
				assert.Equal(t, "b #2", w.Body.String(), "not served stale")
				assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
			})
		}
		t.Run(mode.name+"/plain", func(t *testing.T) {
			e := newViewEnv(t, viewStores[0])
			h := &counter{body: "b", fn: cacheControl("max-age=60, stale-if-error=3600")}
			opts := append(mode.opts, HonorRequestCacheControl(), CacheStatusHeader("X-Cache"), StaleIfError(time.Hour))
			ch := e.c.Cached(time.Minute, opts...)(h)
			get(ch, "/a")
			e.clock.Advance(70 * time.Second)
			w := get(ch, "/a", "Cache-Control", "max-stale")
			assert.Equal(t, "b #1", w.Body.String(), "without the directive, max-stale accepts it")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		})
	}
}
