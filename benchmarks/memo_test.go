package benchmarks

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/viccon/sturdyc"
)

// The memoization comparison (issue 9, point 3): a hit on a memoized
// function of a small struct argument returning a small struct, cycling over
// memoArgsN distinct arguments that are all cached.

const (
	memoArgsN = 1000
	memoTTL   = time.Hour
)

// statsArgs and stats are the argument and result of the memoized function.
type statsArgs struct {
	UserID int
	Period string
}

type stats struct {
	UserID  int
	Period  string
	Orders  int
	Revenue float64
	TopSKUs []string
}

func computeStats(_ context.Context, a statsArgs) (stats, error) {
	return stats{UserID: a.UserID, Period: a.Period, Orders: a.UserID * 3, Revenue: float64(a.UserID) * 9.5,
		TopSKUs: []string{"SKU-000001", "SKU-000002", "SKU-000003"}}, nil
}

// statsKey is the key a user of the peer libraries writes by hand (the
// cheapest one: they have no argument encoder).
func statsKey(a statsArgs) string { return "stats:" + strconv.Itoa(a.UserID) + ":" + a.Period }

var memoArgs = func() []statsArgs {
	periods := []string{"daily", "weekly", "monthly", "yearly"}
	a := make([]statsArgs, memoArgsN)
	for i := range a {
		a[i] = statsArgs{UserID: i, Period: periods[i%len(periods)]}
	}
	return a
}()

// memoImpl builds one contender: a memoized form of fn.
type memoImpl struct {
	name string
	new  func(b *testing.B, fn func(context.Context, statsArgs) (stats, error)) func(context.Context, statsArgs) (stats, error)
}

// memoImpls lists the contenders; ours joins it from memoize_test.go.
var memoImpls = []memoImpl{
	{"go-redis-cache", func(_ *testing.B, fn func(context.Context, statsArgs) (stats, error)) func(context.Context, statsArgs) (stats, error) {
		c := rediscache.New(&rediscache.Options{LocalCache: rediscache.NewTinyLFU(10*memoArgsN, memoTTL)})
		return func(ctx context.Context, a statsArgs) (stats, error) {
			var s stats
			err := c.Once(&rediscache.Item{Ctx: ctx, Key: statsKey(a), Value: &s, TTL: memoTTL,
				Do: func(it *rediscache.Item) (any, error) { return fn(it.Ctx, a) }})
			return s, err
		}
	}},
	{"sturdyc", func(_ *testing.B, fn func(context.Context, statsArgs) (stats, error)) func(context.Context, statsArgs) (stats, error) {
		c := sturdyc.New[stats](10*memoArgsN, 16, memoTTL, 10)
		return func(ctx context.Context, a statsArgs) (stats, error) {
			return c.GetOrFetch(ctx, statsKey(a), func(ctx context.Context) (stats, error) { return fn(ctx, a) })
		}
	}},
}

// newMemo returns impl's memoized computeStats with every argument cached,
// and the number of calls that reached computeStats.
func newMemo(b *testing.B, impl memoImpl) (func(context.Context, statsArgs) (stats, error), *atomic.Int64) {
	calls := new(atomic.Int64)
	f := impl.new(b, func(ctx context.Context, a statsArgs) (stats, error) {
		calls.Add(1)
		return computeStats(ctx, a)
	})
	for _, a := range memoArgs {
		if _, err := f(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
	return f, calls
}

// callMemo calls f with the i-th argument (cycling) and checks the result.
func callMemo(ctx context.Context, f func(context.Context, statsArgs) (stats, error), i int) error {
	a := memoArgs[i%memoArgsN]
	s, err := f(ctx, a)
	if err != nil || s.UserID != a.UserID || len(s.TopSKUs) != 3 {
		return fmt.Errorf("got %+v, %v for %+v", s, err, a)
	}
	return nil
}

// checkCalls fails b unless every call after the fill was a hit.
func checkCalls(b *testing.B, calls *atomic.Int64) {
	if n := calls.Load(); n != memoArgsN {
		b.Fatalf("function ran %d times; want %d (hits are not hits)", n, memoArgsN)
	}
}

// BenchmarkMemoHit is a call of a memoized function whose result is cached.
func BenchmarkMemoHit(b *testing.B) {
	for _, impl := range memoImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			f, calls := newMemo(b, impl)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := callMemo(ctx, f, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
			checkCalls(b, calls)
		})
	}
}

// BenchmarkMemoHitParallel is BenchmarkMemoHit from every core.
func BenchmarkMemoHitParallel(b *testing.B) {
	for _, impl := range memoImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			f, calls := newMemo(b, impl)
			var next atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				i := int(next.Add(1) * 257)
				for pb.Next() {
					if err := callMemo(ctx, f, i); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
					i++
				}
			})
			checkCalls(b, calls)
		})
	}
}
