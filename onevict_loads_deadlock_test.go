package caching

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLoadOnEvictDoesNotDeadlock: a GetOrSet load (or a Fragment render)
// stores holding its load's lock, which a write of its key and a Clear
// wait for (they supersede the loads in flight), and backend/simple told
// OnEvict of the store's evictions inside it: an OnEvict that cleared
// the Cache (or wrote the evicted key, whose own load's store evicted this
// one's key) waited for ever. The evictions are now told once the lock is
// released, before the call returns (as c9bad8e for Memoize).
func TestLoadOnEvictDoesNotDeadlock(t *testing.T) {
	for _, tc := range []struct {
		name string
		load func(ctx context.Context, c *Cache, key string) error
	}{
		{"GetOrSet", func(ctx context.Context, c *Cache, key string) error {
			_, err := GetOrSet(ctx, c, key, time.Hour, func(context.Context) (string, error) { return "loaded " + key, nil })
			return err
		}},
		{"Fragment", func(ctx context.Context, c *Cache, key string) error {
			_, err := c.Fragment(ctx, key, time.Hour, func(w io.Writer) error {
				_, err := io.WriteString(w, "<p>"+key+"</p>")
				return err
			})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, evictions := newClearOnEvictCache(t)
			testutil.Returns(t, "a load whose store evicted, with an OnEvict that clears the Cache,", 5*time.Second, func() {
				for _, key := range []string{"a", "b"} { // b's store evicts a
					if !assert.NoError(t, tc.load(context.Background(), c, key)) {
						return
					}
				}
			})
			require.Equal(t, 1, *evictions, "OnEvict was told of the eviction")
		})
	}
}

// TestViewOnEvictClearDoesNotDeadlock: a view's store (and the write of
// a Vary record) is made under the lock a Clear waits for
// (store.unlessCleared), and backend/simple told OnEvict of the store's
// evictions inside it: an OnEvict that cleared the Cache waited for its
// own goroutine for ever. They are now told once that lock is released.
func TestViewOnEvictClearDoesNotDeadlock(t *testing.T) {
	for _, vary := range []string{"", "Accept-Language"} {
		t.Run("vary="+vary, func(t *testing.T) {
			c, evictions := newClearOnEvictCache(t)
			h := c.Cached(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if vary != "" {
					w.Header().Set("Vary", vary)
				}
				_, _ = io.WriteString(w, "page "+r.URL.Path)
			}))
			testutil.Returns(t, "a view whose store evicted, with an OnEvict that clears the Cache,", 5*time.Second, func() {
				for _, path := range []string{"/a", "/b"} { // /b's store evicts /a
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
					assert.Equal(t, "page "+path, rec.Body.String())
				}
			})
			require.Positive(t, *evictions, "OnEvict was told of the evictions")
		})
	}
}

// newClearOnEvictCache is a Cache on a backend/simple store of one entry
// whose OnEvict clears the Cache, and the count of the evictions told.
func newClearOnEvictCache(t *testing.T) (*Cache, *int) {
	t.Helper()
	var c *Cache
	evictions := new(int)
	s, err := simple.New(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1,
		OnEvict: func(string) {
			*evictions++
			_ = c.Clear(context.Background())
		}})
	require.NoError(t, err)
	c, err = New(&Options{Backend: s})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, evictions
}
