// Package backendtest is the conformance suite every backend.Backend passes:
// the stores of this module and any a user writes.
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Backend {
//			return mystore.New(...)
//		})
//	}
//
// The suite checks the contract of package backend: misses, round trips of
// empty, binary and 1 MiB values, keys (the empty key, long keys that differ
// only in their last byte, each through every method that takes a key),
// overwrite, a value too large (given
// Options.TooLarge), values copied by Set, Add and SetMany, expiry (of Set,
// of Set over an entry of another TTL, of Add, and kept by Incr), Add,
// Delete, Clear isolated between namespaces, the optional capabilities a
// backend offers (GetMany, SetMany, Incr, Has, DeleteCount, ValueStore),
// concurrent use (run it with -race) and ErrClosed from every method after
// Close.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
)

// Options tunes the suite to a store. The zero value suits a store with
// millisecond expiry and no injectable clock.
type Options struct {
	// Advance moves the store's clock forward by d. With it, expiry tests
	// run without sleeping; nil means the suite sleeps for real.
	Advance func(d time.Duration)
	// TTLResolution is the shortest TTL the store honours and the granularity
	// of its expiry (memcached: one second). Default 1ms.
	TTLResolution time.Duration
	// MaxValueSize is the largest value the store accepts; the suite's big
	// round trip uses min(1 MiB, MaxValueSize). Default 1 MiB.
	MaxValueSize int
	// TooLarge is the size of a value the store refuses with
	// backend.ErrValueTooLarge under the suite's keys of a few bytes (any
	// size past its limit for one item: memcached's item size, a bounded
	// store's size for one entry). With it, the suite checks that a Set so
	// refused stores nothing and leaves no older value under the key
	// readable, and that an Add so refused leaves the older value alone.
	// Default 0: not checked (a store with no limit, or one too large to
	// write in a test).
	TooLarge int
	// Discards says the store keeps nothing by design (backend/null): the
	// suite then checks that every call succeeds and every read misses.
	Discards bool
	// IncrAccepts lists values that are not integers as strconv.FormatInt
	// writes them, among those the suite stores ("007", "+5", "-0", "00",
	// " 5", "5 ", "5 apples", ...), which the store's Incr counts from
	// nonetheless because its server does (memcached reads a value as C's
	// strtoull does). The suite does not check those. Default none: Incr
	// refuses every such value with backend.ErrNotInteger, as Redis does.
	IncrAccepts []string
}

// Run runs the suite with default Options. newBackend is called once per
// subtest (and twice by the namespace test): each call must return a new,
// empty backend with a namespace of its own on the same underlying store
// (for an in-process store, a new store will do). The suite closes what it
// is given.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	RunWith(t, newBackend, Options{})
}

// RunWith runs the suite with opts.
func RunWith(t *testing.T, newBackend func(t *testing.T) backend.Backend, opts Options) {
	if opts.TTLResolution <= 0 {
		opts.TTLResolution = time.Millisecond
	}
	if opts.MaxValueSize <= 0 || opts.MaxValueSize > 1<<20 {
		opts.MaxValueSize = 1 << 20
	}
	s := &suite{newBackend: newBackend, opts: opts}
	if opts.Discards {
		t.Run("Discards", s.testDiscards)
		t.Run("NegativeTTL", s.testNegativeTTL)
		t.Run("Close", s.testClose)
		return
	}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Miss", s.testMiss},
		{"RoundTrip", s.testRoundTrip},
		{"Keys", s.testKeys},
		{"KeysEveryMethod", s.testKeysEveryMethod},
		{"Overwrite", s.testOverwrite},
		{"TooLarge", s.testTooLarge},
		{"ValueIsCopied", s.testValueIsCopied},
		{"NegativeTTL", s.testNegativeTTL},
		{"Expiry", s.testExpiry},
		{"HugeTTL", s.testHugeTTL},
		{"Add", s.testAdd},
		{"AddExpired", s.testAddExpired},
		{"Delete", s.testDelete},
		{"ClearIsolated", s.testClearIsolated},
		{"GetMany", s.testGetMany},
		{"SetMany", s.testSetMany},
		{"Incr", s.testIncr},
		{"IncrFewerDigits", s.testIncrFewerDigits},
		{"IncrCanonical", s.testIncrCanonical},
		{"Has", s.testHas},
		{"DeleteCount", s.testDeleteCount},
		{"ValueStore", s.testValueStore},
		{"Concurrent", s.testConcurrent},
		{"Close", s.testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	newBackend func(t *testing.T) backend.Backend
	opts       Options
}

func (s *suite) open(t *testing.T) backend.Backend {
	t.Helper()
	b := s.newBackend(t)
	if b == nil {
		t.Fatal("newBackend returned nil")
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// ttl is a short TTL the store honours; wait is long enough for it to pass.
// On a store whose expiry ticks (memcached's by the second), an entry given
// one tick expires at the next, which may come at once: a short TTL is two
// ticks, so that an entry lives at least one, long enough for the checks
// made between its write and its wait.
func (s *suite) ttl() time.Duration {
	if s.opts.TTLResolution >= time.Second {
		return 2 * s.opts.TTLResolution
	}
	return max(200*time.Millisecond, s.opts.TTLResolution)
}

func (s *suite) wait() {
	d := s.ttl() + s.opts.TTLResolution + 100*time.Millisecond
	if s.opts.TTLResolution >= time.Second {
		d += time.Second // second-granularity clocks tick late
	}
	if s.opts.Advance != nil {
		s.opts.Advance(d)
		return
	}
	time.Sleep(d)
}

// mustLive checks that key, written with s.ttl() at or after setAt, still
// reads want. Without Options.Advance the store's clock is the real one,
// and a write slow enough (Options.Sync's fsyncs on a loaded machine) may
// leave the entry past its TTL before it is read: a miss then is the store
// rightly expiring it, and is not checked.
func (s *suite) mustLive(t *testing.T, b backend.Backend, key string, setAt time.Time, want string) {
	t.Helper()
	v, err := b.Get(ctx(t), key)
	if errors.Is(err, backend.ErrNotFound) && s.opts.Advance == nil && time.Since(setAt) >= s.ttl() {
		t.Logf("Get(%q), written with a TTL of %v, missed %v after: not checked", key, s.ttl(), time.Since(setAt))
		return
	}
	if err != nil || string(v) != want {
		t.Fatalf("Get(%q), written with a TTL of %v, before it expired = %q, %v; want %q", key, s.ttl(), v, err, want)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustGet(t *testing.T, b backend.Backend, key string) []byte {
	t.Helper()
	v, err := b.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func mustMiss(t *testing.T, b backend.Backend, key string) {
	t.Helper()
	v, err := b.Get(ctx(t), key)
	if !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want an error wrapping backend.ErrNotFound", key, v, err)
	}
}

func mustSet(t *testing.T, b backend.Backend, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := b.Set(ctx(t), key, v, ttl); err != nil {
		t.Fatalf("Set(%q, %d bytes, %v): %v", key, len(v), ttl, err)
	}
}

func (s *suite) testMiss(t *testing.T) {
	b := s.open(t)
	mustMiss(t, b, "absent")
}

func (s *suite) testRoundTrip(t *testing.T) {
	b := s.open(t)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	big := make([]byte, s.opts.MaxValueSize)
	for i := range big {
		big[i] = byte(i * 7)
	}
	cases := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"text", []byte("hello, world")},
		{"binary", binary},
		{"crlf", []byte("a\r\nb\r\n\r\nEND\r\n")},
		{fmt.Sprintf("size=%d", len(big)), big},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "rt/" + tc.name
			mustSet(t, b, key, tc.value, 0)
			got := mustGet(t, b, key)
			if got == nil {
				t.Fatalf("Get(%q) returned a nil slice with no error", key)
			}
			if !bytes.Equal(got, tc.value) {
				t.Fatalf("Get(%q) returned %d bytes, want %d equal to what was set", key, len(got), len(tc.value))
			}
		})
	}
}

func (s *suite) testKeys(t *testing.T) {
	b := s.open(t)
	keys := awkwardKeys()
	for i, k := range keys {
		mustSet(t, b, k, []byte(fmt.Sprint(i)), 0)
	}
	for i, k := range keys {
		if got := string(mustGet(t, b, k)); got != fmt.Sprint(i) {
			t.Errorf("key #%d (%d bytes) returned %q, want %q: keys collide", i, len(k), got, fmt.Sprint(i))
		}
	}
}

// awkwardKeys are keys a store must keep apart although its server cannot
// take them as they are: spaces, control bytes, non-ASCII, the empty key,
// keys past memcached's 250 bytes, and long keys that differ only in their
// last byte (a store that truncates or hashes a prefix of its keys makes
// them collide).
func awkwardKeys() []string {
	return []string{
		"plain", "with space", "with\nnewline", "tab\tkey", "ключ", "a/b/../c",
		strings.Repeat("k", 300), strings.Repeat("k", 299) + "j", "x\x00y", "",
		strings.Repeat("k", 10<<10), strings.Repeat("k", 10<<10-1) + "j",
	}
}

func (s *suite) testOverwrite(t *testing.T) {
	b := s.open(t)
	mustSet(t, b, "k", []byte("one"), 0)
	mustSet(t, b, "k", []byte("two, longer"), 0)
	if got := string(mustGet(t, b, "k")); got != "two, longer" {
		t.Fatalf("after overwrite Get = %q, want %q", got, "two, longer")
	}
	mustSet(t, b, "k", []byte("3"), 0)
	if got := string(mustGet(t, b, "k")); got != "3" {
		t.Fatalf("after overwrite with a shorter value Get = %q, want %q", got, "3")
	}
}

// testTooLarge checks that a Set refused as too large removes the value it
// was to replace: its caller has moved on (a database updated, say) and
// expects the key's old value gone, as for a Set that succeeded.
func (s *suite) testTooLarge(t *testing.T) {
	if s.opts.TooLarge <= 0 {
		t.Skip("Options.TooLarge not set: the store's limit is not known")
	}
	b := s.open(t)
	big := make([]byte, s.opts.TooLarge)
	mustSet(t, b, "k", []byte("old"), 0)
	if ok, err := b.Add(ctx(t), "k", big, 0); ok || !errors.Is(err, backend.ErrValueTooLarge) {
		t.Fatalf("Add of %d bytes over a live key = %v, %v; want false, ErrValueTooLarge", len(big), ok, err)
	}
	if got := string(mustGet(t, b, "k")); got != "old" {
		t.Fatalf("after a refused Add, Get = %q; want the value Add left alone, %q", got, "old")
	}
	if err := b.Set(ctx(t), "k", big, 0); !errors.Is(err, backend.ErrValueTooLarge) {
		t.Fatalf("Set of %d bytes: err = %v, want ErrValueTooLarge", len(big), err)
	}
	mustMiss(t, b, "k")
	if err := b.Set(ctx(t), "absent", big, 0); !errors.Is(err, backend.ErrValueTooLarge) {
		t.Fatalf("Set of %d bytes under an absent key: err = %v, want ErrValueTooLarge", len(big), err)
	}
	mustMiss(t, b, "absent")
}

func (s *suite) testValueIsCopied(t *testing.T) {
	b := s.open(t)
	v := []byte("original")
	mustSet(t, b, "k", v, 0)
	copy(v, "MODIFIED")
	if got := string(mustGet(t, b, "k")); got != "original" {
		t.Fatalf("modifying the slice after Set changed the stored value to %q", got)
	}
	v = []byte("original")
	if ok, err := b.Add(ctx(t), "added", v, 0); err != nil || !ok {
		t.Fatalf("Add on an absent key = %v, %v; want true, nil", ok, err)
	}
	copy(v, "MODIFIED")
	if got := string(mustGet(t, b, "added")); got != "original" {
		t.Fatalf("modifying the slice after Add changed the stored value to %q", got)
	}
	if sm, ok := b.(backend.SetManyer); ok {
		v = []byte("original")
		if err := sm.SetMany(ctx(t), []backend.Item{{Key: "many", Value: v}}); err != nil {
			t.Fatalf("SetMany: %v", err)
		}
		copy(v, "MODIFIED")
		if got := string(mustGet(t, b, "many")); got != "original" {
			t.Fatalf("modifying the slice after SetMany changed the stored value to %q", got)
		}
	}
}

func (s *suite) testNegativeTTL(t *testing.T) {
	b := s.open(t)
	if err := b.Set(ctx(t), "k", []byte("v"), -time.Second); !errors.Is(err, backend.ErrInvalidTTL) {
		t.Fatalf("Set with ttl -1s: err = %v, want ErrInvalidTTL", err)
	}
	if _, err := b.Add(ctx(t), "k", []byte("v"), -time.Second); !errors.Is(err, backend.ErrInvalidTTL) {
		t.Fatalf("Add with ttl -1s: err = %v, want ErrInvalidTTL", err)
	}
	mustMiss(t, b, "k")
}

// testExpiry checks, across one wait, the TTL of every write: Set's; Set's
// over an entry of another TTL, either way (the entry takes the new TTL, so
// that one meant to last is not dropped early and one given a short TTL does
// not live on); Add's (the caching package's leases are taken with Add);
// StoreValue's and AddValue's (given a ValueStore); and that Incr keeps the
// expiry of a counter it changes.
func (s *suite) testExpiry(t *testing.T) {
	b := s.open(t)
	c := ctx(t)
	setAt := time.Now()
	mustSet(t, b, "short", []byte("v"), s.ttl())
	s.mustLive(t, b, "short", setAt, "v")
	// Incr right after the Set, so that a store whose expiry ticks by the
	// second has no time to drop the counter before it.
	in, incr := b.(backend.Incrementer)
	if incr {
		mustSet(t, b, "counter", []byte("1"), s.ttl())
		if n, err := in.Incr(c, "counter", 1); err != nil || n != 2 {
			t.Fatalf("Incr of a counter set to 1 = %d, %v; want 2, nil", n, err)
		}
	}
	mustSet(t, b, "forever", []byte("v"), 0)
	mustSet(t, b, "long", []byte("v"), time.Hour)
	mustSet(t, b, "made-lasting", []byte("old"), s.ttl())
	mustSet(t, b, "made-lasting", []byte("v"), 0)
	mustSet(t, b, "made-short", []byte("old"), 0)
	mustSet(t, b, "made-short", []byte("v"), s.ttl())
	mustSet(t, b, "made-shorter", []byte("old"), time.Hour)
	mustSet(t, b, "made-shorter", []byte("v"), s.ttl())
	if ok, err := b.Add(c, "added", []byte("v"), s.ttl()); err != nil || !ok {
		t.Fatalf("Add on an absent key = %v, %v; want true, nil", ok, err)
	}
	vs, values := b.(backend.ValueStore)
	if values {
		if err := vs.StoreValue("value", "v", 1, s.ttl()); err != nil {
			t.Fatalf("StoreValue: %v", err)
		}
		if ok, err := vs.AddValue("value-added", "v", 1, s.ttl()); err != nil || !ok {
			t.Fatalf("AddValue on an absent key = %v, %v; want true, nil", ok, err)
		}
		if err := vs.StoreValue("value-forever", "v", 1, 0); err != nil {
			t.Fatalf("StoreValue: %v", err)
		}
	}
	s.wait()
	mustMiss(t, b, "short")
	mustGet(t, b, "forever")
	mustGet(t, b, "long")
	if got := string(mustGet(t, b, "made-lasting")); got != "v" {
		t.Fatalf("Get of an entry Set with no expiry over one with a TTL = %q, want %q", got, "v")
	}
	for _, k := range []string{"made-short", "made-shorter"} {
		if v, err := b.Get(c, k); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Get(%q), Set with a short TTL over an entry with a longer one, after the TTL = %q, %v; want ErrNotFound", k, v, err)
		}
	}
	if v, err := b.Get(c, "added"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Get of a key Added with a TTL, after the TTL = %q, %v; want ErrNotFound", v, err)
	}
	if incr {
		if v, err := b.Get(c, "counter"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Get of a counter Set with a TTL, then Incr'd, after the TTL = %q, %v; want ErrNotFound (Incr keeps the expiry)", v, err)
		}
	}
	if values {
		for _, k := range []string{"value", "value-added"} {
			if v, ok := vs.LoadValue(k); ok {
				t.Errorf("LoadValue(%q) of a value stored with a TTL, after the TTL = %v; want a miss", k, v)
			}
			if v, ok := vs.LoadValueAt(k, time.Now()); ok {
				t.Errorf("LoadValueAt(%q) of a value stored with a TTL, after the TTL = %v; want a miss", k, v)
			}
		}
		if _, ok := vs.LoadValue("value-forever"); !ok {
			t.Errorf("LoadValue of a value stored with no expiry missed")
		}
	}
}

// testHugeTTL writes with TTLs whose deadline is past what the clocks hold
// (the largest Duration, 250 years): the value must be stored and readable,
// not wrapped into an instant expiry or refused by the server.
func (s *suite) testHugeTTL(t *testing.T) {
	b := s.open(t)
	for i, ttl := range []time.Duration{math.MaxInt64, 250 * 365 * 24 * time.Hour} {
		key := "huge" + strconv.Itoa(i)
		mustSet(t, b, key, []byte("v"), ttl)
		if got := string(mustGet(t, b, key)); got != "v" {
			t.Fatalf("Get after Set with ttl %v = %q, want %q", ttl, got, "v")
		}
		added, err := b.Add(ctx(t), key+"a", []byte("v"), ttl)
		if err != nil || !added {
			t.Fatalf("Add with ttl %v = %v, %v; want true, nil", ttl, added, err)
		}
		mustGet(t, b, key+"a")
	}
}

func (s *suite) testAdd(t *testing.T) {
	b := s.open(t)
	ok, err := b.Add(ctx(t), "k", []byte("first"), 0)
	if err != nil || !ok {
		t.Fatalf("Add on an absent key = %v, %v; want true, nil", ok, err)
	}
	ok, err = b.Add(ctx(t), "k", []byte("second"), 0)
	if err != nil || ok {
		t.Fatalf("Add on a present key = %v, %v; want false, nil", ok, err)
	}
	if got := string(mustGet(t, b, "k")); got != "first" {
		t.Fatalf("Add on a present key replaced the value: %q", got)
	}
}

func (s *suite) testAddExpired(t *testing.T) {
	b := s.open(t)
	mustSet(t, b, "k", []byte("old"), s.ttl())
	s.wait()
	ok, err := b.Add(ctx(t), "k", []byte("new"), 0)
	if err != nil || !ok {
		t.Fatalf("Add on an expired key = %v, %v; want true, nil", ok, err)
	}
	if got := string(mustGet(t, b, "k")); got != "new" {
		t.Fatalf("Get after Add on an expired key = %q, want %q", got, "new")
	}
}

func (s *suite) testDelete(t *testing.T) {
	b := s.open(t)
	if err := b.Delete(ctx(t), "missing"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := b.Delete(ctx(t)); err != nil {
		t.Fatalf("Delete of no keys: %v", err)
	}
	mustSet(t, b, "a", []byte("1"), 0)
	mustSet(t, b, "b", []byte("2"), 0)
	mustSet(t, b, "c", []byte("3"), 0)
	if err := b.Delete(ctx(t), "a", "b", "missing"); err != nil {
		t.Fatalf("Delete(a, b, missing): %v", err)
	}
	mustMiss(t, b, "a")
	mustMiss(t, b, "b")
	mustGet(t, b, "c")
}

func (s *suite) testClearIsolated(t *testing.T) {
	one, two := s.open(t), s.open(t)
	for i := range 20 {
		k := fmt.Sprintf("k%d", i)
		mustSet(t, one, k, []byte("one"), 0)
		mustSet(t, two, k, []byte("two"), 0)
	}
	if err := one.Clear(ctx(t)); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	for i := range 20 {
		k := fmt.Sprintf("k%d", i)
		mustMiss(t, one, k)
		if got := string(mustGet(t, two, k)); got != "two" {
			t.Fatalf("Clear of one namespace changed another's %s to %q", k, got)
		}
	}
	mustSet(t, one, "after", []byte("v"), 0)
	mustGet(t, one, "after")
}

func (s *suite) testGetMany(t *testing.T) {
	b := s.open(t)
	gm, ok := b.(backend.GetManyer)
	if !ok {
		t.Skip("backend does not implement backend.GetManyer")
	}
	if got, err := gm.GetMany(ctx(t), nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v; want no values", got, err)
	}
	mustSet(t, b, "a", []byte("1"), 0)
	mustSet(t, b, "empty", []byte{}, 0)
	mustSet(t, b, "c", []byte("3"), 0)
	keys := []string{"a", "missing", "empty", "c", "a"}
	got, err := gm.GetMany(ctx(t), keys)
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if len(got) != len(keys) {
		t.Fatalf("GetMany returned %d slots for %d keys", len(got), len(keys))
	}
	want := [][]byte{[]byte("1"), nil, {}, []byte("3"), []byte("1")}
	for i := range keys {
		if (got[i] == nil) != (want[i] == nil) || !bytes.Equal(got[i], want[i]) {
			t.Errorf("GetMany slot %d (%q) = %q (nil: %v), want %q (nil: %v)", i, keys[i], got[i], got[i] == nil, want[i], want[i] == nil)
		}
	}
	// Many keys, so that a sharded store's fan-out is exercised.
	var many []string
	for i := range 200 {
		k := fmt.Sprintf("many/%d", i)
		many = append(many, k)
		if i%2 == 0 {
			mustSet(t, b, k, []byte(k), 0)
		}
	}
	got, err = gm.GetMany(ctx(t), many)
	if err != nil {
		t.Fatalf("GetMany of 200 keys: %v", err)
	}
	for i, k := range many {
		if i%2 == 0 && string(got[i]) != k || i%2 == 1 && got[i] != nil {
			t.Fatalf("GetMany of 200 keys: slot %d = %q", i, got[i])
		}
	}
}

func (s *suite) testSetMany(t *testing.T) {
	b := s.open(t)
	sm, ok := b.(backend.SetManyer)
	if !ok {
		t.Skip("backend does not implement backend.SetManyer")
	}
	if err := sm.SetMany(ctx(t), nil); err != nil {
		t.Fatalf("SetMany(nil): %v", err)
	}
	items := []backend.Item{
		{Key: "a", Value: []byte("1")},
		{Key: "b", Value: []byte{}, TTL: time.Hour},
		{Key: "short", Value: []byte("3"), TTL: s.ttl()},
	}
	setAt := time.Now()
	if err := sm.SetMany(ctx(t), items); err != nil {
		t.Fatalf("SetMany: %v", err)
	}
	s.mustLive(t, b, "short", setAt, "3")
	if got := string(mustGet(t, b, "a")); got != "1" {
		t.Fatalf("after SetMany Get(a) = %q", got)
	}
	if got := mustGet(t, b, "b"); len(got) != 0 {
		t.Fatalf("after SetMany Get(b) = %q", got)
	}
	s.wait()
	mustMiss(t, b, "short")
	mustGet(t, b, "a")
	if err := sm.SetMany(ctx(t), []backend.Item{{Key: "neg", Value: []byte("v"), TTL: -1}}); !errors.Is(err, backend.ErrInvalidTTL) {
		t.Fatalf("SetMany with a negative TTL: err = %v, want ErrInvalidTTL", err)
	}
}

func (s *suite) testIncr(t *testing.T) {
	b := s.open(t)
	in, ok := b.(backend.Incrementer)
	if !ok {
		t.Skip("backend does not implement backend.Incrementer")
	}
	n, err := in.Incr(ctx(t), "counter", 5)
	if err != nil || n != 5 {
		t.Fatalf("Incr of a missing key by 5 = %d, %v; want 5, nil", n, err)
	}
	n, err = in.Incr(ctx(t), "counter", 3)
	if err != nil || n != 8 {
		t.Fatalf("Incr by 3 = %d, %v; want 8, nil", n, err)
	}
	if got := string(mustGet(t, b, "counter")); got != "8" {
		t.Fatalf("Get of a counter = %q, want decimal %q", got, "8")
	}
	mustSet(t, b, "set", []byte("41"), 0)
	if n, err = in.Incr(ctx(t), "set", 1); err != nil || n != 42 {
		t.Fatalf("Incr of a value set as %q = %d, %v; want 42", "41", n, err)
	}
	mustSet(t, b, "text", []byte("not a number"), 0)
	if _, err = in.Incr(ctx(t), "text", 1); !errors.Is(err, backend.ErrNotInteger) {
		t.Fatalf("Incr of a non-integer: err = %v, want ErrNotInteger", err)
	}
	if got := string(mustGet(t, b, "text")); got != "not a number" {
		t.Fatalf("a failed Incr changed the value to %q", got)
	}
	// Counters are atomic.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := in.Incr(context.Background(), "atomic", 1); err != nil {
					t.Errorf("concurrent Incr: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := string(mustGet(t, b, "atomic")); got != "400" {
		t.Fatalf("400 concurrent increments gave %q", got)
	}
}

// testIncrCanonical checks that Incr counts only from an integer as
// strconv.FormatInt writes it (as Redis's INCRBY reads one): a value with a
// '+' sign, a leading zero, "-0", blanks or anything else gives
// ErrNotInteger and is left as it was, so that a program gets the same
// answer on every store.
func (s *suite) testIncrCanonical(t *testing.T) {
	b := s.open(t)
	in, ok := b.(backend.Incrementer)
	if !ok {
		t.Skip("backend does not implement backend.Incrementer")
	}
	for i, v := range []string{
		"007", "+5", "-0", "00", "-05", " 5", "5 ", "\t5", "5\n", "5 apples",
		"0x10", "1e3", "1_000", "", "-", "+", "9223372036854775808", "-9223372036854775809",
	} {
		if slices.Contains(s.opts.IncrAccepts, v) {
			continue
		}
		key := fmt.Sprint("text", i)
		mustSet(t, b, key, []byte(v), 0)
		if n, err := in.Incr(ctx(t), key, 1); !errors.Is(err, backend.ErrNotInteger) {
			t.Errorf("Incr of %q = %d, %v; want ErrNotInteger", v, n, err)
		}
		if got := string(mustGet(t, b, key)); got != v {
			t.Errorf("a refused Incr of %q changed the value to %q", v, got)
		}
	}
	// A value out of the int64 range is no integer whatever the sign of
	// delta, even where the result would be back in range (memcached's
	// counters are unsigned 64-bit: its decr counts from 2^63).
	for i, tc := range []struct {
		v     string
		delta int64
	}{
		{"9223372036854775808", -1},             // 2^63
		{"18446744073709551615", 1},             // 2^64-1
		{"18446744073709551615", math.MinInt64}, // to 2^63-1
		{"-9223372036854775809", -1},
	} {
		if slices.Contains(s.opts.IncrAccepts, tc.v) {
			continue
		}
		key := fmt.Sprint("range", i)
		mustSet(t, b, key, []byte(tc.v), 0)
		if n, err := in.Incr(ctx(t), key, tc.delta); !errors.Is(err, backend.ErrNotInteger) {
			t.Errorf("Incr of %q by %d = %d, %v; want ErrNotInteger", tc.v, tc.delta, n, err)
		}
		if got := string(mustGet(t, b, key)); got != tc.v {
			t.Errorf("a refused Incr of %q by %d changed the value to %q", tc.v, tc.delta, got)
		}
	}
	// Integers as FormatInt writes them count, to the end of the range.
	for i, v := range []string{"0", "10", "9223372036854775806"} {
		key := fmt.Sprint("integer", i)
		mustSet(t, b, key, []byte(v), 0)
		want, _ := strconv.ParseInt(v, 10, 64)
		if n, err := in.Incr(ctx(t), key, 1); err != nil || n != want+1 {
			t.Errorf("Incr of %q = %d, %v; want %d", v, n, err, want+1)
		}
	}
}

// testIncrFewerDigits checks that a counter whose value loses digits reads
// back as its plain decimal text: memcached rewrites a counter in place and
// pads a shorter result with spaces ("9 "), which a reader takes for no
// integer. The result never goes below 0, where memcached's unsigned
// counters would stop.
func (s *suite) testIncrFewerDigits(t *testing.T) {
	b := s.open(t)
	in, ok := b.(backend.Incrementer)
	if !ok {
		t.Skip("backend does not implement backend.Incrementer")
	}
	steps := []struct {
		key          string
		start, delta int64
		want         string
	}{
		{"ten", 10, -1, "9"},
		{"hundred", 100, -1, "99"},
		{"zero", 10, -10, "0"},
		{"thousand", 1000, -999, "1"},
	}
	for _, st := range steps {
		if n, err := in.Incr(ctx(t), st.key, st.start); err != nil || n != st.start {
			t.Fatalf("Incr of a missing key by %d = %d, %v; want %d, nil", st.start, n, err, st.start)
		}
		n, err := in.Incr(ctx(t), st.key, st.delta)
		if err != nil || strconv.FormatInt(n, 10) != st.want {
			t.Fatalf("Incr of %d by %d = %d, %v; want %s, nil", st.start, st.delta, n, err, st.want)
		}
		if got := string(mustGet(t, b, st.key)); got != st.want {
			t.Fatalf("Get of a counter taken from %d to %s = %q, want decimal %q", st.start, st.want, got, st.want)
		}
		if gm, ok := b.(backend.GetManyer); ok {
			vs, err := gm.GetMany(ctx(t), []string{st.key})
			if err != nil || len(vs) != 1 || string(vs[0]) != st.want {
				t.Fatalf("GetMany of a counter taken from %d to %s = %q, %v; want decimal %q", st.start, st.want, vs, err, st.want)
			}
		}
		// It still counts, and grows past its old length again.
		if n, err := in.Incr(ctx(t), st.key, st.start); err != nil || n != st.start+st.start+st.delta {
			t.Fatalf("Incr by %d after = %d, %v; want %d", st.start, n, err, st.start+st.start+st.delta)
		}
	}
}

func (s *suite) testHas(t *testing.T) {
	b := s.open(t)
	h, ok := b.(backend.Haser)
	if !ok {
		t.Skip("backend does not implement backend.Haser")
	}
	mustSet(t, b, "k", []byte("v"), 0)
	setAt := time.Now()
	mustSet(t, b, "short", []byte("v"), s.ttl())
	if got, err := h.Has(ctx(t), "short"); err != nil || !got {
		if err == nil && s.opts.Advance == nil && time.Since(setAt) >= s.ttl() {
			t.Logf("Has(%q), written with a TTL of %v, missed %v after: not checked", "short", s.ttl(), time.Since(setAt))
		} else {
			t.Fatalf("Has(%q) before it expired = %v, %v; want true", "short", got, err)
		}
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{{"k", true}, {"missing", false}} {
		if got, err := h.Has(ctx(t), tc.key); err != nil || got != tc.want {
			t.Fatalf("Has(%q) = %v, %v; want %v", tc.key, got, err, tc.want)
		}
	}
	s.wait()
	if got, err := h.Has(ctx(t), "short"); err != nil || got {
		t.Fatalf("Has of an expired key = %v, %v; want false", got, err)
	}
}

func (s *suite) testDeleteCount(t *testing.T) {
	b := s.open(t)
	dc, ok := b.(backend.DeleteCounter)
	if !ok {
		t.Skip("backend does not implement backend.DeleteCounter")
	}
	if n, err := dc.DeleteCount(ctx(t)); err != nil || n != 0 {
		t.Fatalf("DeleteCount of no keys = %d, %v; want 0", n, err)
	}
	mustSet(t, b, "a", []byte("1"), 0)
	mustSet(t, b, "b", []byte(""), 0)
	mustSet(t, b, "c", []byte("3"), 0)
	mustSet(t, b, "short", []byte("v"), s.ttl())
	s.wait()
	// An expired entry is not counted; a key given twice counts once.
	n, err := dc.DeleteCount(ctx(t), "a", "b", "missing", "a", "short")
	if err != nil || n != 2 {
		t.Fatalf("DeleteCount(a, b, missing, a, short) = %d, %v; want 2", n, err)
	}
	mustMiss(t, b, "a")
	mustMiss(t, b, "b")
	mustGet(t, b, "c")
	if n, err := dc.DeleteCount(ctx(t), "a", "b"); err != nil || n != 0 {
		t.Fatalf("DeleteCount of deleted keys = %d, %v; want 0", n, err)
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	b := s.open(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := context.Background()
			for i := range 200 {
				k := fmt.Sprintf("k%d", i%16)
				v := []byte(fmt.Sprintf("g%d-%d", g, i))
				switch i % 4 {
				case 0:
					if err := b.Set(c, k, v, 0); err != nil {
						t.Errorf("Set: %v", err)
						return
					}
				case 1:
					if _, err := b.Get(c, k); err != nil && !errors.Is(err, backend.ErrNotFound) {
						t.Errorf("Get: %v", err)
						return
					}
				case 2:
					if _, err := b.Add(c, k, v, time.Minute); err != nil {
						t.Errorf("Add: %v", err)
						return
					}
				case 3:
					if err := b.Delete(c, k); err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	mustSet(t, b, "final", []byte("v"), 0)
	mustGet(t, b, "final")
}

func (s *suite) testDiscards(t *testing.T) {
	b := s.open(t)
	c := ctx(t)
	mustSet(t, b, "k", []byte("v"), 0)
	mustMiss(t, b, "k")
	for range 2 {
		if ok, err := b.Add(c, "k", []byte("v"), 0); err != nil || !ok {
			t.Fatalf("Add on a store that keeps nothing = %v, %v; want true (the key is always absent)", ok, err)
		}
	}
	mustMiss(t, b, "k")
	if err := b.Delete(c, "k", "j"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := b.Clear(c); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if gm, ok := b.(backend.GetManyer); ok {
		got, err := gm.GetMany(c, []string{"k", "j"})
		if err != nil || len(got) != 2 || got[0] != nil || got[1] != nil {
			t.Fatalf("GetMany = %q, %v; want two misses", got, err)
		}
	}
	if sm, ok := b.(backend.SetManyer); ok {
		if err := sm.SetMany(c, []backend.Item{{Key: "k", Value: []byte("v")}}); err != nil {
			t.Fatalf("SetMany: %v", err)
		}
		mustMiss(t, b, "k")
	}
	if h, ok := b.(backend.Haser); ok {
		if has, err := h.Has(c, "k"); err != nil || has {
			t.Fatalf("Has = %v, %v; want false", has, err)
		}
	}
}

func (s *suite) testClose(t *testing.T) {
	b := s.newBackend(t)
	_ = b.Set(ctx(t), "k", []byte("v"), 0)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v (Close must be idempotent)", err)
	}
	if _, err := b.Get(ctx(t), "k"); !errors.Is(err, backend.ErrClosed) {
		t.Fatalf("Get after Close: err = %v, want ErrClosed", err)
	}
	if err := b.Set(ctx(t), "k", []byte("v"), 0); !errors.Is(err, backend.ErrClosed) {
		t.Fatalf("Set after Close: err = %v, want ErrClosed", err)
	}
	// Every other method, and every optional capability offered.
	c := ctx(t)
	closed := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, backend.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", method, err)
		}
	}
	_, err := b.Add(c, "k", []byte("v"), 0)
	closed("Add", err)
	closed("Delete", b.Delete(c, "k"))
	closed("Clear", b.Clear(c))
	if gm, ok := b.(backend.GetManyer); ok {
		_, err := gm.GetMany(c, []string{"k"})
		closed("GetMany", err)
	}
	if sm, ok := b.(backend.SetManyer); ok {
		closed("SetMany", sm.SetMany(c, []backend.Item{{Key: "k", Value: []byte("v")}}))
	}
	if in, ok := b.(backend.Incrementer); ok {
		_, err := in.Incr(c, "n", 1)
		closed("Incr", err)
	}
	if h, ok := b.(backend.Haser); ok {
		_, err := h.Has(c, "k")
		closed("Has", err)
	}
	if dc, ok := b.(backend.DeleteCounter); ok {
		_, err := dc.DeleteCount(c, "k")
		closed("DeleteCount", err)
	}
	if vs, ok := b.(backend.ValueStore); ok {
		closed("StoreValue", vs.StoreValue("k", "v", 1, 0))
		_, err := vs.AddValue("k", "v", 1, 0)
		closed("AddValue", err)
	}
}

// testValueStore checks the contract of backend.ValueStore, for a store that
// offers it: Get and LoadValue do not see each other's values, Delete and
// Clear remove both, and AddValue is atomic. testExpiry checks expiry.
func (s *suite) testValueStore(t *testing.T) {
	b := s.open(t)
	vs, ok := b.(backend.ValueStore)
	if !ok {
		t.Skip("backend does not implement backend.ValueStore")
	}
	type value struct{ n int }
	v := &value{1}
	if err := vs.StoreValue("value", v, 8, 0); err != nil {
		t.Fatalf("StoreValue: %v", err)
	}
	if got, ok := vs.LoadValue("value"); !ok || got != v {
		t.Fatalf("LoadValue after StoreValue = %v, %v; want the value stored", got, ok)
	}
	if got, ok := vs.LoadValueAt("value", time.Now()); !ok || got != v {
		t.Fatalf("LoadValueAt after StoreValue = %v, %v; want the value stored", got, ok)
	}
	mustMiss(t, b, "value")
	mustSet(t, b, "bytes", []byte("v"), 0)
	if got, ok := vs.LoadValue("bytes"); ok {
		t.Fatalf("LoadValue of a key Set with bytes = %v; want a miss", got)
	}
	// AddValue stores only under a key with no live entry, of either kind.
	for _, k := range []string{"value", "bytes"} {
		if ok, err := vs.AddValue(k, &value{2}, 8, 0); err != nil || ok {
			t.Fatalf("AddValue over a live entry (%s) = %v, %v; want false, nil", k, ok, err)
		}
	}
	if got, _ := vs.LoadValue("value"); got != v {
		t.Fatalf("AddValue over a live value replaced it: LoadValue = %v", got)
	}
	// AddValue is atomic: one of many at once stores.
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := vs.AddValue("raced", &value{i}, 8, 0)
			if err != nil {
				t.Errorf("AddValue: %v", err)
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if added != 1 {
		t.Fatalf("%d of 8 AddValue calls at once on one key stored their value; want 1", added)
	}
	// Delete and Clear apply to values too.
	if err := b.Delete(ctx(t), "value"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, ok := vs.LoadValue("value"); ok {
		t.Fatalf("LoadValue after Delete = %v; want a miss", got)
	}
	if err := b.Clear(ctx(t)); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if got, ok := vs.LoadValue("raced"); ok {
		t.Fatalf("LoadValue after Clear = %v; want a miss", got)
	}
}

// testKeysEveryMethod runs the keys of testKeys through every method that
// takes one, so that a store that maps its keys (hashing long ones,
// escaping bytes its server refuses) maps them alike in each: a key that
// Set maps one way and GetMany, Add, Incr, Has or Delete another is found
// absent, or another key's value is read or removed.
func (s *suite) testKeysEveryMethod(t *testing.T) {
	b := s.open(t)
	c := ctx(t)
	keys := awkwardKeys()
	for i, k := range keys {
		if ok, err := b.Add(c, k, []byte(fmt.Sprint(i)), 0); err != nil || !ok {
			t.Fatalf("Add of key #%d (%d bytes) on an empty store = %v, %v; want true, nil", i, len(k), ok, err)
		}
	}
	for i, k := range keys {
		if ok, err := b.Add(c, k, []byte("again"), 0); err != nil || ok {
			t.Fatalf("second Add of key #%d (%d bytes) = %v, %v; want false, nil", i, len(k), ok, err)
		}
		if got := string(mustGet(t, b, k)); got != fmt.Sprint(i) {
			t.Fatalf("key #%d (%d bytes) Added returned %q, want %q", i, len(k), got, fmt.Sprint(i))
		}
	}
	if gm, ok := b.(backend.GetManyer); ok {
		got, err := gm.GetMany(c, keys)
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		for i := range keys {
			if string(got[i]) != fmt.Sprint(i) {
				t.Errorf("GetMany slot %d (%d bytes) = %q, want %q", i, len(keys[i]), got[i], fmt.Sprint(i))
			}
		}
	}
	if h, ok := b.(backend.Haser); ok {
		for i, k := range keys {
			if got, err := h.Has(c, k); err != nil || !got {
				t.Errorf("Has of key #%d (%d bytes) = %v, %v; want true", i, len(k), got, err)
			}
		}
	}
	if in, ok := b.(backend.Incrementer); ok {
		for i, k := range keys {
			if n, err := in.Incr(c, k, 1000); err != nil || n != int64(i)+1000 {
				t.Errorf("Incr of key #%d (%d bytes), set to %d, by 1000 = %d, %v; want %d", i, len(k), i, n, err, i+1000)
			}
		}
	}
	if sm, ok := b.(backend.SetManyer); ok {
		items := make([]backend.Item, len(keys))
		for i, k := range keys {
			items[i] = backend.Item{Key: k, Value: []byte("many" + fmt.Sprint(i))}
		}
		if err := sm.SetMany(c, items); err != nil {
			t.Fatalf("SetMany: %v", err)
		}
		for i, k := range keys {
			if got := string(mustGet(t, b, k)); got != "many"+fmt.Sprint(i) {
				t.Errorf("key #%d (%d bytes) after SetMany returned %q, want %q", i, len(k), got, "many"+fmt.Sprint(i))
			}
		}
	}
	// Delete every other key: the others stay.
	var gone []string
	for i := 0; i < len(keys); i += 2 {
		gone = append(gone, keys[i])
	}
	if err := b.Delete(c, gone...); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for i, k := range keys {
		_, err := b.Get(c, k)
		switch {
		case i%2 == 0 && !errors.Is(err, backend.ErrNotFound):
			t.Errorf("Get of key #%d (%d bytes) after its Delete: err = %v, want ErrNotFound", i, len(k), err)
		case i%2 == 1 && err != nil:
			t.Errorf("Get of key #%d (%d bytes), not deleted: %v", i, len(k), err)
		}
	}
	if dc, ok := b.(backend.DeleteCounter); ok {
		var rest []string
		for i := 1; i < len(keys); i += 2 {
			rest = append(rest, keys[i])
		}
		if n, err := dc.DeleteCount(c, rest...); err != nil || n != len(rest) {
			t.Errorf("DeleteCount of the %d keys left = %d, %v; want %d", len(rest), n, err, len(rest))
		}
		for _, k := range rest {
			mustMiss(t, b, k)
		}
	}
}
