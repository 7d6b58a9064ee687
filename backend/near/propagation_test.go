package near_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// BenchmarkInvalidationPropagation measures, on the real Redis, the time
// from InvalidateTags returning in this process to the first miss of the
// tagged key in another process whose near cache held it (the child reads
// it in a loop; the clocks are the machine's one wall clock). It reports
// the percentiles of b.N invalidations: run it with -benchtime 1000x and
// -count 6 for the spread. A negative time is a miss seen before
// InvalidateTags returned (Redis pushes the news before it answers).
func BenchmarkInvalidationPropagation(b *testing.B) {
	srv := newServer("redis", testutil.RedisAddr(b))
	remote := redisstore.Must(redisstore.Options{URL: "redis://" + srv.addrs[0], Prefix: srv.prefix + ":"})
	c := caching.Must(&caching.Options{Backend: near.Must(remote, near.Options{})})
	b.Cleanup(func() { _ = c.Clear(context.Background()); c.Close() })
	reader := startChild(b, srv, 0)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		if err := c.Set(ctx, "k", []byte("v"), time.Minute, caching.Tags("t")); err != nil {
			b.Fatal(err)
		}
		reader.expect("ok spinning", "spin k t")
		if err := c.InvalidateTags(ctx, "t"); err != nil {
			b.Fatal(err)
		}
		returned := time.Now().UnixNano()
		line, err := reader.out.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		missed, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(line), "ok "), 10, 64)
		if err != nil {
			b.Fatalf("child: %q", line)
		}
		lat = append(lat, time.Duration(missed-returned))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.5), "p50-µs")
	b.ReportMetric(pct(0.9), "p90-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(1), "max-µs")
	b.ReportMetric(0, "ns/op")
}
