package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coocood/freecache"
	"github.com/dgraph-io/ristretto/v2"
	lru "github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/maypok86/otter/v2"
	gocache "github.com/patrickmn/go-cache"

	"github.com/go-caching/caching/backend/simple"
)

// The in-memory store comparison (issue 9, point 1): the same workload on
// every store, in the same run.
const (
	keySpace  = 100_000
	traceLen  = 1 << 20 // requests in the Zipf trace
	valueSize = 64
)

// store is what the comparison needs of each library.
type store interface {
	Get(key string) ([]byte, bool)
	Set(key string, value []byte)
}

var (
	keys = func() []string {
		k := make([]string, keySpace)
		for i := range k {
			k[i] = "key:" + strconv.Itoa(i)
		}
		return k
	}()
	value = make([]byte, valueSize)
	// trace is a Zipf-distributed sequence of key indexes (s = 1.01), fixed
	// by its seed so every store sees the same requests.
	trace = func() []int32 {
		r := rand.New(rand.NewPCG(1, 2))
		z := rand.NewZipf(r, 1.01, 1, keySpace-1)
		t := make([]int32, traceLen)
		for i := range t {
			t[i] = int32(z.Uint64())
		}
		return t
	}()
)

type simpleStore struct{ s *simple.Store }

func (a simpleStore) Get(k string) ([]byte, bool) {
	v, err := a.s.Get(context.Background(), k)
	return v, err == nil
}
func (a simpleStore) Set(k string, v []byte) { _ = a.s.Set(context.Background(), k, v, 0) }

type otterStore struct{ c *otter.Cache[string, []byte] }

func (a otterStore) Get(k string) ([]byte, bool) { return a.c.GetIfPresent(k) }
func (a otterStore) Set(k string, v []byte)      { a.c.Set(k, v) }

type ristrettoStore struct {
	c *ristretto.Cache[string, []byte]
}

func (a ristrettoStore) Get(k string) ([]byte, bool) { return a.c.Get(k) }
func (a ristrettoStore) Set(k string, v []byte)      { a.c.Set(k, v, 1) }

type goCacheStore struct{ c *gocache.Cache }

func (a goCacheStore) Get(k string) ([]byte, bool) {
	v, ok := a.c.Get(k)
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}
func (a goCacheStore) Set(k string, v []byte) { a.c.Set(k, v, gocache.NoExpiration) }

type lruStore struct{ c *lru.LRU[string, []byte] }

func (a lruStore) Get(k string) ([]byte, bool) { return a.c.Get(k) }
func (a lruStore) Set(k string, v []byte)      { a.c.Add(k, v) }

type freecacheStore struct{ c *freecache.Cache }

func (a freecacheStore) Get(k string) ([]byte, bool) {
	v, err := a.c.Get([]byte(k))
	return v, err == nil
}
func (a freecacheStore) Set(k string, v []byte) { _ = a.c.Set([]byte(k), v, 0) }

// rwMapStore is the floor: a map behind one RWMutex, no eviction, no TTL.
type rwMapStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (a *rwMapStore) Get(k string) ([]byte, bool) {
	a.mu.RLock()
	v, ok := a.m[k]
	a.mu.RUnlock()
	return v, ok
}
func (a *rwMapStore) Set(k string, v []byte) {
	a.mu.Lock()
	a.m[k] = v
	a.mu.Unlock()
}

type storeImpl struct {
	name    string
	new     func(capacity int) store
	bounded bool // holds at most capacity entries (hit ratio is meaningful)
}

var storeImpls = []storeImpl{
	{"caching-simple", func(n int) store {
		return simpleStore{simple.Must(simple.Options{MaxEntries: n, MaxBytes: int64(n) * 256, SweepInterval: -1})}
	}, true},
	{"otter", func(n int) store { return otterStore{otter.Must(&otter.Options[string, []byte]{MaximumSize: n})} }, true},
	{"ristretto", func(n int) store {
		// Every entry costs 1, so MaxCost is an entry count (without
		// IgnoreInternalCost, ristretto adds its own ~56 bytes per entry to
		// the cost and would hold about n/57 entries).
		c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{NumCounters: int64(n) * 10, MaxCost: int64(n), BufferItems: 64, IgnoreInternalCost: true})
		if err != nil {
			panic(err)
		}
		return ristrettoStore{c}
	}, true},
	{"go-cache", func(int) store { return goCacheStore{gocache.New(gocache.NoExpiration, 0)} }, false},
	{"golang-lru", func(n int) store { return lruStore{lru.NewLRU[string, []byte](n, nil, 0)} }, true},
	{"freecache", func(n int) store {
		// freecache is bounded by bytes: give it about what n entries of
		// this workload take in its segments.
		return freecacheStore{freecache.NewCache(max(n*(valueSize+32), 512*1024))}
	}, true},
	{"rwmutex-map", func(int) store { return &rwMapStore{m: map[string][]byte{}} }, false},
}

func fill(s store) { fillWith(s, func(int) []byte { return value }) }

// fillWith sets every key, the i-th to valueOf(i).
func fillWith(s store, valueOf func(i int) []byte) {
	r, isRistretto := s.(ristrettoStore)
	for i, k := range keys {
		s.Set(k, valueOf(i))
		if isRistretto && i%1000 == 999 {
			// ristretto applies Sets from a buffer that drops them when
			// full: wait now and then so that every key gets in.
			r.c.Wait()
		}
	}
	if isRistretto {
		r.c.Wait()
	}
}

// BenchmarkStoreMixed is the parallel 90% Get / 10% Set workload over the
// Zipf trace, with room for every key.
func BenchmarkStoreMixed(b *testing.B) {
	for _, impl := range storeImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			s := impl.new(keySpace * 2)
			fill(s)
			var next atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) * 7919)
				for pb.Next() {
					i++
					k := keys[trace[i&(traceLen-1)]]
					if i%10 == 0 {
						s.Set(k, value)
					} else {
						s.Get(k)
					}
				}
			})
		})
	}
}

// BenchmarkStoreGetHit is a single-goroutine Get of a present key.
func BenchmarkStoreGetHit(b *testing.B) { getHits(b, keys) }

// BenchmarkStoreGetHitFreshKeys is BenchmarkStoreGetHit looked up with
// key strings allocated apart from the ones stored, as a server that builds
// each request's key does. In BenchmarkStoreGetHit the lookup key is the
// stored string itself, so a store that keeps the caller's key (a Go map,
// go-cache, otter) compares keys by pointer and never reads their bytes;
// here every store reads them.
func BenchmarkStoreGetHitFreshKeys(b *testing.B) {
	fresh := make([]string, len(keys))
	for i, k := range keys {
		fresh[i] = strings.Clone(k)
	}
	getHits(b, fresh)
}

// BenchmarkStoreGetHitOwnValues is BenchmarkStoreGetHit with a value of
// its own under every key, as a real cache holds, which the caller reads
// (its first byte, checked against the key's). In BenchmarkStoreGetHit
// every key holds the one slice value: the stores that keep the caller's
// slice (all but ours and freecache, which copy it) then hold one 64-byte
// value in all, and a hit that does not read it touches no value memory.
func BenchmarkStoreGetHitOwnValues(b *testing.B) {
	vals := make([][]byte, keySpace)
	for i := range vals {
		vals[i] = make([]byte, valueSize)
		vals[i][0] = byte(i)
	}
	for _, impl := range storeImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			s := impl.new(keySpace * 2)
			fillWith(s, func(i int) []byte { return vals[i] })
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				k := trace[i&(traceLen-1)]
				if v, ok := s.Get(keys[k]); !ok || v[0] != byte(k) {
					b.Fatal("miss, or another key's value")
				}
			}
		})
	}
}

// getHits gets the keys of the trace from each store, filled with keys,
// looking them up by the strings of look (keys or copies of them).
func getHits(b *testing.B, look []string) {
	for _, impl := range storeImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			s := impl.new(keySpace * 2)
			fill(s)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, ok := s.Get(look[trace[i&(traceLen-1)]]); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkHitRatio replays the Zipf trace through each bounded store with
// room for 10% of the key space, setting a key on each miss, and reports the
// hit ratio.
func BenchmarkHitRatio(b *testing.B) {
	for _, impl := range storeImpls {
		if !impl.bounded {
			continue
		}
		b.Run("impl="+impl.name, func(b *testing.B) {
			var ratio float64
			for b.Loop() {
				s := impl.new(keySpace / 10)
				hits := 0
				for _, idx := range trace {
					k := keys[idx]
					if _, ok := s.Get(k); ok {
						hits++
					} else {
						s.Set(k, value)
					}
				}
				ratio = float64(hits) / float64(len(trace))
			}
			b.ReportMetric(ratio*100, "hit%")
		})
	}
}

// BenchmarkStoreScaling is the cost of a hit as the simple store grows, and
// the memory each entry takes.
func BenchmarkStoreScaling(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			// The lookup keys are built before the first reading, and each
			// Set gets a fresh copy of its key, so that B/entry counts what
			// the store keeps alive (key, its copy of the value, its
			// bookkeeping) and not the benchmark's own slice.
			ks := make([]string, n)
			for i := range ks {
				ks[i] = "key:" + strconv.Itoa(i)
			}
			var before, after runtimeMem
			before.read()
			// The entry bound is per shard: twice n leaves room for an
			// uneven spread, so that every key stays (nothing is
			// preallocated for the bound).
			s := simple.Must(simple.Options{MaxEntries: 2 * n, MaxBytes: int64(n) * 256, SweepInterval: -1})
			for i := range n {
				if err := s.Set(context.Background(), "key:"+strconv.Itoa(i), value, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			after.read()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := s.Get(context.Background(), ks[(i*7919)%n]); err != nil {
					b.Fatal(err)
				}
			}
			// After the loop: b.Loop resets the timer, and with it any
			// metric reported before.
			b.ReportMetric(float64(after.heap-before.heap)/float64(n), "B/entry")
			_ = s.Close()
		})
	}
}
