package caching

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// priceV2 is the type a new release reads; what an older one stored under
// the same key had a string Cents (priceV1).
type (
	priceV1 struct{ Cents string }
	priceV2 struct{ Cents int }
)

// undecodableKey holds what a user would not want in a log.
const undecodableKey = "price?token=s3cret"

// undecodableBackends are the stores a value that does not decode is met
// on: in-process, filesystem, Redis (miniredis, and the real server).
var undecodableBackends = []struct {
	name string
	open func(t *testing.T) backend.Backend
}{
	{"simple", func(t *testing.T) backend.Backend { return newSimple(t, nil) }},
	{"filesystem", func(t *testing.T) backend.Backend {
		b, err := filesystem.New(filesystem.Options{Dir: t.TempDir()})
		require.NoError(t, err)
		return b
	}},
	{"miniredis", func(t *testing.T) backend.Backend {
		return openRedis(t, miniredis.RunT(t).Addr())
	}},
	{"redis", func(t *testing.T) backend.Backend { return openRedis(t, testutil.RedisAddr(t)) }},
}

func openRedis(t *testing.T, addr string) backend.Backend {
	prefix := fmt.Sprint("caching-test:", t.Name(), ":", time.Now().UnixNano(), ":")
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() {
		// The test may have closed b (through its Cache): its keys are
		// cleared through a store of their own. Keys left with a TTL
		// slow Redis's expiry of every other test's keys (its active
		// expiry walks the keys that have one, a few at a time).
		cl, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		if err != nil {
			return
		}
		_ = cl.Clear(context.Background())
		_ = cl.Close()
	})
	return b
}

// undecodableValues are values that do not decode as a priceV2, each as
// it came to be stored.
var undecodableValues = []struct {
	name  string
	store func(ctx context.Context, c *Cache) error
}{
	{"older shape", func(ctx context.Context, c *Cache) error { // before a deploy
		return SetAs(ctx, c, undecodableKey, priceV1{"12.50"}, time.Minute)
	}},
	{"another type", func(ctx context.Context, c *Cache) error {
		return SetAs(ctx, c, undecodableKey, "hello", time.Minute)
	}},
	{"bytes", func(ctx context.Context, c *Cache) error { // another program's
		return c.Set(ctx, undecodableKey, []byte("<html>"), time.Minute)
	}},
	{"counter", func(ctx context.Context, c *Cache) error {
		_, err := c.Incr(ctx, undecodableKey, 7)
		return err
	}},
}

// TestGetOrSetUndecodableReloads: a GetOrSet[T] whose key held a value
// that does not decode as a T (stored by an older release, of another
// type, or written by another program) returned the decode error, and
// kept returning it until the value expired. Now, as Flask-Caching does
// with a value it cannot unpickle, it loads, stores the value over the old
// one and returns it; the decode error is counted and logged (without the
// key) as the Cache's other swallowed errors are.
func TestGetOrSetUndecodableReloads(t *testing.T) {
	for _, b := range undecodableBackends {
		for _, u := range undecodableValues {
			t.Run(b.name+"/"+u.name, func(t *testing.T) {
				ctx := t.Context()
				logs := &recordHandler{}
				c, err := New(&Options{Backend: b.open(t), Logger: slog.New(logs)})
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
				require.NoError(t, u.store(ctx, c))

				_, err = GetAs[priceV2](ctx, c, undecodableKey)
				require.ErrorIs(t, err, ErrDecode, "GetAs has no load: it reports the value it cannot read")
				require.NotErrorIs(t, err, ErrNotFound)
				require.ErrorContains(t, err, "caching: decode caching.priceV2: ")

				var loads atomic.Int64
				load := func(context.Context) (priceV2, error) {
					loads.Add(1)
					return priceV2{1250}, nil
				}
				p, err := GetOrSet(ctx, c, undecodableKey, time.Minute, load)
				require.NoError(t, err)
				require.Equal(t, priceV2{1250}, p)
				require.EqualValues(t, 1, loads.Load())

				p, err = GetAs[priceV2](ctx, c, undecodableKey)
				require.NoError(t, err, "the loaded value was stored over the old one")
				require.Equal(t, priceV2{1250}, p)
				p, err = GetOrSet(ctx, c, undecodableKey, time.Minute, load)
				require.NoError(t, err)
				require.Equal(t, priceV2{1250}, p)
				require.EqualValues(t, 1, loads.Load(), "a hit now")

				st := c.Stats()
				require.EqualValues(t, 1, st.Errors, "the decode error GetOrSet swallowed")
				require.EqualValues(t, 2, st.Hits, "a value that does not decode is no hit")
				logs.mu.Lock()
				defer logs.mu.Unlock()
				require.Len(t, logs.records, 1)
				var text strings.Builder
				logs.records[0].Attrs(func(a slog.Attr) bool {
					text.WriteString(a.String() + " ")
					return true
				})
				require.Contains(t, text.String(), "getorset decode")
				require.NotContains(t, text.String(), "s3cret", "no key in the log")
			})
		}
	}
}

// TestGetOrSetUndecodableJoined: the callers that come while one of them
// loads over an undecodable value wait for that load and get its value;
// load runs once.
func TestGetOrSetUndecodableJoined(t *testing.T) {
	for _, b := range undecodableBackends[:2] { // synctest: no network
		t.Run(b.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				c, err := New(&Options{Backend: b.open(t)})
				require.NoError(t, err)
				defer c.Close()
				require.NoError(t, SetAs(ctx, c, undecodableKey, priceV1{"12.50"}, time.Minute))
				var loads atomic.Int64
				release := make(chan struct{})
				load := func(context.Context) (priceV2, error) {
					loads.Add(1)
					<-release
					return priceV2{1250}, nil
				}
				type result struct {
					p   priceV2
					err error
				}
				results := make(chan result, 5)
				for range cap(results) {
					go func() {
						p, err := GetOrSet(ctx, c, undecodableKey, time.Minute, load)
						results <- result{p, err}
					}()
				}
				synctest.Wait() // all wait for the one load
				close(release)
				for range cap(results) {
					r := <-results
					require.NoError(t, r.err)
					require.Equal(t, priceV2{1250}, r.p)
				}
				require.EqualValues(t, 1, loads.Load())
			})
		})
	}
}

// TestGetOrSetBackendErrorStillReturned: only a value that does not decode
// is a miss; a backend that fails is still an error, and load does not run.
func TestGetOrSetBackendErrorStillReturned(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: nopClose{r}})
	require.NoError(t, err)
	defer c.Close()
	r.fail.Store(true)
	_, err = GetOrSet(t.Context(), c, "k", time.Minute, func(context.Context) (int, error) {
		t.Error("load ran")
		return 1, nil
	})
	require.ErrorIs(t, err, errDown)
	require.NotErrorIs(t, err, ErrDecode)
	require.Zero(t, c.Stats().Errors, "returned, not swallowed")
}
