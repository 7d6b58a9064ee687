package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCachedStaleIfForeverServesStale: a response cached Forever that
// StaleIf declares stale is served while one background run refreshes it
// (StaleWhileRevalidate), or in place of the handler's 5xx
// (StaleIfError), as one cached for an hour is, with or without
// HonorRequestCacheControl. Under a key without the path (KeyFunc), whose
// entries no path version bounds, its stale windows were measured from the
// end of a freshness it does not have: the client waited for the handler,
// and got its 5xx.
func TestCachedStaleIfForeverServesStale(t *testing.T) {
	for _, life := range []struct {
		name string
		ttl  time.Duration
	}{{"forever", Forever}, {"hour", time.Hour}} {
		for _, window := range []struct {
			name string
			o    ViewOption
		}{{"swr", StaleWhileRevalidate(time.Minute)}, {"sie", StaleIfError(time.Minute)}} {
			for _, mode := range []struct {
				name string
				opts []ViewOption
			}{
				{"default", nil},
				{"honor", []ViewOption{HonorRequestCacheControl()}},
				// Without the path in its key, an entry has no path
				// version, whose life bounds the entry's.
				{"keyfunc", []ViewOption{KeyFunc(func(r *http.Request) string { return r.URL.Path })}},
				{"keyfunc-honor", []ViewOption{KeyFunc(func(r *http.Request) string { return r.URL.Path }), HonorRequestCacheControl()}},
			} {
				t.Run(life.name+"/"+window.name+"/"+mode.name, func(t *testing.T) {
					forEachViewStore(t, func(t *testing.T, k storeKind) {
						e := newViewEnv(t, k)
						var version, calls atomic.Int64
						var fail atomic.Bool
						version.Store(1)
						opts := append([]ViewOption{CacheStatusHeader("X-Cache"), window.o, StaleIf(func(r *Response) bool {
							return string(r.Body) != fmt.Sprint("v", version.Load())
						})}, mode.opts...)
						h := e.c.Cached(life.ttl, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
							calls.Add(1)
							if fail.Load() {
								http.Error(w, "database down", http.StatusInternalServerError)
								return
							}
							fmt.Fprint(w, "v", version.Load())
						}))
						assert.Equal(t, "v1", get(h, "/").Body.String())
						assert.Equal(t, "HIT", get(h, "/").Header().Get("X-Cache"))
						// The stored response is declared stale now; the
						// database fails.
						version.Store(2)
						fail.Store(true)
						w := get(h, "/")
						assert.Equal(t, http.StatusOK, w.Code, "the stale response is served")
						assert.Equal(t, "v1", w.Body.String())
						assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
						e.c.background.wait()
						assert.EqualValues(t, 2, calls.Load(), "the handler ran once more: in the background, or failing")
					})
				})
			}
		}
	}
}
