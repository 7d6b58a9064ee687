package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// benchSetup returns a raw client on the real Redis and a Store on the
// same client, so that the two differ only by what the Store adds.
func benchSetup(b *testing.B) (*redis.Client, *redisstore.Store) {
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(b), ContextTimeoutEnabled: true})
	be := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(b)})
	b.Cleanup(func() {
		_ = be.Clear(context.Background())
		_ = be.Close()
		_ = client.Close()
	})
	return client, be
}

var benchSizes = []int{64, 2 << 10}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("size=%dKiB", n>>10)
	}
	return fmt.Sprintf("size=%dB", n)
}

// BenchmarkGet compares a hit through the Store with a GET on the raw
// client: compare impl=backend with impl=raw (benchstat -col /impl).
func BenchmarkGet(b *testing.B) {
	client, be := benchSetup(b)
	ctx := context.Background()
	for _, size := range benchSizes {
		if err := be.Set(ctx, "k", make([]byte, size), 0); err != nil {
			b.Fatal(err)
		}
		full := be.Prefix() + "k"
		b.Run("impl=raw/"+sizeName(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := client.Get(ctx, full).Bytes(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=backend/"+sizeName(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := be.Get(ctx, "k"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetParallel is BenchmarkGet from many goroutines.
func BenchmarkGetParallel(b *testing.B) {
	client, be := benchSetup(b)
	ctx := context.Background()
	if err := be.Set(ctx, "k", make([]byte, 2<<10), 0); err != nil {
		b.Fatal(err)
	}
	full := be.Prefix() + "k"
	b.Run("impl=raw/size=2KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := client.Get(ctx, full).Bytes(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=backend/size=2KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := be.Get(ctx, "k"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetMany compares GetMany of 10 keys (half of them hits) with a
// raw MGET of the same keys.
func BenchmarkGetMany(b *testing.B) {
	client, be := benchSetup(b)
	ctx := context.Background()
	keys := make([]string, 10)
	full := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
		full[i] = be.Prefix() + keys[i]
		if i%2 == 0 {
			if err := be.Set(ctx, keys[i], make([]byte, 256), 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("impl=raw/keys=10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vals, err := client.MGet(ctx, full...).Result()
			if err != nil {
				b.Fatal(err)
			}
			out := make([][]byte, len(vals)) // what a caller needs: bytes
			for i, v := range vals {
				if s, ok := v.(string); ok {
					out[i] = []byte(s)
				}
			}
		}
	})
	b.Run("impl=backend/keys=10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := be.GetMany(ctx, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSetMany compares SetMany of 10 items with a raw pipeline of
// the same SETs.
func BenchmarkSetMany(b *testing.B) {
	client, be := benchSetup(b)
	ctx := context.Background()
	items := make([]backend.Item, 10)
	for i := range items {
		items[i] = backend.Item{Key: fmt.Sprintf("k%d", i), Value: make([]byte, 256), TTL: time.Minute}
	}
	b.Run("impl=raw/keys=10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pipe := client.Pipeline()
			for _, it := range items {
				pipe.Set(ctx, be.Prefix()+it.Key, it.Value, it.TTL)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=backend/keys=10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := be.SetMany(ctx, items); err != nil {
				b.Fatal(err)
			}
		}
	})
}
