package caching

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// deadMemcachedAddr returns a loopback address where nothing listens: a
// memcached server that is down.
func deadMemcachedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// memcachedNamespaceOn returns a fresh namespace whose generation key is
// on the server of index i of n.
func memcachedNamespaceOn(i, n int) string {
	for j := 0; ; j++ {
		ns := fmt.Sprint("down-", time.Now().UnixNano(), "-", j)
		if crc32.ChecksumIEEE([]byte(ns+":gen"))%uint32(n) == uint32(i) {
			return ns
		}
	}
}

// openMemcachedCache returns a Cache on a memcached Store of servers in
// namespace ns.
func openMemcachedCache(t *testing.T, servers []string, ns string, br BreakerOptions) *Cache {
	t.Helper()
	return openMemcachedCacheWith(t, memcached.Options{Servers: servers, Namespace: ns}, br)
}

// openMemcachedCacheWith returns a Cache on a memcached Store of opts.
func openMemcachedCacheWith(t *testing.T, opts memcached.Options, br BreakerOptions) *Cache {
	t.Helper()
	b, err := memcached.New(opts)
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Breaker: br})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// requireLiveMemcachedKeysServed reads 400 keys through a Cache (with the
// default breaker) on a memcached Store of the live server and dead, and
// fails unless every key on the live server was served; it returns the
// Cache.
func requireLiveMemcachedKeysServed(t *testing.T, dead string) *Cache {
	return requireLiveMemcachedKeysServedAfter(t, dead, 0)
}

// requireLiveMemcachedKeysServedAfter is requireLiveMemcachedKeysServed
// after reading 20 keys through the Cache every 10ms for warm: the time a
// server takes to be marked down (and the breaker to close again, should
// it have opened meanwhile).
func requireLiveMemcachedKeysServedAfter(t *testing.T, dead string, warm time.Duration) *Cache {
	t.Helper()
	ctx := context.Background()
	servers := []string{testutil.MemcachedAddrs(t)[0], dead}
	ns := memcachedNamespaceOn(0, 2) // the generation on the live server
	// Which keys are on the live server: those a Cache without a breaker
	// can write.
	plain := openMemcachedCache(t, servers, ns, BreakerOptions{Threshold: -1})
	live := map[string]bool{}
	for i := range 400 {
		k := fmt.Sprint("k", i)
		live[k] = plain.Set(ctx, k, []byte("v"), time.Minute) == nil
	}

	c := openMemcachedCache(t, servers, ns, BreakerOptions{})
	for start := time.Now(); time.Since(start) < warm; {
		for i := range 20 {
			_, _ = c.Get(ctx, fmt.Sprint("k", i))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every key read once, in order, as requests would: runs of keys on
	// the dead server come between those on the live one.
	onLive, refused := 0, 0
	for i := range 400 {
		k := fmt.Sprint("k", i)
		_, err := c.Get(ctx, k)
		if !live[k] {
			require.Error(t, err, "a key on the dead server")
			continue
		}
		onLive++
		if err != nil {
			require.ErrorIs(t, err, ErrUnavailable, "unexpected error")
			refused++
		}
	}
	require.NotZero(t, onLive)
	require.Less(t, onLive, 400, "some keys must be on the dead server")
	require.Zero(t, refused, "%d of the %d keys on the live server were refused (breaker %s) because the other server fails",
		refused, onLive, c.Stats().Breaker)
	require.Equal(t, "closed", c.Stats().Breaker)
	return c
}

// Regression: with one memcached server of two down, the Cache's circuit
// breaker counted the failures of the dead server's keys against the whole
// backend, opened after 5 in a row, and then refused the keys of the live
// server too (and flapped). The Store now marks the dead server down and
// refuses its keys at once with backend.ErrServerDown, which the breaker
// does not count: the live server's keys are served, and the dead one's
// fail open (computed, uncached).
func TestOneMemcachedServerDownLeavesTheOthersServing(t *testing.T) {
	ctx := context.Background()
	c := requireLiveMemcachedKeysServed(t, deadMemcachedAddr(t))

	// The dead server's keys fail open: Memoize computes.
	calls := 0
	m := Memoize(c, "double", func(_ context.Context, n int) (int, error) { calls++; return 2 * n, nil })
	for i := range 40 {
		v, err := m.Get(ctx, i)
		require.NoError(t, err)
		require.Equal(t, 2*i, v)
	}
	require.GreaterOrEqual(t, calls, 1)
}

// With every memcached server down, the Cache's breaker still opens: the
// Store's refusals then say the store is down, not one server, and the
// calls cost nothing.
func TestEveryMemcachedServerDownOpensTheBreaker(t *testing.T) {
	testutil.MemcachedAddrs(t) // the memcached tests' condition
	ctx := context.Background()
	for _, threshold := range []int{0, 20} {
		t.Run(fmt.Sprint("Threshold=", threshold), func(t *testing.T) {
			servers := []string{deadMemcachedAddr(t), deadMemcachedAddr(t)}
			c := openMemcachedCache(t, servers, memcachedNamespaceOn(0, 2), BreakerOptions{Threshold: threshold, Cooldown: time.Minute})
			var err error
			for i := range 100 {
				if _, err = c.Get(ctx, fmt.Sprint("k", i)); errors.Is(err, ErrUnavailable) {
					break
				}
			}
			require.ErrorIs(t, err, ErrUnavailable, "the breaker never opened (%s)", c.Stats().Breaker)
			require.Equal(t, "open", c.Stats().Breaker)
		})
	}
}

// The breaker is open (a few failures of the dead server's keys before the
// Store marked it down opened it: under concurrent traffic, the calls in
// flight when a server hangs all fail together). Its cool-down ends and the
// next call is its probe. When that call's key is on the server marked
// down, the Store refuses it with backend.ErrServerDown, which report
// counts neither way: the breaker, half-open, holds the probe's lease for a
// whole Cooldown and refuses every call meanwhile, the live server's keys
// too. With half the keys on the dead server, each probe has even odds of
// costing another Cooldown of total outage.
func TestBreakerProbeRefusedWithServerDownHandsItsTurnBack(t *testing.T) {
	ctx := context.Background()
	servers := []string{testutil.MemcachedAddrs(t)[0], deadMemcachedAddr(t)}
	ns := memcachedNamespaceOn(0, 2) // the generation on the live server
	plain := openMemcachedCache(t, servers, ns, BreakerOptions{Threshold: -1})
	var liveKey, deadKeys = "", []string{}
	for i := 0; liveKey == "" || len(deadKeys) < 4; i++ {
		k := fmt.Sprint("k", i)
		if plain.Set(ctx, k, []byte("v"), time.Minute) == nil {
			liveKey = k
		} else {
			deadKeys = append(deadKeys, k)
		}
	}

	b, err := memcached.New(memcached.Options{Servers: servers, Namespace: ns})
	require.NoError(t, err)
	const cooldown = 300 * time.Millisecond
	c, err := New(&Options{Backend: b, Breaker: BreakerOptions{Threshold: 1, Cooldown: cooldown}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Get(ctx, liveKey) // the generation read
	require.NoError(t, err)

	// A failure of the dead server's key opens the breaker; more calls
	// straight to the Store mark that server down (for a second).
	_, err = c.Get(ctx, deadKeys[0])
	require.Error(t, err)
	require.Equal(t, "open", c.Stats().Breaker)
	for i := 0; ; i++ {
		err := b.Set(ctx, fmt.Sprint("raw", i), []byte("v"), time.Minute)
		if errors.Is(err, backend.ErrServerDown) {
			break
		}
		require.Less(t, i, 100, "the dead server is never marked down")
	}
	time.Sleep(cooldown + 20*time.Millisecond)
	// The breaker's probe: a key on the server marked down.
	_, err = c.Get(ctx, deadKeys[3])
	require.ErrorIs(t, err, backend.ErrServerDown)
	// The live server answers; its keys are refused all the same.
	_, err = c.Get(ctx, liveKey)
	require.False(t, errors.Is(err, ErrUnavailable),
		"a key on the live server was refused (breaker %s): the probe refused with ErrServerDown left the breaker holding its lease for another Cooldown", c.Stats().Breaker)
	require.NoError(t, err)
}

// The calls a memcached Store refuses at once because their key's server
// is marked down (backend.ErrServerDown) were not made: like the breaker's
// refusals, they count in Stats.Unavailable, not in Errors (the Cache's
// nor a function's), which count the backend's failures. The failures that
// marked the server down are Errors.
func TestMemcachedServerDownRefusalsCountAsUnavailable(t *testing.T) {
	ctx := context.Background()
	servers := []string{testutil.MemcachedAddrs(t)[0], deadMemcachedAddr(t)}
	c := openMemcachedCache(t, servers, memcachedNamespaceOn(0, 2), BreakerOptions{Threshold: -1})
	m := Memoize(c, "probe", func(_ context.Context, n int) (int, error) { return n, nil })
	for n := range 200 {
		v, err := m.Get(ctx, n)
		require.NoError(t, err)
		require.Equal(t, n, v)
	}
	s := c.Stats()
	// About half the calls' keys are on the dead server; each such call
	// reads its key and, having computed, writes it. Only the first few
	// failed at the connection before the server was marked down.
	require.Greater(t, s.Unavailable, int64(50), "refusals of the server marked down (errors %d)", s.Errors)
	require.LessOrEqual(t, s.Errors, int64(serverDownFailures+2), "refusals of the server marked down counted as errors")
	require.LessOrEqual(t, c.MemoStats()["probe"].Errors, int64(serverDownFailures+2), "the function's errors")
}

// serverDownFailures is how many failures in a row mark a memcached
// server down (the memcached package's serverDownAfter).
const serverDownFailures = 3

// acceptCloseAddr returns a loopback address whose listener accepts every
// connection and closes it at once: a TCP proxy (haproxy, Envoy,
// twemproxy) in front of a memcached that is gone, or a memcached past its
// connection limit.
func acceptCloseAddr(t *testing.T) string {
	return servingAddr(t, func(c net.Conn) { c.Close() })
}

// servingAddr returns a loopback address whose listener serves each
// connection it accepts with serve, on a goroutine of its own.
func servingAddr(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// Regression: as TestOneMemcachedServerDownLeavesTheOthersServing, with the
// dead server behind something that accepts and closes. The Store never
// marked it down, its failures wrapped no backend.ErrServerDown, and the
// Cache's breaker counted them, opened, and refused the keys of the live
// server too (found by review-stores). The Store now marks it down.
func TestAcceptCloseMemcachedServerLeavesTheOthersServing(t *testing.T) {
	requireLiveMemcachedKeysServed(t, acceptCloseAddr(t))
}
