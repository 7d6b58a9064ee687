package simple_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

type modelEntry struct {
	isValue  bool
	bytes    string
	value    *int
	size     int
	expireAt time.Time // zero: never
}

// TestStoreAgainstModel runs random operations against a store and a model: the
// store may lose a key only by eviction (OnEvict) or expiry, never return a
// value the model does not hold, and never exceed its bounds.
func TestStoreAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= modelSeeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { modelRun(t, seed) })
	}
}

func modelRun(t *testing.T, seed uint64) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seed*7))
	clock := testutil.NewClock()
	model := map[string]modelEntry{}
	var evicted []string
	shards := []int{1, 2, 4}[r.IntN(3)]
	maxEntries := shards * (4 + r.IntN(40))
	maxBytes := int64(shards) * int64(200+r.IntN(3000))
	s, err := simple.New(simple.Options{
		MaxEntries: maxEntries, MaxBytes: maxBytes, Shards: shards, SweepInterval: -1, Clock: clock.Now,
		OnEvict: func(k string) { evicted = append(evicted, k) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nkeys := 5 + r.IntN(120)
	key := func() string { return "k" + strconv.Itoa(r.IntN(nkeys)) }
	ttl := func() time.Duration {
		if r.IntN(3) == 0 {
			return 0
		}
		return time.Duration(1+r.IntN(50)) * time.Second
	}
	exp := func(d time.Duration) time.Time {
		if d == 0 {
			return time.Time{}
		}
		return clock.Now().Add(d)
	}
	live := func(k string) (modelEntry, bool) {
		e, ok := model[k]
		if !ok {
			return e, false
		}
		if !e.expireAt.IsZero() && !clock.Now().Before(e.expireAt) {
			delete(model, k)
			return e, false
		}
		return e, true
	}
	for step := 0; step < 3000; step++ {
		evicted = evicted[:0]
		k := key()
		var what string
		switch op := r.IntN(12); op {
		case 0, 1:
			v := make([]byte, r.IntN(300))
			for i := range v {
				v[i] = byte('a' + r.IntN(26))
			}
			d := ttl()
			what = fmt.Sprintf("Set(%s, %d bytes, %v)", k, len(v), d)
			err := s.Set(ctx, k, v, d)
			switch {
			case errors.Is(err, backend.ErrValueTooLarge):
				delete(model, k)
			case err != nil:
				t.Fatal(err)
			default:
				model[k] = modelEntry{bytes: string(v), expireAt: exp(d)}
			}
		case 2:
			v := []byte(strconv.Itoa(r.IntN(1000)))
			d := ttl()
			what = fmt.Sprintf("Add(%s, %q, %v)", k, v, d)
			_, had := live(k)
			added, err := s.Add(ctx, k, v, d)
			if err != nil {
				t.Fatal(err)
			}
			if added == had {
				t.Fatalf("step %d %s: added=%v, model had=%v", step, what, added, had)
			}
			if added {
				model[k] = modelEntry{bytes: string(v), expireAt: exp(d)}
			}
		case 3:
			what = fmt.Sprintf("Delete(%s)", k)
			_, had := live(k)
			n, err := s.DeleteCount(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if (n == 1) != had {
				t.Fatalf("step %d %s: count %d, model had=%v", step, what, n, had)
			}
			delete(model, k)
		case 4:
			delta := int64(r.IntN(2000) - 1000)
			what = fmt.Sprintf("Incr(%s, %d)", k, delta)
			e, had := live(k)
			n, err := s.Incr(ctx, k, delta)
			if had {
				if e.isValue {
					if !errors.Is(err, backend.ErrNotInteger) {
						t.Fatalf("step %d %s on Go value: %v", step, what, err)
					}
					break
				}
				cur, perr := strconv.ParseInt(e.bytes, 10, 64)
				if perr != nil {
					if !errors.Is(err, backend.ErrNotInteger) {
						t.Fatalf("step %d %s on %q: %v", step, what, e.bytes, err)
					}
					break
				}
				if err != nil || n != cur+delta {
					t.Fatalf("step %d %s on %q = %d, %v", step, what, e.bytes, n, err)
				}
				e.bytes = strconv.FormatInt(n, 10)
				model[k] = e
			} else {
				if err != nil || n != delta {
					t.Fatalf("step %d %s on missing = %d, %v", step, what, n, err)
				}
				model[k] = modelEntry{bytes: strconv.FormatInt(n, 10)}
			}
		case 5, 6:
			v := new(int)
			size := r.IntN(400)
			d := ttl()
			what = fmt.Sprintf("StoreValue(%s, %d, %v)", k, size, d)
			err := s.StoreValue(k, v, size, d)
			switch {
			case errors.Is(err, backend.ErrValueTooLarge):
				delete(model, k)
			case err != nil:
				t.Fatal(err)
			default:
				model[k] = modelEntry{isValue: true, value: v, size: size, expireAt: exp(d)}
			}
		case 7:
			v := new(int)
			size := r.IntN(400)
			d := ttl()
			what = fmt.Sprintf("AddValue(%s, %d, %v)", k, size, d)
			_, had := live(k)
			added, err := s.AddValue(k, v, size, d)
			if errors.Is(err, backend.ErrValueTooLarge) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if added == had {
				t.Fatalf("step %d %s: added=%v, model had=%v", step, what, added, had)
			}
			if added {
				model[k] = modelEntry{isValue: true, value: v, size: size, expireAt: exp(d)}
			}
		case 8:
			e, had := live(k)
			size := r.IntN(600)
			what = fmt.Sprintf("ResizeValue(%s, %d)", k, size)
			if !had || !e.isValue {
				if s.ResizeValue(k, new(int), size) {
					t.Fatalf("step %d %s: resized what it does not hold", step, what)
				}
				break
			}
			ok := s.ResizeValue(k, e.value, size)
			if !ok {
				// Over MaxValueSize: removed.
				if int64(len(k)+size+simple.ValueOverhead) <= s.MaxValueSize() {
					t.Fatalf("step %d %s: refused", step, what)
				}
				delete(model, k)
				break
			}
			e.size = size
			model[k] = e
		case 9:
			d := time.Duration(r.IntN(20)) * time.Second
			what = fmt.Sprintf("Advance(%v)", d)
			clock.Advance(d)
		case 10:
			what = "Get/LoadValue hits"
			for i := 0; i < 5; i++ {
				kk := key()
				_, _ = s.Get(ctx, kk)
				_, _ = s.LoadValue(kk)
			}
		case 11:
			if r.IntN(30) == 0 {
				what = "Clear"
				if err := s.Clear(ctx); err != nil {
					t.Fatal(err)
				}
				clear(model)
			} else {
				what = "SetMany"
				items := []backend.Item{{Key: key(), Value: []byte("m1")}, {Key: key(), Value: []byte("m2"), TTL: 3 * time.Second}}
				if err := s.SetMany(ctx, items); err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					model[it.Key] = modelEntry{bytes: string(it.Value), expireAt: exp(it.TTL)}
				}
				// The last item cannot be evicted after it is stored: an
				// eviction of its key came before.
				kept := evicted[:0]
				for _, ek := range evicted {
					if ek != items[1].Key {
						kept = append(kept, ek)
					}
				}
				evicted = kept
			}
		}
		for _, ek := range evicted {
			if _, ok := model[ek]; !ok {
				t.Fatalf("step %d %s: OnEvict(%s) for a key the model does not hold", step, what, ek)
			}
			delete(model, ek)
		}
		st := s.Stats()
		if st.Entries > int64(maxEntries) || st.Bytes > maxBytes {
			t.Fatalf("step %d %s: stats %+v over bounds %d entries, %d bytes", step, what, st, maxEntries, maxBytes)
		}
		// Compare every key.
		var wantBytes, wantEntries int64
		for i := 0; i < nkeys; i++ {
			kk := "k" + strconv.Itoa(i)
			e, ok := model[kk]
			expiredNow := ok && !e.expireAt.IsZero() && !clock.Now().Before(e.expireAt)
			if ok {
				wantEntries++ // expired entries may still count
				if e.isValue {
					wantBytes += int64(len(kk) + e.size + simple.ValueOverhead)
				} else {
					wantBytes += int64(len(kk) + len(e.bytes) + simple.EntryOverhead)
				}
			}
			got, gerr := s.Get(ctx, kk)
			gv, gok := s.LoadValue(kk)
			switch {
			case !ok || expiredNow:
				if gerr == nil || gok {
					t.Fatalf("step %d %s: key %s: store has %q/%v, model has none (ok=%v expired=%v)", step, what, kk, got, gv, ok, expiredNow)
				}
				if expiredNow {
					delete(model, kk)
				}
			case e.isValue:
				if gerr == nil || !gok || gv != any(e.value) {
					t.Fatalf("step %d %s: key %s: Go value mismatch: Get err %v, LoadValue %v %v", step, what, kk, gerr, gv, gok)
				}
			default:
				if gerr != nil || string(got) != e.bytes || gok {
					t.Fatalf("step %d %s: key %s: got %q, %v, want %q", step, what, kk, got, gerr, e.bytes)
				}
			}
		}
		_ = wantBytes
		_ = wantEntries
	}
}
