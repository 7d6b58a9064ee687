package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

var prefixes atomic.Int64

// uniquePrefix returns a namespace no other backend of this test run uses,
// so that tests sharing a server never see each other's keys.
func uniquePrefix(t testing.TB) string {
	return fmt.Sprintf("test:%d:%d:", time.Now().UnixNano(), prefixes.Add(1))
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// testClearTouchesOnlyItsPrefix checks that Clear under prefix, on
// client, deletes its keys and none other, glob characters in prefix
// included.
func testClearTouchesOnlyItsPrefix(t *testing.T, client redis.UniversalClient, prefix string) {
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: prefix})
	t.Cleanup(func() { _ = b.Close() })
	others := []string{
		strings.TrimSuffix(prefix, ":") + "x:k",           // matched by prefix* unescaped
		strings.Replace(prefix, "*[ab]?", "Za!", 1) + "k", // matched by the unescaped glob
		"unrelated",
	}
	for _, k := range others {
		require.NoError(t, client.Set(ctx(t), k, "survives", 0).Err())
		t.Cleanup(func() { client.Del(context.Background(), k) })
	}
	for i := range 2500 { // several SCAN batches
		require.NoError(t, b.Set(ctx(t), fmt.Sprint(i), []byte("v"), 0))
	}
	require.NoError(t, b.Clear(ctx(t)))
	for _, k := range []string{"0", "1234", "2499"} {
		_, err := b.Get(ctx(t), k)
		assert.ErrorIs(t, err, backend.ErrNotFound)
	}
	for _, k := range others {
		v, err := client.Get(ctx(t), k).Result()
		require.NoError(t, err, "Clear deleted a key outside its prefix")
		assert.Equal(t, "survives", v)
	}
}
