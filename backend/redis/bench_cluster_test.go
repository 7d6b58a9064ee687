package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// BenchmarkClusterGet is a hit through a Store on the real Redis Cluster,
// and a GetMany of 16 hits over its masters: the healthy path, which the
// masters' health (health.go) must keep as cheap as it was.
func BenchmarkClusterGet(b *testing.B) {
	be := redisstore.Must(redisstore.Options{
		URL:    "redis+cluster://" + strings.Join(testutil.RedisClusterAddrs(b), ","),
		Prefix: uniquePrefix(b),
	})
	b.Cleanup(func() {
		_ = be.Clear(context.Background())
		_ = be.Close()
	})
	ctx := context.Background()
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		if err := be.Set(ctx, keys[i], make([]byte, 64), 0); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("op=get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := be.Get(ctx, "k0"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=getmany16", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := be.GetMany(ctx, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
}
