package simple_test

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// The workload of the benchmarks: Zipf-distributed requests over benchKeys
// keys, precomputed so that the benchmarks measure the stores, not the RNG.
const (
	benchKeys  = 100_000
	traceLen   = 1 << 20 // a power of two, for cheap wrap-around
	valueSize  = 64
	zipfS      = 1.01
	hitRatioOf = benchKeys / 10 // cache capacity in the hit-ratio benchmark
)

var (
	benchKeyNames = func() []string {
		k := make([]string, benchKeys)
		for i := range k {
			k[i] = "key:" + strconv.Itoa(i)
		}
		return k
	}()
	traces   = map[float64][]string{}
	tracesMu sync.Mutex
)

// zipfTrace returns traceLen keys drawn from a Zipf distribution with
// parameter s (rank 0 most frequent), the same for every call.
func zipfTrace(s float64) []string {
	tracesMu.Lock()
	defer tracesMu.Unlock()
	if t, ok := traces[s]; ok {
		return t
	}
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), s, 1, benchKeys-1)
	t := make([]string, traceLen)
	for i := range t {
		t[i] = benchKeyNames[z.Uint64()]
	}
	traces[s] = t
	return t
}

// benchStore is what the throughput benchmarks call, so that the store and
// the reference pay the same indirection.
type benchStore interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// rwMap is the reference: a plain map behind one sync.RWMutex, with no bound,
// no eviction and no TTL. Set copies the value, as the Backend contract asks.
type rwMap struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (r *rwMap) Get(_ context.Context, key string) ([]byte, error) {
	r.mu.RLock()
	v, ok := r.m[key]
	r.mu.RUnlock()
	if !ok {
		return nil, backend.ErrNotFound
	}
	return v, nil
}

func (r *rwMap) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	c := make([]byte, len(value))
	copy(c, value)
	r.mu.Lock()
	r.m[key] = c
	r.mu.Unlock()
	return nil
}

var benchStores = []struct {
	name string
	new  func(b *testing.B) benchStore
}{
	{"simple", func(b *testing.B) benchStore {
		// Room for every key: the throughput benchmarks measure hits.
		s := simple.Must(simple.Options{MaxEntries: 4 * benchKeys})
		b.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"rwmutex-map", func(b *testing.B) benchStore {
		return &rwMap{m: make(map[string][]byte, benchKeys)}
	}},
}

func populated(b *testing.B, newStore func(b *testing.B) benchStore) benchStore {
	s := newStore(b)
	v := make([]byte, valueSize)
	for _, k := range benchKeyNames {
		if err := s.Set(context.Background(), k, v, 0); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkMixedParallel is 90% Get, 10% Set of 64-byte values, on
// Zipf-distributed keys, from GOMAXPROCS goroutines.
func BenchmarkMixedParallel(b *testing.B) {
	trace := zipfTrace(zipfS)
	for _, bs := range benchStores {
		b.Run("store="+bs.name, func(b *testing.B) {
			s := populated(b, bs.new)
			value := make([]byte, valueSize)
			var start atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b, processCPUTime())
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				// Each goroutine replays the trace from its own offset.
				i := start.Add(1) * 104_729
				for pb.Next() {
					k := trace[i&(traceLen-1)]
					if i%10 == 0 {
						if err := s.Set(ctx, k, value, 0); err != nil {
							b.Error(err)
							return
						}
					} else if _, err := s.Get(ctx, k); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkGetHit is one goroutine's Get of present keys, in Zipf order.
func BenchmarkGetHit(b *testing.B) {
	trace := zipfTrace(zipfS)
	for _, bs := range benchStores {
		b.Run("store="+bs.name, func(b *testing.B) { benchGets(b, populated(b, bs.new), trace) })
	}
}

// benchGets is one goroutine's Get of the keys of trace, which s holds, in
// order.
func benchGets(b *testing.B, s benchStore, trace []string) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	cpu0 := processCPUTime()
	for b.Loop() {
		if _, err := s.Get(ctx, trace[i&(traceLen-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, cpu0)
}

// reportCPU reports the process's CPU time per op since cpu0 as "cpu-ns/op":
// unlike ns/op, it does not count time the benchmark waited for a core
// another process held.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := processCPUTime() - cpu0; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// lru is the reference policy for the hit ratio: a textbook LRU list.
type lru struct {
	capacity int
	ll       *list.List
	m        map[string]*list.Element
}

func newLRU(capacity int) *lru {
	return &lru{capacity: capacity, ll: list.New(), m: make(map[string]*list.Element)}
}

func (c *lru) get(key string) bool {
	if e, ok := c.m[key]; ok {
		c.ll.MoveToFront(e)
		return true
	}
	return false
}

func (c *lru) set(key string) {
	if c.ll.Len() >= c.capacity {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(string))
	}
	c.m[key] = c.ll.PushFront(key)
}

// BenchmarkHitRatio replays a 1M-request Zipf trace over 100k keys through
// a cache holding 10% of them (a miss is followed by a Set), and reports the
// share of hits as the "hit%" metric. The time per op is one replay.
func BenchmarkHitRatio(b *testing.B) {
	value := make([]byte, valueSize)
	for _, s := range []float64{zipfS, 1.2} {
		trace := zipfTrace(s)
		policies := []struct {
			name   string
			replay func() (hits int)
		}{
			{"simple", func() int { return replaySimple(b, trace, value, 0) }},
			{"simple-1shard", func() int { return replaySimple(b, trace, value, 1) }},
			{"lru", func() int {
				c, hits := newLRU(hitRatioOf), 0
				for _, k := range trace {
					if c.get(k) {
						hits++
					} else {
						c.set(k)
					}
				}
				return hits
			}},
		}
		for _, p := range policies {
			b.Run(fmt.Sprintf("zipf=%v/policy=%s", s, p.name), func(b *testing.B) {
				hits := 0
				for b.Loop() {
					hits = p.replay()
				}
				b.ReportMetric(100*float64(hits)/float64(len(trace)), "hit%")
			})
		}
	}
}

func replaySimple(b *testing.B, trace []string, value []byte, shards int) int {
	s := simple.Must(simple.Options{MaxEntries: hitRatioOf, Shards: shards, SweepInterval: -1})
	defer s.Close()
	ctx := context.Background()
	hits := 0
	for _, k := range trace {
		_, err := s.Get(ctx, k)
		switch {
		case err == nil:
			hits++
		case errors.Is(err, backend.ErrNotFound):
			if err := s.Set(ctx, k, value, 0); err != nil {
				b.Fatal(err)
			}
		default:
			b.Fatal(err)
		}
	}
	return hits
}
