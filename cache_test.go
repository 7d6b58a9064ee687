package caching

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// remote hides the in-process capabilities of a store, so that the Cache
// takes the path it takes with Redis or memcached: encoded entries, GetMany.
// It counts round trips.
type remote struct {
	backend.Backend
	trips atomic.Int64
	fail  atomic.Bool
}

var errDown = errors.New("remote: connection refused")

func (r *remote) call() error {
	r.trips.Add(1)
	if r.fail.Load() {
		return errDown
	}
	return nil
}

func (r *remote) Get(ctx context.Context, key string) ([]byte, error) {
	if err := r.call(); err != nil {
		return nil, err
	}
	return r.Backend.Get(ctx, key)
}

func (r *remote) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := r.call(); err != nil {
		return err
	}
	return r.Backend.Set(ctx, key, v, ttl)
}

func (r *remote) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if err := r.call(); err != nil {
		return false, err
	}
	return r.Backend.Add(ctx, key, v, ttl)
}

func (r *remote) Delete(ctx context.Context, keys ...string) error {
	if err := r.call(); err != nil {
		return err
	}
	return r.Backend.Delete(ctx, keys...)
}

func (r *remote) Clear(ctx context.Context) error {
	if err := r.call(); err != nil {
		return err
	}
	return r.Backend.Clear(ctx)
}

func (r *remote) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := r.call(); err != nil {
		return nil, err
	}
	return r.Backend.(backend.GetManyer).GetMany(ctx, keys)
}

func (r *remote) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if err := r.call(); err != nil {
		return 0, err
	}
	return r.Backend.(backend.Incrementer).Incr(ctx, key, delta)
}

type storeKind struct {
	name string
	// open returns a Cache over a store of this kind, and the store itself
	// so that two Caches can share it.
	open func(t *testing.T, shared backend.Backend, clock *testutil.Clock, opts Options) (*Cache, backend.Backend)
}

func newSimple(t *testing.T, clock *testutil.Clock) *simple.Store {
	t.Helper()
	o := simple.Options{}
	if clock != nil {
		o.Clock = clock.Now
	}
	s, err := simple.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

var storeKinds = []storeKind{
	{"local", func(t *testing.T, shared backend.Backend, clock *testutil.Clock, opts Options) (*Cache, backend.Backend) {
		if shared == nil {
			shared = newSimple(t, clock)
		}
		opts.Backend = localNoClose{shared.(*simple.Store)}
		if clock != nil {
			opts.Clock = clock.Now
		}
		c, err := New(&opts)
		require.NoError(t, err)
		return c, shared
	}},
	{"remote", func(t *testing.T, shared backend.Backend, clock *testutil.Clock, opts Options) (*Cache, backend.Backend) {
		if shared == nil {
			shared = &remote{Backend: newSimple(t, clock)}
		}
		opts.Backend = nopClose{shared}
		if clock != nil {
			opts.Clock = clock.Now
		}
		c, err := New(&opts)
		require.NoError(t, err)
		return c, shared
	}},
}

// nopClose keeps a shared store open when one of the Caches over it closes.
type nopClose struct{ backend.Backend }

func (nopClose) Close() error { return nil }

// localNoClose is nopClose for the in-process store: it keeps the store's
// backend.ValueStore methods, so the Cache takes its in-process path.
type localNoClose struct{ *simple.Store }

func (localNoClose) Close() error { return nil }

func forEachStore(t *testing.T, fn func(t *testing.T, k storeKind)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			c, _ := k.open(t, nil, nil, Options{})
			if local := c.store.local != nil; local != (k.name == "local") {
				t.Fatalf("store kind %s: in-process path = %v", k.name, local)
			}
			fn(t, k)
		})
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]Options{
		"DefaultTTL":  {DefaultTTL: -time.Second},
		"LogInterval": {LogInterval: -1},
		"Timeout":     {Timeout: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(&o)
			require.Error(t, err)
			require.Contains(t, err.Error(), "Options."+name)
		})
	}
	c, err := New(nil)
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, c.ttl)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Get(context.Background(), "k")
	require.ErrorIs(t, err, ErrClosed)
}

func TestSetGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, _ := k.open(t, nil, nil, Options{})
		_, err := c.Get(ctx, "missing")
		require.ErrorIs(t, err, ErrNotFound)
		for _, v := range [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{0, 255}, 1000)} {
			require.NoError(t, c.Set(ctx, "k", v, time.Minute))
			got, err := c.Get(ctx, "k")
			require.NoError(t, err)
			require.Equal(t, v, got)
		}
		ok, err := c.Has(ctx, "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.ErrorIs(t, c.Set(ctx, "k", []byte("v"), -time.Second), ErrInvalidTTL)
		require.NoError(t, c.Delete(ctx, "k", "absent"))
		_, err = c.Get(ctx, "k")
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestTTL(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		clock := testutil.NewClock()
		c, _ := k.open(t, nil, clock, Options{DefaultTTL: time.Minute})
		require.NoError(t, c.Set(ctx, "default", []byte("v"), 0))
		require.NoError(t, c.Set(ctx, "forever", []byte("v"), Forever))
		require.NoError(t, c.Set(ctx, "short", []byte("v"), time.Second))
		clock.Advance(2 * time.Second)
		_, err := c.Get(ctx, "short")
		require.ErrorIs(t, err, ErrNotFound, "an entry past its TTL is a miss")
		_, err = c.Get(ctx, "default")
		require.NoError(t, err)
		clock.Advance(time.Minute)
		_, err = c.Get(ctx, "default")
		require.ErrorIs(t, err, ErrNotFound, "TTL 0 means DefaultTTL")
		clock.Advance(1000 * time.Hour)
		_, err = c.Get(ctx, "forever")
		require.NoError(t, err, "Forever never expires")
	})
}

func TestDeadlineSaturates(t *testing.T) {
	require.Equal(t, int64(math.MaxInt64), deadline(math.MaxInt64-5, time.Hour))
	require.Equal(t, int64(0), deadline(100, 0))
	e := newEntry(10, time.Duration(math.MaxInt64-1), time.Hour)
	require.True(t, e.FreshUntil > 0 && e.StaleUntil >= e.FreshUntil)
}

func TestAdd(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		clock := testutil.NewClock()
		c, _ := k.open(t, nil, clock, Options{})
		ok, err := c.Add(ctx, "k", []byte("one"), time.Second)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = c.Add(ctx, "k", []byte("two"), time.Second)
		require.NoError(t, err)
		require.False(t, ok)
		got, _ := c.Get(ctx, "k")
		require.Equal(t, "one", string(got))
		clock.Advance(2 * time.Second)
		ok, err = c.Add(ctx, "k", []byte("three"), time.Second)
		require.NoError(t, err)
		require.True(t, ok, "Add on an expired key succeeds")
	})
}

func TestTags(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, store := k.open(t, nil, nil, Options{})
		other, _ := k.open(t, store, nil, Options{}) // a second process on the same store
		require.NoError(t, c.Set(ctx, "p1", []byte("1"), time.Minute, Tags("products")))
		require.NoError(t, c.Set(ctx, "p2", []byte("2"), time.Minute, Tags("products", "featured")))
		require.NoError(t, c.Set(ctx, "u1", []byte("3"), time.Minute, Tags("users")))
		for _, key := range []string{"p1", "p2", "u1"} {
			_, err := other.Get(ctx, key)
			require.NoError(t, err, key)
		}
		require.NoError(t, other.InvalidateTags(ctx, "products"))
		for _, key := range []string{"p1", "p2"} {
			_, err := c.Get(ctx, key)
			require.ErrorIs(t, err, ErrNotFound, "%s was tagged products", key)
		}
		_, err := c.Get(ctx, "u1")
		require.NoError(t, err, "an entry of another tag survives")
		// New entries under the invalidated tag are served again.
		require.NoError(t, c.Set(ctx, "p1", []byte("new"), time.Minute, Tags("products")))
		got, err := other.Get(ctx, "p1")
		require.NoError(t, err)
		require.Equal(t, "new", string(got))
	})
}

// TestTagVersionLossNeverResurrects is the regression test for the fault of
// Flask-Caching's memoize version keys (#531): when the key holding a tag's
// version disappears (evicted or expired), entries written under it must not
// become valid again.
func TestTagVersionLossNeverResurrects(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, store := k.open(t, nil, nil, Options{})
		require.NoError(t, c.Set(ctx, "k", []byte("old"), time.Minute, Tags("t")))
		require.NoError(t, c.InvalidateTags(ctx, "t"))
		require.NoError(t, store.Delete(ctx, c.tagKey("t"))) // the version key is lost
		_, err := c.Get(ctx, "k")
		require.ErrorIs(t, err, ErrNotFound)
		require.NoError(t, c.Set(ctx, "k2", []byte("v"), time.Minute, Tags("t")))
		_, err = c.Get(ctx, "k")
		require.ErrorIs(t, err, ErrNotFound, "a new version of the tag must not revive the old entry")
		_, err = c.Get(ctx, "k2")
		require.NoError(t, err)
	})
}

func TestLookupIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	r := &remote{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: r})
	require.NoError(t, err)
	tags := c.tagKeys([]string{"a", "b", "c"})
	e := newEntry(c.now(), time.Minute, 0)
	e.Payload = []byte("v")
	vs, err := c.store.versions(ctx, tags, time.Minute)
	require.NoError(t, err)
	require.NoError(t, c.store.save(ctx, "v/x", e, vs))
	before := r.trips.Load()
	got, err := c.store.lookup(ctx, "v/x", tags, time.Time{})
	require.NoError(t, err)
	require.Equal(t, "v", string(got.Payload))
	require.Equal(t, int64(1), r.trips.Load()-before, "entry and three tag versions in one GetMany")
}

func TestCorruptEntryIsAMissAndDeleted(t *testing.T) {
	ctx := context.Background()
	r := &remote{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: r})
	require.NoError(t, err)
	require.NoError(t, r.Set(ctx, c.userKey("k"), []byte("ce\x01\x00garbage"), 0))
	_, err = c.Get(ctx, "k")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, int64(1), c.Stats().Corrupt)
	_, err = r.Get(ctx, c.userKey("k"))
	require.ErrorIs(t, err, ErrNotFound, "the corrupt entry was deleted")
}

func TestKeyPrefixIsolates(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		a, store := k.open(t, nil, nil, Options{KeyPrefix: "a:"})
		b, _ := k.open(t, store, nil, Options{KeyPrefix: "b:"})
		require.NoError(t, a.Set(ctx, "k", []byte("a"), time.Minute, Tags("t")))
		require.NoError(t, b.Set(ctx, "k", []byte("b"), time.Minute, Tags("t")))
		require.NoError(t, a.InvalidateTags(ctx, "t"))
		_, err := a.Get(ctx, "k")
		require.ErrorIs(t, err, ErrNotFound)
		got, err := b.Get(ctx, "k")
		require.NoError(t, err, "another prefix's tag is another tag")
		require.Equal(t, "b", string(got))
	})
}

func TestManyAndCounters(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, _ := k.open(t, nil, nil, Options{})
		require.NoError(t, c.SetMany(ctx, map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}, time.Minute, Tags("t")))
		got, err := c.GetMany(ctx, "a", "b", "missing")
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, got)
		require.NoError(t, c.InvalidateTags(ctx, "t"))
		got, err = c.GetMany(ctx, "a", "b", "c")
		require.NoError(t, err)
		require.Empty(t, got)

		n, err := c.Incr(ctx, "n", 5)
		require.NoError(t, err)
		require.Equal(t, int64(5), n)
		n, err = c.Decr(ctx, "n", 2)
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
		v, err := c.Get(ctx, "n")
		require.NoError(t, err)
		require.Equal(t, "3", string(v))
		require.NoError(t, c.Set(ctx, "text", []byte("abc"), 0))
		_, err = c.Incr(ctx, "text", 1)
		require.Error(t, err)
	})
}

type product struct {
	ID      int64             `json:"id"`
	Name    string            `json:"name"`
	Price   float64           `json:"price"`
	Updated time.Time         `json:"updated"`
	Attrs   map[string]string `json:"attrs"`
	Tags    []string          `json:"tags"`
}

func TestTypedRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, _ := k.open(t, nil, nil, Options{})
		want := product{ID: math.MaxInt64 - 1, Name: "lamp", Price: 19.99,
			Updated: time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("CET", 3600)),
			Attrs:   map[string]string{"color": "red"}, Tags: []string{"a", "b"}}
		require.NoError(t, SetAs(ctx, c, "p", want, time.Minute))
		got, err := GetAs[product](ctx, c, "p")
		require.NoError(t, err)
		require.True(t, got.Updated.Equal(want.Updated))
		got.Updated = want.Updated
		require.Equal(t, want, got)
		// Another type reads through the codec.
		asMap, err := GetAs[map[string]any](ctx, c, "p")
		require.NoError(t, err)
		require.Equal(t, "9223372036854775806", asMap["id"].(interface{ String() string }).String(), "large int64 kept exactly")
		_, err = GetAs[product](ctx, c, "missing")
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestGetOrSetLoadsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, _ := k.open(t, nil, nil, Options{})
		var calls atomic.Int64
		release, loading := make(chan struct{}), make(chan struct{}, 1)
		load := func(ctx context.Context) (int, error) {
			calls.Add(1)
			loading <- struct{}{}
			<-release
			return 42, nil
		}
		var wg sync.WaitGroup
		results := make(chan int, 100)
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := GetOrSet(ctx, c, "answer", time.Minute, load)
				if err != nil {
					t.Error(err)
				}
				results <- v
			}()
		}
		<-loading
		close(release)
		wg.Wait()
		close(results)
		for v := range results {
			require.Equal(t, 42, v)
		}
		require.Equal(t, int64(1), calls.Load())
		_, err := GetOrSet(ctx, c, "bad", time.Minute, func(context.Context) (int, error) { return 0, errors.New("boom") })
		require.EqualError(t, err, "boom")
		_, err = GetAs[int](ctx, c, "bad")
		require.ErrorIs(t, err, ErrNotFound, "errors are not stored")
	})
}

// recordHandler collects slog records.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func TestFailOpenLogIsRateLimited(t *testing.T) {
	clock := testutil.NewClock()
	h := &recordHandler{}
	c, err := New(&Options{Logger: slog.New(h), Clock: clock.Now, LogInterval: time.Second})
	require.NoError(t, err)
	for range 100 {
		c.failOpen("get", errDown)
	}
	require.Len(t, h.records, 1)
	clock.Advance(2 * time.Second)
	c.failOpen("get", errDown)
	require.Len(t, h.records, 2)
	var suppressed int64
	h.records[1].Attrs(func(a slog.Attr) bool {
		if a.Key == "suppressed" {
			suppressed = a.Value.Int64()
		}
		return true
	})
	require.Equal(t, int64(99), suppressed)
	require.Equal(t, int64(101), c.Stats().Errors)
	for _, r := range h.records {
		require.False(t, strings.Contains(r.Message, "k/"), "no keys in logs")
	}
}
