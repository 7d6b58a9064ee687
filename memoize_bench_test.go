package caching_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// benchResult is a typical memoized result: a small struct with a slice.
type benchResult struct {
	UserID int64
	Total  float64
	Orders []int
}

type benchArgs struct {
	UserID int64
	Period string
}

// lockedMap is the floor a memoized hit is measured against: a typed map
// behind one RWMutex, holding the same value, with no TTL, tags or keys to
// build.
type lockedMap[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (l *lockedMap[K, V]) get(k K) (V, bool) {
	l.mu.RLock()
	v, ok := l.m[k]
	l.mu.RUnlock()
	return v, ok
}

// BenchmarkMemoizeHit compares a memoized hit on the simple store with the
// floor (a typed map behind an RWMutex) and with a plain GetAs of the same
// value, for an int and a small struct argument.
func BenchmarkMemoizeHit(b *testing.B) {
	ctx := context.Background()
	c := caching.Must(&caching.Options{Backend: simple.Must(simple.Options{SweepInterval: -1})})
	defer c.Close()
	res := benchResult{UserID: 42, Total: 99.5, Orders: []int{1, 2, 3}}
	byInt := caching.Memoize(c, "by-int", func(context.Context, int) (benchResult, error) { return res, nil }, caching.TTL(time.Hour))
	byStruct := caching.Memoize(c, "by-struct", func(context.Context, benchArgs) (benchResult, error) { return res, nil }, caching.TTL(time.Hour))
	tagged := caching.Memoize(c, "tagged", func(context.Context, int) (benchResult, error) { return res, nil }, caching.TTL(time.Hour), caching.Tags("orders"))
	args := benchArgs{UserID: 42, Period: "monthly"}
	if _, err := byInt.Get(ctx, 42); err != nil {
		b.Fatal(err)
	}
	if _, err := byStruct.Get(ctx, args); err != nil {
		b.Fatal(err)
	}
	if _, err := tagged.Get(ctx, 42); err != nil {
		b.Fatal(err)
	}
	if err := caching.SetAs(ctx, c, "user:42", res, time.Hour); err != nil {
		b.Fatal(err)
	}
	intFloor := &lockedMap[int, benchResult]{m: map[int]benchResult{42: res}}
	structFloor := &lockedMap[benchArgs, benchResult]{m: map[benchArgs]benchResult{args: res}}

	run := func(name string, get func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := get(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	miss := func(ok bool) error {
		if !ok {
			return caching.ErrNotFound
		}
		return nil
	}
	run("arg=int/impl=floor", func() error { _, ok := intFloor.get(42); return miss(ok) })
	run("arg=int/impl=memoize", func() error { _, err := byInt.Get(ctx, 42); return err })
	run("arg=int/impl=memoize-tagged", func() error { _, err := tagged.Get(ctx, 42); return err })
	run("arg=int/impl=GetAs", func() error { _, err := caching.GetAs[benchResult](ctx, c, "user:42"); return err })
	run("arg=struct/impl=floor", func() error { _, ok := structFloor.get(args); return miss(ok) })
	run("arg=struct/impl=memoize", func() error { _, err := byStruct.Get(ctx, args); return err })
}

// BenchmarkMemoizeHitArgTags measures a memoized hit of a function with
// ArgTags (a tag made of the argument, as a user writes it: "user:" and
// the id), with one tag, and with two and the function's own Tags: on the
// simple store, on a near cache in front of a remote-style store (every
// Get a near hit), and on the remote-style store alone (one round trip).
func BenchmarkMemoizeHitArgTags(b *testing.B) {
	ctx := context.Background()
	res := benchResult{UserID: 42, Total: 99.5, Orders: []int{1, 2, 3}}
	fn := func(context.Context, int) (benchResult, error) { return res, nil }
	oneTag := caching.ArgTags(func(user int) []string { return []string{"user:" + strconv.Itoa(user)} })
	twoTags := caching.ArgTags(func(user int) []string {
		return []string{"user:" + strconv.Itoa(user), "org:" + strconv.Itoa(user/100)}
	})
	stores := []struct {
		name string
		open func() backend.Backend
	}{
		{"simple", func() backend.Backend { return simple.Must(simple.Options{SweepInterval: -1}) }},
		{"near", func() backend.Backend { return near.Must(newRemoteStore(), near.Options{MaxStale: time.Hour}) }},
		{"remote", func() backend.Backend { return newRemoteStore() }},
	}
	for _, st := range stores {
		for _, tc := range []struct {
			name string
			opts []caching.MemoOption
		}{
			{"tags=1", []caching.MemoOption{oneTag}},
			{"tags=2+Tags", []caching.MemoOption{twoTags, caching.Tags("orders")}},
		} {
			b.Run("store="+st.name+"/"+tc.name, func(b *testing.B) {
				c := caching.Must(&caching.Options{Backend: st.open()})
				defer c.Close()
				f := caching.Memoize(c, "stats", fn, append(tc.opts, caching.TTL(time.Hour))...)
				for range 2 { // stored, then (near) read remote and kept near
					if _, err := f.Get(ctx, 42); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := f.Get(ctx, 42); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMemoizeHitRemote measures a memoized hit on a remote-style store
// (bytes, GetMany): one round trip and one decode per hit.
func BenchmarkMemoizeHitRemote(b *testing.B) {
	ctx := context.Background()
	c := caching.Must(&caching.Options{Backend: newRemoteStore()})
	defer c.Close()
	res := benchResult{UserID: 42, Total: 99.5, Orders: []int{1, 2, 3}}
	f := caching.Memoize(c, "by-int", func(context.Context, int) (benchResult, error) { return res, nil }, caching.TTL(time.Hour))
	if _, err := f.Get(ctx, 42); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Get(ctx, 42); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoizeKey measures building an entry's key alone.
func BenchmarkMemoizeKey(b *testing.B) {
	c := caching.Must(nil)
	defer c.Close()
	byInt := caching.Memoize(c, "by-int", func(context.Context, int) (int, error) { return 0, nil })
	byStruct := caching.Memoize(c, "by-struct", func(context.Context, benchArgs) (int, error) { return 0, nil })
	b.Run("arg=int", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = byInt.Key(42)
		}
	})
	b.Run("arg=struct", func(b *testing.B) {
		b.ReportAllocs()
		args := benchArgs{UserID: 42, Period: "monthly"}
		for b.Loop() {
			_, _ = byStruct.Key(args)
		}
	})
}
