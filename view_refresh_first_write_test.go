package caching

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// TestBackgroundRefreshFirstWriteNotBounded: a background refresh writes
// to the view's discarding writer, which has no client to wait on, but
// httpcache.BuffersFirstWrite did not know it: the refresh's first write
// ran on a goroutine of its own and was given up after
// httpcache.FirstWriteWait, so that on a loaded machine (a goroutine not
// run for 250 ms) the refreshed response was not stored and the stale one
// stayed served. The writer is now known as one that never blocks: with
// the wait cut to a nanosecond, the refresh still stores its response.
func TestBackgroundRefreshFirstWriteNotBounded(t *testing.T) {
	require.True(t, httpcache.BuffersFirstWrite(&discardWriter{h: make(http.Header)}))
	old := httpcache.FirstWriteWait
	httpcache.FirstWriteWait = time.Nanosecond
	t.Cleanup(func() { httpcache.FirstWriteWait = old })

	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, mode := range viewModes {
			t.Run(mode.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
				}}
				opts := append([]ViewOption{StaleWhileRevalidate(time.Hour), CacheStatusHeader("X-Cache")}, mode.opts...)
				ch := e.c.Cached(10*time.Second, opts...)(h)
				require.Equal(t, "b #1", get(ch, "/a").Body.String())
				e.clock.Advance(20 * time.Second)
				w := get(ch, "/a")
				require.Equal(t, "STALE", w.Header().Get("X-Cache"))
				e.c.wait() // the refresh
				w = get(ch, "/a")
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the refresh stored its response")
				assert.Equal(t, "b #2", w.Body.String())
				assert.EqualValues(t, 2, h.calls.Load())
			})
		}
	})
}
