package caching

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadFoundAfterInvalidationElsewhere: GetOrSet's and Fragment's
// counterpart of TestMemoizeLeaseFoundAfterInvalidationElsewhere. A load
// whose second look found the entry another process had stored while it
// waited handed it to the callers that joined it without the versions it
// was written under. A call made after another process invalidated the
// entry's tag missed in its own lookup, joined that load, and was handed
// the value the invalidation ended. Now the found entry goes to them with
// its versions, which they check.
func TestLoadFoundAfterInvalidationElsewhere(t *testing.T) {
	for name, call := range map[string]func(ctx context.Context, c *Cache, db *atomic.Value) (string, error){
		"GetOrSet": func(ctx context.Context, c *Cache, db *atomic.Value) (string, error) {
			return GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (string, error) {
				return db.Load().(string), nil
			}, Tags("users"))
		},
		"Fragment": func(ctx context.Context, c *Cache, db *atomic.Value) (string, error) {
			html, err := c.Fragment(ctx, "k", time.Minute, func(w io.Writer) error {
				_, err := io.WriteString(w, db.Load().(string))
				return err
			}, Tags("users"))
			return string(html), err
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				g := &heldStore{Backend: newSimple(t, nil)}
				var db atomic.Value
				db.Store("old")
				open := func() *Cache {
					c := Must(&Options{Backend: g})
					t.Cleanup(func() { _ = c.Close() })
					return c
				}
				c, other := open(), open() // this process and another one
				bk := c.userKey("k")
				get := func() <-chan string { // call(c), in the background
					got := make(chan string, 1)
					go func() {
						v, err := call(ctx, c, &db)
						assert.NoError(t, err)
						got <- v
					}()
					return got
				}

				// A call of this process misses, and is held there.
				releaseMiss := g.hold("get", bk)
				early := get()
				synctest.Wait()
				// Meanwhile the other process stores the old value.
				v, err := call(ctx, other, &db)
				require.NoError(t, err)
				require.Equal(t, "old", v)

				// The held call goes on: its load looks again, finds the
				// old entry still current, and is held after reading the
				// tag's version.
				releaseFound := g.hold("get", c.tagKey("users"))
				releaseMiss()
				synctest.Wait()
				// The data changes, and the other process invalidates.
				db.Store("new")
				require.NoError(t, other.InvalidateTags(ctx, "users"))

				late := get() // made after the invalidation returned
				synctest.Wait()
				releaseFound()
				assert.Equal(t, "old", <-early, "the first call gets what its load found")
				assert.Equal(t, "new", <-late, "a call made after InvalidateTags returned in another process got the value it ended")
				g.mu.Lock()
				assert.Empty(t, g.gates, "calls never made")
				g.mu.Unlock()
			})
		})
	}
}
