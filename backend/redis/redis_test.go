//go:build !plan9

package redisstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// miniredisCounts are the values of backendtest's IncrCanonical that
// miniredis, unlike Redis (see real_test.go), counts from: it reads them
// with strconv.Atoi.
var miniredisCounts = []string{"007", "+5", "-0", "00", "-05"}

func TestConformanceMiniredis(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	backendtest.RunWith(t, func(t *testing.T) backend.Backend {
		return redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr(), Prefix: uniquePrefix(t)})
	}, backendtest.Options{Advance: m.FastForward, IncrAccepts: miniredisCounts})
}

// TestConformanceMiniredisPerKey runs the suite through a client the
// Store cannot see into (a Ring of one shard), which takes the
// one-command-per-key path.
func TestConformanceMiniredisPerKey(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	ring := redis.NewRing(&redis.RingOptions{ContextTimeoutEnabled: true, Addrs: map[string]string{"a": m.Addr()}})
	t.Cleanup(func() { _ = ring.Close() })
	backendtest.RunWith(t, func(t *testing.T) backend.Backend {
		return redisstore.Must(redisstore.Options{Client: ring, Prefix: uniquePrefix(t)})
	}, backendtest.Options{Advance: m.FastForward, IncrAccepts: miniredisCounts})
}

func TestKeysArePrefixed(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), time.Minute))
	got, err := m.Get("caching:k")
	require.NoError(t, err, "the default prefix is caching:")
	assert.Equal(t, "v", got)
	assert.Equal(t, time.Minute, m.TTL("caching:k"))
	assert.Equal(t, "caching:", b.Prefix())
}

func TestSubMillisecondTTLRoundsUp(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), 1500*time.Microsecond))
	assert.Equal(t, 2*time.Millisecond, m.TTL("caching:k"))
}

// TestClearTouchesOnlyItsPrefix uses a prefix full of glob characters: an
// unescaped SCAN pattern would also match the other keys.
func TestClearTouchesOnlyItsPrefix(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	testClearTouchesOnlyItsPrefix(t, client, "glob*[ab]?:")
}

func TestClearFlushesDB(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	m.Set("other", "v")
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr(), ClearFlushesDB: true})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), 0))
	require.NoError(t, b.Clear(ctx(t)))
	assert.False(t, m.Exists("other"), "ClearFlushesDB flushes the whole database")
	assert.False(t, m.Exists("caching:k"))
}

func TestIncrWrongType(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	_, err := m.Lpush("caching:list", "x")
	require.NoError(t, err)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	t.Cleanup(func() { _ = b.Close() })
	_, err = b.Incr(ctx(t), "list", 1)
	assert.ErrorIs(t, err, backend.ErrNotInteger)
}

func TestCloseLeavesCallersClientOpen(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	b := redisstore.Must(redisstore.Options{Client: client})
	require.NoError(t, b.Close())
	_, err := b.Get(ctx(t), "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.NoError(t, client.Ping(ctx(t)).Err(), "Close closed a client the Store did not build")
}

func TestCloseClosesOwnClient(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	client := b.Client()
	require.NoError(t, b.Close())
	assert.ErrorIs(t, client.Ping(ctx(t)).Err(), redis.ErrClosed)
}

// TestClientClosedUnderBackend: when the caller closes its own client, the
// Store reports backend.ErrClosed, not an opaque error.
func TestClientClosedUnderBackend(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	b := redisstore.Must(redisstore.Options{Client: client})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, client.Close())
	_, err := b.Get(ctx(t), "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
	_, err = b.GetMany(ctx(t), []string{"a", "b"})
	assert.ErrorIs(t, err, backend.ErrClosed)
}

func TestErrorsHoldNoKey(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	t.Cleanup(func() { _ = b.Close() })
	const key = "user/42?token=s3cret"
	_, err := b.Get(ctx(t), key)
	require.ErrorIs(t, err, backend.ErrNotFound)
	assert.NotContains(t, err.Error(), "s3cret")
	require.NoError(t, b.Set(ctx(t), key, []byte("text"), 0))
	_, err = b.Incr(ctx(t), key, 1)
	require.ErrorIs(t, err, backend.ErrNotInteger)
	assert.NotContains(t, err.Error(), "s3cret")
	m.SetError("LOADING Redis is loading the dataset in memory")
	_, err = b.Get(ctx(t), key)
	require.Error(t, err)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
	assert.True(t, strings.HasPrefix(err.Error(), "redisstore: get: "), "error %q", err)
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestStatsUnknown(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	t.Cleanup(func() { _ = b.Close() })
	assert.Equal(t, backend.Stats{Entries: -1, Bytes: -1, Evictions: -1}, b.Stats())
}

func TestAddTTL(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr()})
	t.Cleanup(func() { _ = b.Close() })
	ok, err := b.Add(ctx(t), "k", []byte("v"), 1500*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 1500*time.Millisecond, m.TTL("caching:k"))
	ok, err = b.Add(ctx(t), "k", []byte("w"), time.Hour)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, 1500*time.Millisecond, m.TTL("caching:k"), "a refused Add must not touch the TTL")
}
