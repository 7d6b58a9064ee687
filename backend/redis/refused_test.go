package redisstore_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// countingDialer dials like go-redis's default dialer and counts the
// attempts.
type countingDialer struct{ n atomic.Int64 }

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// beforeClient is a client as the Store built one before the back-off was
// turned off: the Store's timeouts, one retry, one dial attempt, and
// go-redis's retry back-off and pool timeout.
func beforeClient(addr string, dial func(context.Context, string, string) (net.Conn, error), poolSize int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, Dialer: dial, PoolSize: poolSize,
		DialTimeout: redisstore.DefaultDialTimeout, ReadTimeout: redisstore.DefaultReadTimeout,
		WriteTimeout: redisstore.DefaultWriteTimeout, MaxRetries: 1, DialerRetries: 1,
		ContextTimeoutEnabled: true,
	})
}

// Regression (issue 12.9): against a stopped Redis every Get slept go-redis's
// retry back-off (10 to 30ms) before its retry, so a service whose Redis was
// down served 335 requests a second instead of 16,700. A Get against a
// refused port now makes two dial attempts (the try and its one retry) and
// no sleep; this counts them rather than timing them.
func TestRefusedConnectionCostsTwoDialsAndNoSleep(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	var d countingDialer
	b := redisstore.Must(redisstore.Options{ClientOptions: &redis.UniversalOptions{
		Addrs: []string{addr}, Dialer: d.dial, PoolSize: 1000,
	}})
	t.Cleanup(func() { _ = b.Close() })

	_, err := b.Get(context.Background(), "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
	assert.Equal(t, int64(2), d.n.Load(), "dial attempts for one Get: the try and one retry")

	o := b.Client().(*redis.Client).Options()
	assert.Zero(t, o.MinRetryBackoff, "no sleep before a retry")
	assert.Zero(t, o.MaxRetryBackoff, "no sleep before a retry")
	assert.Equal(t, 1, o.DialerRetries, "one dial attempt per connection")

	// What the Store built before: the same dials, and a sleep between.
	before := beforeClient(addr, d.dial, 1000)
	t.Cleanup(func() { _ = before.Close() })
	assert.Positive(t, before.Options().MinRetryBackoff, "go-redis's default back-off")
}

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t testing.TB) string {
	return testutil.RefusedAddr(t)
}

// TestBuiltClientsNeverSleepBetweenRetries checks every kind of client the
// Store builds: no retry back-off, one dial attempt, DefaultPoolTimeout; a
// URL that sets a back-off keeps it.
func TestBuiltClientsNeverSleepBetweenRetries(t *testing.T) {
	t.Parallel()
	type opts struct {
		min, max, pool time.Duration
		dialerRetries  int
	}
	of := func(t *testing.T, o redisstore.Options) opts {
		b, err := redisstore.New(o)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		switch c := b.Client().(type) {
		case *redis.Client:
			x := c.Options()
			return opts{x.MinRetryBackoff, x.MaxRetryBackoff, x.PoolTimeout, x.DialerRetries}
		case *redis.ClusterClient:
			x := c.Options()
			return opts{x.MinRetryBackoff, x.MaxRetryBackoff, x.PoolTimeout, x.DialerRetries}
		}
		t.Fatalf("unexpected client %T", b.Client())
		return opts{}
	}
	want := opts{0, 0, redisstore.DefaultPoolTimeout, 1}
	for name, o := range map[string]redisstore.Options{
		"single":          {URL: "redis://127.0.0.1:1"},
		"unix":            {URL: "unix:///tmp/none.sock"},
		"cluster":         {URL: "redis+cluster://127.0.0.1:1,127.0.0.1:2"},
		"sentinel":        {URL: "redis+sentinel://127.0.0.1:1/m"},
		"client options":  {ClientOptions: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}}},
		"cluster options": {ClientOptions: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, want, of(t, o))
		})
	}
	t.Run("url keeps its own", func(t *testing.T) {
		got := of(t, redisstore.Options{URL: "redis://127.0.0.1:1?min_retry_backoff=5ms&pool_timeout=3s"})
		assert.Equal(t, 5*time.Millisecond, got.min)
		assert.Positive(t, got.max, "go-redis's default maximum")
		assert.Equal(t, 3*time.Second, got.pool)
	})
}

// BenchmarkGetRefused measures one Get against a loopback port where nothing
// listens, with the client the Store builds now (after) and as it built it
// before the retry back-off was turned off (before). pool=fresh dials on
// every Get (a pool larger than the number of failures, up to 50,000 Gets:
// run it with -benchtime 2000x); pool=saturated
// is go-redis's default pool, which stops dialing once as many dials as it
// has connections have failed, and then fails from memory (probing once a
// second).
func BenchmarkGetRefused(b *testing.B) {
	redis.SetLogger(&logging.VoidLogger{}) // a line per failed dial otherwise
	addr := refusedAddr(b)
	for _, pool := range []struct {
		name string
		size int
	}{{"fresh", 100_000}, {"saturated", 0}} {
		for _, when := range []string{"before", "after"} {
			b.Run("pool="+pool.name+"/defaults="+when, func(b *testing.B) {
				var d countingDialer
				var client redis.UniversalClient
				if when == "before" {
					client = beforeClient(addr, d.dial, pool.size)
				} else {
					s := redisstore.Must(redisstore.Options{ClientOptions: &redis.UniversalOptions{
						Addrs: []string{addr}, Dialer: d.dial, PoolSize: pool.size,
					}})
					defer s.Close()
					client = s.Client()
				}
				defer client.Close()
				s := redisstore.Must(redisstore.Options{Client: client})
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Get(ctx, "k"); err == nil {
						b.Fatal("a Get against a refused port succeeded")
					}
				}
				b.ReportMetric(float64(d.n.Load())/float64(b.N), "dials/op")
			})
		}
	}
}
