package caching

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend/simple"
)

// pausingStore is backend/simple's store whose LoadValue pauses once, after
// its read, when armed: a Get that has just missed.
type pausingStore struct {
	*simple.Store
	arm    atomic.Bool
	missed chan struct{}
	resume chan struct{}
}

func (s *pausingStore) LoadValue(key string) (any, bool) {
	v, ok := s.Store.LoadValue(key)
	if strings.Contains(key, "m/refreshed/") && s.arm.CompareAndSwap(true, false) {
		close(s.missed)
		<-s.resume
	}
	return v, ok
}

func (s *pausingStore) Close() error { return nil }

// TestMemoizeRefreshJoinsRecheckOfOlderEntry: Refresh promises to call fn
// now and store its result, replacing a's entry: a job that updated the
// data calls it. Its supersede forgets the
// computations of a in flight, and then it joins, or starts, a computation
// (m.do). A Get that looked a up and missed just before another writer
// stored an (older) entry, and that starts its computation between
// Refresh's forget and Refresh's join, is joined by Refresh. That
// computation is a Get's miss (computeMiss): on the in-process store it
// first looks the entry up again and, finding the older entry, returns it
// without calling fn. Refresh returns the older result, calls no fn, and
// leaves the older entry in place: the update is not served until the TTL
// ends. The same with Lease, whose check, before the Get's computation
// calls fn, finds the older entry (leaseFound). Now Refresh accepts only a
// computation that replaces the entry (flightOut.replaced): it waits for
// the Get's and computes its own.
//
// The interleaving is forced with a Clock that holds another group's lock
// (a Memoized of the same name and another result type: supersede forgets
// the key in every group of the name) and ArgTags, which the Get's
// computation calls before its recheck. Map iteration order decides
// whether Refresh forgets in that group before or after the Get's group,
// so the scenario is run a few times. The two sleeps only make the
// interleaving likely: without them the test passes whatever the code.
func TestMemoizeRefreshJoinsRecheckOfOlderEntry(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []MemoOption
	}{
		{"recheck", nil},
		{"lease", []MemoOption{Lease(time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 8 {
				if reproRefreshJoinsRecheck(t, tc.opts...) {
					t.Fatalf("iteration %d: Refresh after the update returned the older result and left it stored", i)
				}
			}
		})
	}
}

func reproRefreshJoinsRecheck(t *testing.T, opts ...MemoOption) bool {
	ctx := context.Background()
	base, err := simple.New(simple.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	ps := &pausingStore{Store: base, missed: make(chan struct{}), resume: make(chan struct{})}

	var holdJoin atomic.Bool
	joinHeld, joinGo := make(chan struct{}), make(chan struct{})
	clock := func() time.Time {
		if holdJoin.Load() {
			pcs := make([]uintptr, 32)
			n := runtime.Callers(2, pcs)
			frames := runtime.CallersFrames(pcs[:n])
			for {
				f, more := frames.Next()
				if strings.Contains(f.Function, "flight.(*Group") && strings.HasSuffix(f.Function, ".join") {
					if holdJoin.CompareAndSwap(true, false) {
						close(joinHeld)
						<-joinGo
					}
					break
				}
				if !more {
					break
				}
			}
		}
		return time.Now()
	}
	c1, err := New(&Options{Backend: ps, Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := New(&Options{Backend: localNoClose{base}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()

	var data atomic.Value
	data.Store("old")
	var gateTags atomic.Bool
	inTags, tagsGo := make(chan struct{}), make(chan struct{})
	tags := func(a string) []string {
		if gateTags.CompareAndSwap(true, false) {
			close(inTags)
			<-tagsGo
		}
		return []string{"item:" + a}
	}
	mA := Memoize(c1, "refreshed", func(_ context.Context, a string) (string, error) {
		return data.Load().(string), nil
	}, append([]MemoOption{ArgTags(tags)}, opts...)...)
	bBlock := make(chan struct{})
	bIn := make(chan struct{}, 4)
	mB := Memoize(c1, "refreshed", func(_ context.Context, a string) (int, error) {
		bIn <- struct{}{}
		<-bBlock
		return 1, nil
	})
	m2 := Memoize(c2, "refreshed", func(_ context.Context, a string) (string, error) {
		return data.Load().(string), nil
	}, ArgTags(func(a string) []string { return []string{"item:" + a} }))

	var wg sync.WaitGroup
	defer func() { close(bBlock); wg.Wait() }()
	// Group B has a computation running: its Forget takes its lock.
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = mB.Get(ctx, "x") }()
	<-bIn

	// The Get: looks "a" up, misses, pauses.
	ps.arm.Store(true)
	gotGet := make(chan string, 1)
	wg.Add(1)
	go func() { defer wg.Done(); v, _ := mA.Get(ctx, "a"); gotGet <- v }()
	<-ps.missed

	// Another writer stores the result of the older data.
	if err := m2.Set(ctx, "a", "old"); err != nil {
		t.Fatal(err)
	}

	// Group B's lock held by the start of another computation.
	holdJoin.Store(true)
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = mB.Get(ctx, "y") }()
	<-joinHeld

	// The data is updated; Refresh is called.
	data.Store("new")
	gotRefresh := make(chan string, 1)
	wg.Add(1)
	go func() { defer wg.Done(); v, _ := mA.Refresh(ctx, "a"); gotRefresh <- v }()
	time.Sleep(50 * time.Millisecond) // Refresh waits in supersede, at group B's lock

	// The Get goes on: its computation starts and waits in ArgTags.
	gateTags.Store(true)
	close(ps.resume)
	select {
	case <-inTags:
	case <-time.After(2 * time.Second):
		t.Fatal("the Get's computation did not start")
	}
	close(joinGo) // Refresh finishes its forget and joins (or starts) a computation
	time.Sleep(50 * time.Millisecond)
	close(tagsGo)

	r := <-gotRefresh
	g := <-gotGet
	peek, _, _ := mA.Peek(ctx, "a")
	t.Logf("Refresh returned %q; the Get %q; stored now %q", r, g, peek)
	return r != "new" || peek != "new"
}
