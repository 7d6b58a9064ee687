package memcached_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// BenchmarkGet compares a hit through the Store with a raw gomemcache Get of
// the same size on the same server, in the same run.
func BenchmarkGet(b *testing.B) {
	addr := testutil.MemcachedAddrs(b)[0]
	value := make([]byte, 1024)
	s := open(b, memcached.Options{Servers: []string{addr}})
	raw := memcache.New(addr)
	raw.Timeout, raw.MaxIdleConns = memcached.DefaultTimeout, memcached.DefaultMaxIdleConns
	rawKey := namespace() + ":raw"
	if err := s.Set(bg, "k", value, time.Hour); err != nil {
		b.Fatal(err)
	}
	if err := raw.Set(&memcache.Item{Key: rawKey, Value: value, Expiration: 3600}); err != nil {
		b.Fatal(err)
	}
	b.Run("client=store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Get(bg, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client=gomemcache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := raw.Get(rawKey); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetMany10 compares GetMany of 10 keys with a raw GetMulti.
func BenchmarkGetMany10(b *testing.B) {
	addrs := testutil.MemcachedAddrs(b)
	value := make([]byte, 256)
	s := open(b, memcached.Options{Servers: addrs})
	raw := memcache.New(addrs...)
	raw.Timeout, raw.MaxIdleConns = memcached.DefaultTimeout, memcached.DefaultMaxIdleConns
	ns := namespace()
	keys := make([]string, 10)
	rawKeys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		rawKeys[i] = fmt.Sprint(ns, ":raw", i)
		if err := s.Set(bg, keys[i], value, time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := raw.Set(&memcache.Item{Key: rawKeys[i], Value: value, Expiration: 3600}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("client=store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetMany(bg, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client=gomemcache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := raw.GetMulti(rawKeys); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetManyLarge measures a GetMany of 10,000 keys (one in ten a hit)
// over both servers: ten batches of 1000 keys, one after the other.
func BenchmarkGetManyLarge(b *testing.B) {
	addrs := testutil.MemcachedAddrs(b)
	value := make([]byte, 256)
	s := open(b, memcached.Options{Servers: addrs, GenerationTTL: time.Hour})
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("large/%06d", i)
		if i%10 == 0 {
			if err := s.Set(bg, keys[i], value, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetMany(bg, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDelete measures a Delete of one key: the generation read and one
// delete, two round trips. The key is missing after the first round: a
// delete that finds nothing costs the same round trip.
func BenchmarkDelete(b *testing.B) {
	s := open(b, memcached.Options{Servers: testutil.MemcachedAddrs(b)[:1]})
	if err := s.Set(bg, "k", []byte("v"), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Delete(bg, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeleteMany measures a Delete of several keys on one server,
// which gomemcache sends as one delete per key (it has no multi-key
// delete), as the caching package's InvalidatePath and DeleteMany do.
func BenchmarkDeleteMany(b *testing.B) {
	s := open(b, memcached.Options{Servers: testutil.MemcachedAddrs(b)[:1]})
	for _, n := range []int{4, 100} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("del/%04d", i)
			if err := s.Set(bg, keys[i], []byte("v"), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprint("keys=", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Delete(bg, keys...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
