package benchmarks

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// The Redis round trip (issue 9, point 4): a hit read through each layer on
// the same client, connection pool and server, so that they differ only by
// what each layer adds to a GET. Skipped without a Redis at
// CACHING_REDIS_ADDR (default 127.0.0.1:6379); a failure with CI=true.

var redisSizes = []int{64, 2 << 10}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("size=%dKiB", n>>10)
	}
	return fmt.Sprintf("size=%dB", n)
}

// BenchmarkRedisGet compares impl=raw (a GET on the go-redis client) with our
// backend (impl=redisstore), our Cache on that backend (impl=caching-cache:
// the entry envelope and stats on top) and go-redis/cache's Get without its
// local cache (impl=go-redis-cache).
func BenchmarkRedisGet(b *testing.B) {
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(b), ContextTimeoutEnabled: true})
	prefix := "caching-bench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	store := redisstore.Must(redisstore.Options{Client: client, Prefix: prefix})
	c := caching.Must(&caching.Options{Backend: store, DefaultTTL: time.Hour})
	rc := rediscache.New(&rediscache.Options{Redis: client})
	ctx := context.Background()
	b.Cleanup(func() {
		_ = store.Clear(ctx)
		_ = c.Close() // closes store; the client is ours
		_ = client.Close()
	})
	for _, size := range redisSizes {
		value := make([]byte, size)
		for i := range value {
			value[i] = byte('a' + i%26)
		}
		// "raw" is written through the backend so that raw, redisstore and
		// go-redis-cache read the same bytes under the same full key.
		if err := store.Set(ctx, "raw", value, 0); err != nil {
			b.Fatal(err)
		}
		if err := c.Set(ctx, "cache", value, 0); err != nil {
			b.Fatal(err)
		}
		full := prefix + "raw"
		impls := []struct {
			name string
			get  func() ([]byte, error)
		}{
			{"raw", func() ([]byte, error) { return client.Get(ctx, full).Bytes() }},
			{"redisstore", func() ([]byte, error) { return store.Get(ctx, "raw") }},
			{"caching-cache", func() ([]byte, error) { return c.Get(ctx, "cache") }},
			{"go-redis-cache", func() ([]byte, error) {
				var v []byte
				err := rc.Get(ctx, full, &v)
				return v, err
			}},
		}
		for _, impl := range impls {
			b.Run("impl="+impl.name+"/"+sizeName(size), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					v, err := impl.get()
					if err != nil || len(v) != size {
						b.Fatalf("got %d bytes, %v; want %d bytes", len(v), err, size)
					}
				}
			})
		}
	}
}
