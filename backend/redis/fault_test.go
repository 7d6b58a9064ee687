package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestServerDown stops a Redis of the test's own under a Store: every
// operation fails fast with a wrapped error (not a miss), and once the
// server is back the same Store works again. Fast is counted, not timed:
// a call dials at most once per try (the Store's one retry), where
// go-redis's own default dials five times, 100ms apart, per connection.
func TestServerDown(t *testing.T) {
	t.Parallel()
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	// The pool's size is past the dials the calls below make: go-redis
	// would otherwise probe the server in the background, once a second,
	// and those dials would count against whichever call ran then.
	var dials countingDialer
	b := redisstore.Must(redisstore.Options{ClientOptions: &redis.UniversalOptions{Addrs: []string{srv.Addr}, Dialer: dials.dial, PoolSize: 1000}})
	t.Cleanup(func() { _ = b.Close() })
	const key = "secret-key-4711"
	require.NoError(t, b.Set(ctx(t), key, []byte("v"), 0))

	srv.Stop()
	ops := []struct {
		name string
		op   string // the operation its error names
		call func(ctx context.Context) error
	}{
		{"Get", "get", func(c context.Context) error { _, err := b.Get(c, key); return err }},
		{"Set", "set", func(c context.Context) error { return b.Set(c, key, []byte("v"), time.Minute) }},
		{"Add", "add", func(c context.Context) error { _, err := b.Add(c, key, []byte("v"), 0); return err }},
		{"Delete", "delete", func(c context.Context) error { return b.Delete(c, key, key+"2") }},
		{"GetMany", "getmany", func(c context.Context) error { _, err := b.GetMany(c, []string{key, key + "2"}); return err }},
		{"SetMany", "setmany", func(c context.Context) error {
			return b.SetMany(c, []backend.Item{{Key: key, Value: []byte("v")}, {Key: key + "2", Value: []byte("w")}})
		}},
		{"Incr", "incr", func(c context.Context) error { _, err := b.Incr(c, key+"n", 1); return err }},
		{"Has", "has", func(c context.Context) error { _, err := b.Has(c, key); return err }},
		{"Clear", "clear", func(c context.Context) error { return b.Clear(c) }},
	}
	for _, tc := range ops {
		t.Run(tc.name, func(t *testing.T) {
			before := dials.n.Load()
			err := tc.call(context.Background()) // no deadline: the Store's own timeouts bound it
			require.Error(t, err)
			assert.LessOrEqual(t, dials.n.Load()-before, int64(1+redisstore.DefaultMaxRetries), "a dead server must cost one refused dial per try")
			assert.False(t, errors.Is(err, backend.ErrNotFound), "a dead server is not a miss: %v", err)
			assert.False(t, errors.Is(err, backend.ErrClosed), "a dead server is not a closed backend: %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "redisstore: "+tc.op+": "), "error %q", err)
			assert.NotContains(t, err.Error(), key)
		})
	}

	srv.Start()
	// go-redis probes a server that refused many dials about once a second;
	// wait for the same Store to see it again.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.NoError(c, b.Set(context.Background(), key, []byte("back"), 0))
	}, 10*time.Second, 50*time.Millisecond)
	got, err := b.Get(ctx(t), key)
	require.NoError(t, err)
	assert.Equal(t, "back", string(got))
	got2, err := b.GetMany(ctx(t), []string{key, "absent"})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("back"), nil}, got2)
}

// TestServerHangs: against a server that never answers, a call is bounded
// by its context, and without a deadline by the read timeout (once per try).
// The bounds are wide (200 times the 100ms wait that ends each call): the
// wrong wait is minutes (a ReadTimeout the context should cut short) or
// forever (a read nothing bounds), so a loaded machine cannot fail them.
func TestServerHangs(t *testing.T) {
	t.Parallel()
	addr := startSilentServer(t)
	t.Run("context", func(t *testing.T) {
		b := redisstore.Must(redisstore.Options{URL: "redis://" + addr, ReadTimeout: 2 * time.Minute})
		t.Cleanup(func() { _ = b.Close() })
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.Get(c, "k")
		require.Error(t, err)
		assert.Less(t, time.Since(start), 20*time.Second, "the context's deadline bounds the call, not ReadTimeout")
		assert.False(t, errors.Is(err, backend.ErrNotFound))
	})
	t.Run("read timeout", func(t *testing.T) {
		b := redisstore.Must(redisstore.Options{URL: "redis://" + addr, ReadTimeout: 100 * time.Millisecond, MaxRetries: -1})
		t.Cleanup(func() { _ = b.Close() })
		start := time.Now()
		_, err := b.Get(context.Background(), "k")
		require.Error(t, err)
		assert.Less(t, time.Since(start), 20*time.Second, "ReadTimeout bounds the call")
		assert.False(t, errors.Is(err, backend.ErrNotFound))
	})
}
