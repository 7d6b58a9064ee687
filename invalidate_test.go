package caching

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// TestJoinAfterInvalidateTags: a Get that starts after
// InvalidateTags has returned joined a computation still running from
// before it, and returned what that computation read before the data
// changed: the program changed the data, told the cache, asked again, and
// got the old value. It must get a value computed after the invalidation.
func TestJoinAfterInvalidateTags(t *testing.T) {
	for _, api := range []string{"Memoize", "GetOrSet", "Fragment"} {
		t.Run(api, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := New(&Options{Backend: simple.Must(simple.Options{SweepInterval: -1})})
				require.NoError(t, err)
				defer c.Close()
				var data atomic.Int64
				data.Store(1)
				started := make(chan struct{}, 1)
				release := make(chan struct{})
				load := func(context.Context) (int64, error) {
					v := data.Load()
					select {
					case started <- struct{}{}:
						<-release
					default:
					}
					return v, nil
				}
				var get func() (int64, error)
				switch api {
				case "Memoize":
					f := Memoize(c, "read", func(ctx context.Context, _ int) (int64, error) { return load(ctx) }, Tags("t"))
					get = func() (int64, error) { return f.Get(t.Context(), 0) }
				case "GetOrSet":
					get = func() (int64, error) {
						return GetOrSet(t.Context(), c, "k", time.Minute, load, Tags("t"))
					}
				default:
					get = func() (int64, error) {
						html, err := c.Fragment(t.Context(), "sidebar", time.Minute, func(w io.Writer) error {
							v, err := load(t.Context())
							fmt.Fprint(w, v)
							return err
						}, Tags("t"))
						n, _ := strconv.ParseInt(string(html), 10, 64)
						return n, err
					}
				}
				go func() { _, _ = get() }()
				<-started
				data.Store(2) // the data changes, and the cache is told
				require.NoError(t, c.InvalidateTags(t.Context(), "t"))
				var got atomic.Int64
				done := make(chan struct{})
				go func() {
					defer close(done)
					v, err := get()
					assert.NoError(t, err)
					got.Store(v)
				}()
				synctest.Wait() // the second Get waits, for whatever it joined
				close(release)
				<-done
				assert.Equal(t, int64(2), got.Load(), "a value computed before InvalidateTags returned after it")
			})
		})
	}
}
