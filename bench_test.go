package caching

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"sync"
	"testing"
	"time"
)

// rwMap is the reference the core benchmarks compare with: a plain map
// behind one RWMutex, with no eviction, no TTL and no tags.
type rwMap[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

func (r *rwMap[V]) get(k string) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

var sampleProduct = product{ID: 42, Name: "desk lamp", Price: 19.99,
	Updated: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Attrs: map[string]string{"color": "red"}, Tags: []string{"home"}}

// BenchmarkGetHit compares a hit of the direct API on the simple store with
// the reference map: raw bytes, typed (GetAs), and with tag checks.
func BenchmarkGetHit(b *testing.B) {
	ctx := context.Background()
	c := Must(nil)
	defer c.Close()
	value := bytes.Repeat([]byte("x"), 64)
	if err := c.Set(ctx, "plain", value, time.Hour); err != nil {
		b.Fatal(err)
	}
	if err := c.Set(ctx, "tagged1", value, time.Hour, Tags("a")); err != nil {
		b.Fatal(err)
	}
	if err := c.Set(ctx, "tagged3", value, time.Hour, Tags("a", "b", "c")); err != nil {
		b.Fatal(err)
	}
	if err := SetAs(ctx, c, "typed", sampleProduct, time.Hour); err != nil {
		b.Fatal(err)
	}
	ref := &rwMap[[]byte]{m: map[string][]byte{"plain": value}}
	refTyped := &rwMap[product]{m: map[string]product{"typed": sampleProduct}}

	b.Run("impl=rwmap/bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ref.get("plain"); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("impl=rwmap/typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := refTyped.get("typed"); !ok {
				b.Fatal("miss")
			}
		}
	})
	for _, key := range []string{"plain", "tagged1", "tagged3"} {
		b.Run("impl=cache/bytes/"+key, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Get(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("impl=cache/GetAs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := GetAs[product](ctx, c, "typed"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=cache/GetOrSet", func(b *testing.B) {
		load := func(context.Context) (product, error) { return sampleProduct, nil }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := GetOrSet(ctx, c, "typed", time.Hour, load); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCodec compares the default JSON codec with encoding/gob (each
// value in a stream of its own, as a cache stores them) on a typical value.
func BenchmarkCodec(b *testing.B) {
	b.Run("codec=json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := JSON.Marshal(sampleProduct)
			if err != nil {
				b.Fatal(err)
			}
			var p product
			if err := JSON.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("codec=gob", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		for b.Loop() {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(sampleProduct); err != nil {
				b.Fatal(err)
			}
			size = buf.Len()
			var p product
			if err := gob.NewDecoder(&buf).Decode(&p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes/value")
	})
	data, _ := JSON.Marshal(sampleProduct)
	b.Logf("json: %d bytes/value", len(data))
}

// BenchmarkTagCheckRemote measures a tag-checked lookup on an encoded
// (remote-style) store: entry and versions in one GetMany.
func BenchmarkTagCheckRemote(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("tags=%d", n), func(b *testing.B) {
			s := Must(nil).Backend()
			c := Must(&Options{Backend: &remote{Backend: s}})
			defer c.Close()
			var tags []string
			for i := range n {
				tags = append(tags, fmt.Sprint("t", i))
			}
			tk := c.tagKeys(tags)
			e := newEntry(c.now(), time.Hour, 0)
			e.Payload = bytes.Repeat([]byte("x"), 64)
			vs, err := c.store.versions(ctx, tk, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.store.save(ctx, "k", e, vs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.store.lookup(ctx, "k", tk, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchStores are the stores the write benchmarks run on: in process, the
// same behind remote (the encoded path), and the real Redis (skipped
// without one).
var benchStores = []struct {
	name string
	open func(b *testing.B) *Cache
}{
	{"local", func(b *testing.B) *Cache { return benchCache(b, false) }},
	{"remote", func(b *testing.B) *Cache { return benchCache(b, true) }},
	{"redis", func(b *testing.B) *Cache { return benchRedisCache(b, false) }},
}

// BenchmarkSet measures a Set of the direct API, untagged and tagged, of a
// 64 KiB value.
func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	value := bytes.Repeat([]byte("x"), 64<<10)
	for _, st := range benchStores {
		for _, tags := range [][]string{nil, {"a"}} {
			b.Run(fmt.Sprintf("store=%s/tags=%d/size=64KiB", st.name, len(tags)), func(b *testing.B) {
				c := st.open(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				for b.Loop() {
					if err := c.Set(ctx, "k", value, time.Hour, Tags(tags...)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
