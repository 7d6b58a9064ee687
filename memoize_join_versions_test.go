package caching

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestMemoizeJoinAfterInvalidationElsewhere: a Get that begins after
// another process's InvalidateTags returned must not be handed the result
// of a computation of its own process that read the data before it: it
// joins that computation (singleflight), which read the old versions, so
// it checks them, as a view's waiters do. Before, it got the result the
// invalidation was meant to drop ("0 sales" after the sale).
func TestMemoizeJoinAfterInvalidationElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (a, b *Cache, trips func() int64)
	}{
		{"remote", func(t *testing.T) (*Cache, *Cache, func() int64) {
			shared := &remote{Backend: newSimple(t, nil)}
			open := func() *Cache {
				c := Must(&Options{Backend: nopClose{shared}})
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
			return open(), open(), shared.trips.Load
		}},
		{"redis", func(t *testing.T) (*Cache, *Cache, func() int64) {
			a, _, prefix := onRedis(t)
			rb, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
			require.NoError(t, err)
			b := Must(&Options{Backend: rb, Timeout: testutil.SlowTimeout})
			t.Cleanup(func() { _ = b.Close() })
			return a, b, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, trips := tc.open(t)
			ctx := context.Background()
			var sales, calls atomic.Int64 // the database, and fn's runs
			started, release := make(chan struct{}), make(chan struct{})
			fn := func(context.Context, int) (string, error) {
				read := sales.Load() // the query's snapshot
				if calls.Add(1) == 1 {
					close(started)
					<-release
				}
				return fmt.Sprint(read, " sales"), nil
			}
			ma := Memoize(a, "stats", fn, ArgTags(userTags))
			first := make(chan string)
			go func() {
				v, err := ma.Get(ctx, 9)
				assert.NoError(t, err)
				first <- v
			}()
			<-started
			sales.Add(1) // a sale, recorded by process b, which invalidates
			require.NoError(t, b.InvalidateTags(ctx, "user:9"))
			var before int64
			if trips != nil {
				before = trips()
			}
			second := make(chan string)
			go func() {
				v, err := ma.Get(ctx, 9) // begins after the invalidation
				assert.NoError(t, err)
				second <- v
			}()
			if trips != nil { // its lookup is done: it joins next
				require.Eventually(t, func() bool { return trips() > before }, time.Second, time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
			close(release)
			assert.Equal(t, "0 sales", <-first, "the first caller gets what its call read")
			assert.Equal(t, "1 sales", <-second, "a Get begun after the invalidation gets a result read after it")
			v, err := ma.Get(ctx, 9)
			require.NoError(t, err)
			assert.Equal(t, "1 sales", v, "and that result is stored")
		})
	}
}

var _ backend.Backend = (*remote)(nil)

// TestMemoizeJoinersOfUnstoredShareOneRun: the callers that joined a
// computation whose result is not stored, which deletes the ArgTags key it
// created, do not take that delete for an invalidation: fn runs once.
func TestMemoizeJoinersOfUnstoredShareOneRun(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		var calls atomic.Int64
		started, release := make(chan struct{}), make(chan struct{})
		m := Memoize(e.c, "stats", func(_ context.Context, user int) (int, error) {
			if calls.Add(1) == 1 {
				close(started)
				<-release
			}
			return 0, nil
		}, ArgTags(userTags), StoreIf(func(n int) bool { return n != 0 }))
		done := make(chan struct{})
		const callers = 16
		for i := range callers {
			go func() {
				defer func() { done <- struct{}{} }()
				_, err := m.Get(ctx, 77)
				assert.NoError(t, err)
			}()
			if i == 0 {
				<-started
			}
		}
		// Time for the callers to join the run: one that comes after it
		// ended finds nothing stored and runs fn itself, rightly. 20 ms
		// was once too short under load.
		time.Sleep(200 * time.Millisecond)
		close(release)
		for range callers {
			<-done
		}
		assert.EqualValues(t, 1, calls.Load(), "one run for the callers that joined it")
	})
}

// TestMemoizeNestedReportsItsOwnVersions: a memoized function whose fn calls another
// reports its own versions to the callers that joined it, not the other's.
func TestMemoizeNestedReportsItsOwnVersions(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		inner := Memoize(e.c, "inner", func(_ context.Context, user int) (int, error) { return user, nil }, ArgTags(userTags))
		var calls atomic.Int64
		started, release := make(chan struct{}), make(chan struct{})
		outer := Memoize(e.c, "outer", func(ctx context.Context, user int) (int, error) {
			v, err := inner.Get(ctx, user+1)
			if calls.Add(1) == 1 {
				close(started)
				<-release
			}
			return v, err
		}, ArgTags(userTags))
		done := make(chan int, 2)
		go func() { v, _ := outer.Get(ctx, 1); done <- v }()
		<-started
		go func() { v, _ := outer.Get(ctx, 1); done <- v }()
		time.Sleep(200 * time.Millisecond) // time to join (see above)
		close(release)
		assert.Equal(t, 2, <-done)
		assert.Equal(t, 2, <-done)
		assert.EqualValues(t, 1, calls.Load(), "the joiner shares the run")
	})
}

// TestJoinAfterInvalidationElsewhereDirect is
// TestMemoizeJoinAfterInvalidationElsewhere for GetOrSet and Fragment,
// which share their flights the same way.
func TestJoinAfterInvalidationElsewhereDirect(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  func(ctx context.Context, c *Cache, read func() string) (string, error)
	}{
		{"GetOrSet", func(ctx context.Context, c *Cache, read func() string) (string, error) {
			return GetOrSet(ctx, c, "stats:9", time.Minute, func(context.Context) (string, error) { return read(), nil }, Tags("user:9"))
		}},
		{"Fragment", func(ctx context.Context, c *Cache, read func() string) (string, error) {
			html, err := c.Fragment(ctx, "stats:9", time.Minute, func(w io.Writer) error {
				_, err := io.WriteString(w, read())
				return err
			}, Tags("user:9"))
			return string(html), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared := &remote{Backend: newSimple(t, nil)}
			open := func() *Cache {
				c := Must(&Options{Backend: nopClose{shared}})
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
			a, b := open(), open()
			ctx := context.Background()
			var sales, calls atomic.Int64
			started, release := make(chan struct{}), make(chan struct{})
			read := func() string {
				n := sales.Load()
				if calls.Add(1) == 1 {
					close(started)
					<-release
				}
				return fmt.Sprint(n, " sales")
			}
			first := make(chan string)
			go func() {
				v, err := tc.get(ctx, a, read)
				assert.NoError(t, err)
				first <- v
			}()
			<-started
			sales.Add(1)
			require.NoError(t, b.InvalidateTags(ctx, "user:9"))
			before := shared.trips.Load()
			second := make(chan string)
			go func() {
				v, err := tc.get(ctx, a, read)
				assert.NoError(t, err)
				second <- v
			}()
			require.Eventually(t, func() bool { return shared.trips.Load() > before }, time.Second, time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			close(release)
			assert.Equal(t, "0 sales", <-first)
			assert.Equal(t, "1 sales", <-second, "a call begun after the invalidation gets a value read after it")
		})
	}
}
