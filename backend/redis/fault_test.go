package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestServerDown stops a Redis of the test's own under a Store: every
// operation fails fast with a wrapped error (not a miss), and once the
// server is back the same Store works again.
func TestServerDown(t *testing.T) {
	t.Parallel()
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	b := redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr})
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
			start := time.Now()
			err := tc.call(context.Background()) // no deadline: the Store's own timeouts bound it
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.Less(t, elapsed, 250*time.Millisecond, "a dead server must cost milliseconds")
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
func TestServerHangs(t *testing.T) {
	t.Parallel()
	addr := startSilentServer(t)
	t.Run("context", func(t *testing.T) {
		b := redisstore.Must(redisstore.Options{URL: "redis://" + addr, ReadTimeout: 5 * time.Second})
		t.Cleanup(func() { _ = b.Close() })
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := b.Get(c, "k")
		require.Error(t, err)
		assert.Less(t, time.Since(start), time.Second, "the context's deadline bounds the call")
		assert.False(t, errors.Is(err, backend.ErrNotFound))
	})
	t.Run("read timeout", func(t *testing.T) {
		b := redisstore.Must(redisstore.Options{URL: "redis://" + addr, ReadTimeout: 100 * time.Millisecond, MaxRetries: -1})
		t.Cleanup(func() { _ = b.Close() })
		start := time.Now()
		_, err := b.Get(context.Background(), "k")
		require.Error(t, err)
		assert.Less(t, time.Since(start), time.Second, "ReadTimeout bounds the call")
		assert.False(t, errors.Is(err, backend.ErrNotFound))
	})
}
