package pool

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedPooler is a RedisPooler whose PoolStats returns script's entries
// in turn, then the last one again.
type scriptedPooler struct {
	mu     sync.Mutex
	script []redis.PoolStats
	next   int
}

func (f *scriptedPooler) PoolStats() *redis.PoolStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.script[min(f.next, len(f.script)-1)]
	f.next++
	return &p
}

// redisCounters is what a scrape of a Redis pool exports as Prometheus
// counters.
type redisCounters struct {
	Waits, Timeouts, Stale int64
	WaitTimeMS             float64
}

// readRedis reads the pool registered as name as the stats handler and the
// metrics collector do: through the Registry's Snapshot.
func readRedis(t *testing.T, reg *Registry, name string) Stats {
	t.Helper()
	s, ok := reg.Snapshot()[name].(Stats)
	require.True(t, ok, "%s is not a pool.Stats", name)
	return s
}

func countersOf(s Stats) redisCounters {
	return redisCounters{Waits: s.Waits, Timeouts: s.Timeouts, Stale: s.Closed["stale"], WaitTimeMS: s.WaitTimeMS}
}

// TestRedisCountersSurviveNodeLeaving: a *redis.ClusterClient's PoolStats
// is the sum over the cluster's current nodes, so when a node left (a
// failover, a resharding) its counts left the sum and waits, wait time,
// timeouts and closed{reason="stale"} went backwards. They are exported as
// Prometheus counters: rate() and increase() read a reset and reported a
// spike of the whole remaining count.
func TestRedisCountersSurviveNodeLeaving(t *testing.T) {
	t.Parallel()
	fake := &scriptedPooler{script: []redis.PoolStats{
		// Three nodes.
		{WaitCount: 100, Timeouts: 10, StaleConns: 20, WaitDurationNs: int64(100 * time.Millisecond), TotalConns: 8, IdleConns: 5},
		// One left, with 60 of the waits, 6 timeouts, 12 stale closes, 60 ms
		// of waiting and 5 of the connections.
		{WaitCount: 40, Timeouts: 4, StaleConns: 8, WaitDurationNs: int64(40 * time.Millisecond), TotalConns: 3, IdleConns: 1},
		// The other two go on.
		{WaitCount: 55, Timeouts: 6, StaleConns: 11, WaitDurationNs: int64(55 * time.Millisecond), TotalConns: 4, IdleConns: 3},
	}}
	var reg Registry
	require.NoError(t, reg.RegisterRedis("cluster", fake, Config{Size: 4}))

	var got []redisCounters
	var open, idle, inUse []int
	for range fake.script {
		s := readRedis(t, &reg, "cluster")
		got = append(got, countersOf(s))
		open, idle, inUse = append(open, s.Open), append(idle, s.Idle), append(inUse, s.InUse)
	}
	// The activity of the node that left stays counted, the drop is not
	// counted, and what the remaining nodes do after it is.
	assert.Equal(t, []redisCounters{
		{Waits: 100, Timeouts: 10, Stale: 20, WaitTimeMS: 100},
		{Waits: 100, Timeouts: 10, Stale: 20, WaitTimeMS: 100},
		{Waits: 115, Timeouts: 12, Stale: 23, WaitTimeMS: 115},
	}, got, "counters read after a node left")
	// Gauges are the connections now: they go down with the node.
	assert.Equal(t, []int{8, 3, 4}, open, "open")
	assert.Equal(t, []int{5, 1, 3}, idle, "idle")
	assert.Equal(t, []int{3, 2, 1}, inUse, "in use")
}

// TestRedisCountersSurviveUint32Wrap: go-redis counts waits, timeouts and
// stale closes in uint32s, which wrap after 2^32 (a cluster's sum of them
// too), and a wrap read as a drop to a few.
//
// A single *redis.Client keeps one pool for its life, so a decrease of its
// counters can only be a wrap, and the growth across it is exact in uint32
// arithmetic: it is counted. A sum over a cluster's nodes (or a Ring's
// shards, or any other RedisPooler) can also drop because a node left, and
// the two cannot be told apart: taking a node's departure for a wrap would
// count up to 2^32 waits that never happened, the very spike this guards
// against. There a decrease is never counted, so a wrap of the sum loses
// the growth between the two reads around it, once every 2^32: the
// counter stays monotonic and never exceeds the truth.
func TestRedisCountersSurviveUint32Wrap(t *testing.T) {
	t.Parallel()
	const top = math.MaxUint32 - 5 // 6 below the wrap
	script := []redis.PoolStats{
		{WaitCount: top, Timeouts: top, StaleConns: top},
		{WaitCount: 10, Timeouts: 10, StaleConns: 10}, // 16 more: wrapped
		{WaitCount: 20, Timeouts: 20, StaleConns: 20},
	}

	t.Run("single", func(t *testing.T) {
		t.Parallel()
		// RegisterRedis with a *redis.Client, whose statistics cannot be
		// scripted: the source it builds for one, reading the script.
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
		t.Cleanup(func() { _ = client.Close() })
		single := newRedisSource(client, Config{Size: 4})
		require.True(t, single.single, "a *redis.Client is read as a single pool")
		single.c = &scriptedPooler{script: script}
		var reg Registry
		require.NoError(t, reg.Register("single", single.stats))
		var got []int64
		for range script {
			c := countersOf(readRedis(t, &reg, "single"))
			require.Equal(t, c.Waits, c.Timeouts, "waits and timeouts are scripted alike")
			require.Equal(t, c.Waits, c.Stale, "waits and stale closes are scripted alike")
			got = append(got, c.Waits)
		}
		assert.Equal(t, []int64{top, top + 16, top + 26}, got, "the 16 across the wrap are counted")
	})

	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		var reg Registry
		require.NoError(t, reg.RegisterRedis("cluster", &scriptedPooler{script: script}, Config{Size: 4}))
		var got []int64
		for range script {
			c := countersOf(readRedis(t, &reg, "cluster"))
			require.Equal(t, c.Waits, c.Timeouts, "waits and timeouts are scripted alike")
			require.Equal(t, c.Waits, c.Stale, "waits and stale closes are scripted alike")
			got = append(got, c.Waits)
		}
		// The 16 across the wrap are lost (it could have been a node
		// leaving); the 10 after are counted.
		assert.Equal(t, []int64{top, top, top + 10}, got)
	})
}

// TestRedisSourceSingleOnlyForClient: only a *redis.Client takes a
// decrease for a wrap; a cluster, a ring, or a UniversalClient that is a
// cluster sums over nodes that may leave.
func TestRedisSourceSingleOnlyForClient(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		client RedisPooler
		single bool
	}{
		{"client", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), true},
		{"universal single", redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}}), true},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), false},
		{"universal cluster", redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}), false},
		{"ring", redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), false},
		{"other", &scriptedPooler{script: []redis.PoolStats{{}}}, false},
	} {
		if cl, ok := c.client.(interface{ Close() error }); ok {
			t.Cleanup(func() { _ = cl.Close() })
		}
		assert.Equal(t, c.single, newRedisSource(c.client, Config{}).single, c.name)
	}
}

// TestRedisStatsConcurrentReads: the stats handler and a Prometheus scrape
// may read a Redis pool at once; each must see its counters never decrease,
// and the reads must not race (go test -race).
func TestRedisStatsConcurrentReads(t *testing.T) {
	t.Parallel()
	// The counts grow by 10 and then drop by 3 (a node leaving), again and
	// again.
	var script []redis.PoolStats
	var n uint32 = 100
	for i := range 200 {
		if i%2 == 0 {
			n += 10
		} else {
			n -= 3
		}
		script = append(script, redis.PoolStats{WaitCount: n, Timeouts: n, StaleConns: n,
			WaitDurationNs: int64(n) * int64(time.Millisecond), TotalConns: n % 7})
	}
	fake := &scriptedPooler{script: script}
	var reg Registry
	require.NoError(t, reg.RegisterRedis("cluster", fake, Config{Size: 4}))

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var prev redisCounters
			for range 50 {
				s, ok := reg.Snapshot()["cluster"].(Stats)
				if !assert.True(t, ok) {
					return
				}
				c := countersOf(s)
				if c.Waits < prev.Waits || c.Timeouts < prev.Timeouts || c.Stale < prev.Stale || c.WaitTimeMS < prev.WaitTimeMS {
					assert.Failf(t, "a counter decreased", "%+v after %+v", c, prev)
					return
				}
				prev = c
			}
		})
	}
	wg.Wait()
}
