package caching_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/flight"
	"github.com/go-caching/caching/internal/testutil"
)

// remoteStore is a stand-in for a remote backend (Redis, memcached) in the
// memoize tests: bytes only (no backend.ValueStore, so every value goes
// through the codec), GetMany in one call, per-key TTLs it reports, counted
// round trips, and a switch that makes it fail like a server that is down.
// It is shared by several Caches the way several processes share one Redis.
type remoteStore struct {
	mu    sync.Mutex
	data  map[string]remoteItem
	calls atomic.Int64 // round trips
	down  atomic.Bool
}

type remoteItem struct {
	v   []byte
	exp time.Time // zero: no expiry
	ttl time.Duration
}

var errDown = errors.New("remote: connection refused")

func newRemoteStore() *remoteStore { return &remoteStore{data: map[string]remoteItem{}} }

func (s *remoteStore) trip() error {
	s.calls.Add(1)
	if s.down.Load() {
		return errDown
	}
	return nil
}

func (s *remoteStore) getLocked(key string) ([]byte, bool) {
	it, ok := s.data[key]
	if !ok || !it.exp.IsZero() && !time.Now().Before(it.exp) {
		return nil, false
	}
	return bytes.Clone(it.v), true
}

func (s *remoteStore) Get(_ context.Context, key string) ([]byte, error) {
	if err := s.trip(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.getLocked(key); ok {
		return v, nil
	}
	return nil, backend.ErrNotFound
}

func (s *remoteStore) GetMany(_ context.Context, keys []string) ([][]byte, error) {
	if err := s.trip(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i], _ = s.getLocked(k)
	}
	return out, nil
}

func (s *remoteStore) setLocked(key string, v []byte, ttl time.Duration) {
	it := remoteItem{v: bytes.Clone(v), ttl: ttl}
	if ttl > 0 {
		it.exp = time.Now().Add(ttl)
	}
	s.data[key] = it
}

func (s *remoteStore) Set(_ context.Context, key string, v []byte, ttl time.Duration) error {
	if err := backend.CheckTTL(ttl); err != nil {
		return err
	}
	if err := s.trip(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(key, v, ttl)
	return nil
}

func (s *remoteStore) Add(_ context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if err := s.trip(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.getLocked(key); ok {
		return false, nil
	}
	s.setLocked(key, v, ttl)
	return true, nil
}

func (s *remoteStore) Delete(_ context.Context, keys ...string) error {
	if err := s.trip(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.data, k)
	}
	return nil
}

func (s *remoteStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.data)
	return nil
}

func (s *remoteStore) Close() error { return nil }

// ttlOf returns the TTL a key was written with, and whether it exists.
func (s *remoteStore) ttlOf(key string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.data[key]
	return it.ttl, ok
}

func (s *remoteStore) keys(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// sharedSimple is one in-process store used by two Caches, as two parts of
// one program may share it.
type sharedSimple struct {
	*simple.Store
}

func (sharedSimple) Close() error { return nil }

// stores are the two kinds of backend every memoize behaviour is tested on:
// in-process (values kept as Go values) and remote (bytes and GetMany).
var stores = []struct {
	name string
	new  func(t *testing.T) backend.Backend
}{
	{"simple", func(t *testing.T) backend.Backend {
		s := simple.Must(simple.Options{SweepInterval: -1})
		t.Cleanup(func() { _ = s.Close() })
		return sharedSimple{s}
	}},
	{"remote", func(t *testing.T) backend.Backend { return newRemoteStore() }},
}

// inEachStore runs f with a new Cache on each kind of store.
func inEachStore(t *testing.T, f func(t *testing.T, c *caching.Cache)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { f(t, newCache(t, st.new(t))) })
	}
}

// inEachStoreSynctest is inEachStore in a synctest bubble: the clock is fake
// and synctest.Wait orders the goroutines.
func inEachStoreSynctest(t *testing.T, f func(t *testing.T, c *caching.Cache)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { f(t, newCache(t, st.new(t))) })
		})
	}
}

func newCache(t *testing.T, b backend.Backend, opts ...func(*caching.Options)) *caching.Cache {
	t.Helper()
	o := &caching.Options{Backend: b, KeyPrefix: "app:"}
	for _, f := range opts {
		f(o)
	}
	c, err := caching.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type counter struct{ n atomic.Int64 }

func (c *counter) load() int64 { return c.n.Load() }

// square is a memoized function's body that counts its calls.
func square(calls *counter) func(context.Context, int) (int, error) {
	return func(_ context.Context, x int) (int, error) {
		calls.n.Add(1)
		return x * x, nil
	}
}

func TestMemoizeStoresResults(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			c := newCache(t, st.new(t))
			var calls counter
			sq := caching.Memoize(c, "square", square(&calls), caching.TTL(time.Hour))
			for range 3 {
				v, err := sq.Get(ctx, 4)
				require.NoError(t, err)
				assert.Equal(t, 16, v)
			}
			assert.Equal(t, int64(1), calls.load())
			v, err := sq.Get(ctx, 5)
			require.NoError(t, err)
			assert.Equal(t, 25, v)
			assert.Equal(t, int64(2), calls.load())
			v, err = sq.Uncached(ctx, 4)
			require.NoError(t, err)
			assert.Equal(t, 16, v)
			assert.Equal(t, int64(3), calls.load(), "Uncached calls the function")
			s := c.Stats()
			assert.Equal(t, int64(2), s.Hits)
			assert.Equal(t, int64(2), s.Misses)
		})
	}
}

func TestMemoizeErrorsAreNotStored(t *testing.T) {
	inEachStore(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		boom := errors.New("boom")
		f := caching.Memoize(c, "flaky", func(_ context.Context, x int) (int, error) {
			if calls.n.Add(1) == 1 {
				return 0, boom
			}
			return x, nil
		})
		_, err := f.Get(t.Context(), 1)
		require.ErrorIs(t, err, boom)
		v, err := f.Get(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int64(2), calls.load())
	})
}

// TestMemoizeForgetAllAcrossProcesses: two Caches sharing one store stand for
// two processes; ForgetAll in one is seen by the other at once.
func TestMemoizeForgetAllAcrossProcesses(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			shared := st.new(t)
			var calls1, calls2 counter
			p1 := caching.Memoize(newCache(t, shared), "square", square(&calls1))
			p2 := caching.Memoize(newCache(t, shared), "square", square(&calls2))

			_, err := p1.Get(ctx, 3)
			require.NoError(t, err)
			_, err = p2.Get(ctx, 3)
			require.NoError(t, err)
			assert.Equal(t, int64(1), calls1.load()+calls2.load(), "the second process reuses the first one's entry")

			require.NoError(t, p2.ForgetAll(ctx))
			_, err = p1.Get(ctx, 3)
			require.NoError(t, err)
			assert.Equal(t, int64(2), calls1.load(), "process 1 still served an entry after ForgetAll in process 2")

			// Forget of one argument is shared too.
			_, err = p1.Get(ctx, 4)
			require.NoError(t, err)
			require.NoError(t, p2.Forget(ctx, 4))
			_, err = p1.Get(ctx, 4)
			require.NoError(t, err)
			assert.Equal(t, int64(4), calls1.load())
			_, err = p1.Get(ctx, 3) // untouched by Forget(4)
			require.NoError(t, err)
			assert.Equal(t, int64(4), calls1.load())
		})
	}
}

// TestMemoizeGenerationInSameRoundTrip: on a remote store a hit is one
// round trip that reads the entry, its tags and the function's generation.
func TestMemoizeGenerationInSameRoundTrip(t *testing.T) {
	store := newRemoteStore()
	c := newCache(t, store)
	var calls counter
	sq := caching.Memoize(c, "square", square(&calls), caching.Tags("numbers"), caching.TTL(time.Minute))
	_, err := sq.Get(t.Context(), 2)
	require.NoError(t, err)
	before := store.calls.Load()
	_, err = sq.Get(t.Context(), 2)
	require.NoError(t, err)
	assert.Equal(t, int64(1), store.calls.Load()-before, "round trips for a hit")

	// The generation and tag keys never expire; the entry does.
	key, err := sq.Key(2)
	require.NoError(t, err)
	ttl, ok := store.ttlOf(key)
	require.True(t, ok)
	assert.InDelta(t, time.Minute, ttl, float64(time.Second))
	gen := store.keys("app:g/")
	require.Len(t, gen, 1)
	ttl, _ = store.ttlOf(gen[0])
	assert.Zero(t, ttl, "the generation key expires")
	require.NoError(t, sq.ForgetAll(t.Context()))
	ttl, _ = store.ttlOf(gen[0])
	assert.Zero(t, ttl, "the generation key expires after ForgetAll")
	tags := store.keys("app:t/")
	require.Len(t, tags, 1)
	ttl, _ = store.ttlOf(tags[0])
	assert.Zero(t, ttl, "the tag key expires")
}

func TestMemoizeTags(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			c := newCache(t, st.new(t))
			var calls counter
			sq := caching.Memoize(c, "square", square(&calls), caching.Tags("numbers"))
			_, _ = sq.Get(ctx, 2)
			_, _ = sq.Get(ctx, 2)
			require.Equal(t, int64(1), calls.load())
			require.NoError(t, c.InvalidateTags(ctx, "numbers"))
			_, _ = sq.Get(ctx, 2)
			assert.Equal(t, int64(2), calls.load())
		})
	}
}

type statsArgs struct {
	UserID  int64
	Period  string
	Filters map[string]string
}

type ptrArg struct{ A *int }

func TestMemoizeKeys(t *testing.T) {
	c := newCache(t, nil)
	f := caching.Memoize(c, "stats", func(context.Context, statsArgs) (int, error) { return 0, nil })

	a := statsArgs{UserID: 42, Period: "monthly", Filters: map[string]string{}}
	b := statsArgs{UserID: 42, Period: "monthly", Filters: map[string]string{}}
	for i := range 50 {
		k := fmt.Sprint("k", i)
		a.Filters[k] = k
	}
	for i := 49; i >= 0; i-- {
		k := fmt.Sprint("k", i)
		b.Filters[k] = k
	}
	ka, err := f.Key(a)
	require.NoError(t, err)
	kb, err := f.Key(b)
	require.NoError(t, err)
	assert.Equal(t, ka, kb, "maps built in different orders")
	for range 20 { // map iteration order varies from call to call
		k, err := f.Key(a)
		require.NoError(t, err)
		require.Equal(t, ka, k)
	}
	assert.True(t, strings.HasPrefix(ka, "app:m/stats/"), ka)

	// The key format is stable across releases: a short argument's key
	// (baiMNLoSTEE is the hash of the result type's shape, int's).
	small, err := f.Key(statsArgs{UserID: 1, Period: "d"})
	require.NoError(t, err)
	assert.Equal(t, "app:m/stats//baiMNLoSTEE/AgsDBlVzZXJJRAMCBlBlcmlvZAcBZAdGaWx0ZXJzCgA", small)

	// Version separates keys.
	fv := caching.Memoize(c, "stats", func(context.Context, statsArgs) (int, error) { return 0, nil }, caching.Version("2"))
	kv, err := fv.Key(statsArgs{UserID: 1, Period: "d"})
	require.NoError(t, err)
	assert.NotEqual(t, small, kv)

	// A falsy field does not collide with an absent one.
	p := caching.Memoize(c, "ptr", func(context.Context, ptrArg) (int, error) { return 0, nil })
	zero := 0
	k1, err := p.Key(ptrArg{})
	require.NoError(t, err)
	k2, err := p.Key(ptrArg{A: &zero})
	require.NoError(t, err)
	assert.NotEqual(t, k1, k2)

	// KeyFunc replaces the encoding.
	kf := caching.Memoize(c, "byid", func(context.Context, statsArgs) (int, error) { return 0, nil },
		caching.KeyFunc(func(a statsArgs) string { return fmt.Sprint(a.UserID) }))
	k3, err := kf.Key(statsArgs{UserID: 7, Period: "x"})
	require.NoError(t, err)
	k4, err := kf.Key(statsArgs{UserID: 7, Period: "y"})
	require.NoError(t, err)
	assert.Equal(t, k3, k4)

	// A long argument is hashed.
	long, err := f.Key(statsArgs{Period: strings.Repeat("x", 1000)})
	require.NoError(t, err)
	assert.Less(t, len(long), 200)
	assert.Contains(t, long, "#")

	// The format of long keys is stable too: one with the argument encoded
	// past the key buffer of a hit, one within it, one of a KeyFunc.
	assert.Equal(t, "app:m/stats//baiMNLoSTEE/AgsDBlVzZXJJRAMABlBlcmlvZAfoB3h4eHh4eHh4eHh4e#2QDqiRTksEOM7UKWg-o3bZ2jl__vY1si7h--5fFFt08", long)
	mid, err := f.Key(statsArgs{Period: strings.Repeat("y", 140)})
	require.NoError(t, err)
	assert.Equal(t, "app:m/stats//baiMNLoSTEE/AgsDBlVzZXJJRAMABlBlcmlvZAeMAXl5eXl5eXl5eXl5e#NLTNleDKPQ02Vf1tYXRzXqM7aNHGnHU7FqP2_ChhgK0", mid)
	kz := caching.Memoize(c, "byid", func(context.Context, statsArgs) (int, error) { return 0, nil },
		caching.KeyFunc(func(a statsArgs) string { return a.Period }))
	k5, err := kz.Key(statsArgs{Period: strings.Repeat("z", 300)})
	require.NoError(t, err)
	assert.Equal(t, "app:m/byid//baiMNLoSTEE/AHp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6en#vOa5dymo2te0bhF3Vv5APHQzcQVVpr2uQJ5ZKmLiEVQ", k5)
}

func TestMemoizeFalsyFieldGetsItsOwnEntry(t *testing.T) {
	c := newCache(t, nil)
	p := caching.Memoize(c, "ptr", func(_ context.Context, a ptrArg) (string, error) {
		if a.A == nil {
			return "absent", nil
		}
		return fmt.Sprint(*a.A), nil
	})
	zero := 0
	v, err := p.Get(t.Context(), ptrArg{})
	require.NoError(t, err)
	assert.Equal(t, "absent", v)
	v, err = p.Get(t.Context(), ptrArg{A: &zero})
	require.NoError(t, err)
	assert.Equal(t, "0", v)
}

// slowIncrement memoizes x+1, counting its calls, each of which waits for
// release to be closed.
func slowIncrement(c *caching.Cache, calls *counter, release <-chan struct{}) *caching.Memoized[int, int] {
	return caching.Memoize(c, "slow", func(_ context.Context, x int) (int, error) {
		calls.n.Add(1)
		<-release
		return x + 1, nil
	})
}

func TestMemoizeConcurrentCallsRunOnce(t *testing.T) {
	inEachStoreSynctest(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		release := make(chan struct{})
		f := slowIncrement(c, &calls, release)
		const n = 1000
		var wg sync.WaitGroup
		var ok atomic.Int64
		for range n {
			wg.Go(func() {
				v, err := f.Get(t.Context(), 1)
				if err == nil && v == 2 {
					ok.Add(1)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, int64(1), calls.load())
		assert.Equal(t, int64(n), ok.Load())
	})
}

func TestMemoizeCancelledWaiterReturnsPromptly(t *testing.T) {
	inEachStoreSynctest(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		release := make(chan struct{})
		f := slowIncrement(c, &calls, release)
		// The first caller gives up; so does a waiter; a third waits.
		ctx1, cancel1 := context.WithCancel(t.Context())
		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		errs := make(chan error, 2)
		go func() { _, err := f.Get(ctx1, 1); errs <- err }()
		synctest.Wait()
		go func() { _, err := f.Get(ctx2, 1); errs <- err }()
		stayer := make(chan int, 1)
		go func() { v, _ := f.Get(t.Context(), 1); stayer <- v }()
		synctest.Wait()

		cancel1()
		time.Sleep(time.Second) // the fake clock: ctx2's deadline passes
		synctest.Wait()
		require.Len(t, errs, 2, "callers whose context is done are still blocked")
		assert.ErrorIs(t, <-errs, context.Canceled)
		assert.ErrorIs(t, <-errs, context.DeadlineExceeded)

		close(release)
		assert.Equal(t, 2, <-stayer)
		// The result was stored for everyone, although its first caller left.
		v, err := f.Get(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, int64(1), calls.load())
	})
}

func TestMemoizePanicReachesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, nil)
		release := make(chan struct{})
		f := caching.Memoize(c, "panics", func(context.Context, int) (int, error) {
			<-release
			panic("kaboom")
		})
		const n = 5
		var wg sync.WaitGroup
		var got atomic.Int64
		for range n {
			wg.Go(func() {
				defer func() {
					if pe, ok := recover().(*caching.PanicError); ok && pe.Value == "kaboom" {
						got.Add(1)
					}
				}()
				_, _ = f.Get(t.Context(), 1)
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, int64(n), got.Load())
	})
}

// TestMemoizeStaleWhileRevalidate: once an entry is stale, callers get the
// stale value at once while exactly one background call refreshes it; after
// the refresh they get the new value.
func TestMemoizeStaleWhileRevalidate(t *testing.T) {
	inEachStoreSynctest(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		release := make(chan struct{}, 10)
		f := caching.Memoize(c, "swr", func(_ context.Context, x int) (int, error) {
			n := calls.n.Add(1)
			if n > 1 {
				<-release
			}
			return int(n), nil
		}, caching.TTL(time.Minute), caching.StaleWhileRevalidate(time.Hour))
		v, err := f.Get(t.Context(), 1)
		require.NoError(t, err)
		require.Equal(t, 1, v)

		time.Sleep(2 * time.Minute) // stale, within the window
		for range 10 {
			v, err := f.Get(t.Context(), 1)
			require.NoError(t, err)
			assert.Equal(t, 1, v, "stale value served at once")
		}
		synctest.Wait()
		assert.Equal(t, int64(2), calls.load(), "exactly one refresh for ten stale hits")
		assert.Equal(t, int64(10), c.Stats().StaleHits)
		release <- struct{}{}
		synctest.Wait()
		v, err = f.Get(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, 2, v, "refreshed value")
		assert.Equal(t, int64(2), calls.load())

		// Past the stale window the entry is a plain miss.
		time.Sleep(2 * time.Hour)
		release <- struct{}{}
		v, err = f.Get(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
	})
}

func TestMemoizeStaleIfError(t *testing.T) {
	inEachStoreSynctest(t, func(t *testing.T, c *caching.Cache) {
		var fail atomic.Bool
		f := caching.Memoize(c, "sie", func(_ context.Context, x int) (int, error) {
			if fail.Load() {
				return 0, errors.New("database down")
			}
			return x * 10, nil
		}, caching.TTL(time.Minute), caching.StaleIfError(time.Hour))
		_, err := f.Get(t.Context(), 1)
		require.NoError(t, err)
		fail.Store(true)
		time.Sleep(2 * time.Minute)
		v, err := f.Get(t.Context(), 1)
		require.NoError(t, err, "stale value served when the function fails")
		assert.Equal(t, 10, v)
		time.Sleep(2 * time.Hour)
		_, err = f.Get(t.Context(), 1)
		require.Error(t, err, "past the window the error is returned")
	})
}

func TestMemoizeTTL(t *testing.T) {
	inEachStoreSynctest(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		f := caching.Memoize(c, "ttl", square(&calls), caching.TTL(time.Minute))
		_, _ = f.Get(t.Context(), 2)
		time.Sleep(59 * time.Second)
		_, _ = f.Get(t.Context(), 2)
		assert.Equal(t, int64(1), calls.load())
		time.Sleep(2 * time.Second)
		_, _ = f.Get(t.Context(), 2)
		assert.Equal(t, int64(2), calls.load())
	})
}

type token struct {
	Value   string
	Expires time.Time
}

func TestMemoizeResultTTL(t *testing.T) {
	inEachStoreSynctest(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		f := caching.Memoize(c, "token", func(_ context.Context, user string) (token, error) {
			n := calls.n.Add(1)
			life := 10 * time.Second
			if user == "expired" {
				life = -time.Second
			}
			return token{Value: fmt.Sprint(user, n), Expires: time.Now().Add(life)}, nil
		}, caching.TTL(time.Hour), caching.ResultTTL(func(tok token) time.Duration {
			return time.Until(tok.Expires)
		}))
		a, _ := f.Get(t.Context(), "ann")
		time.Sleep(9 * time.Second)
		b, _ := f.Get(t.Context(), "ann")
		assert.Equal(t, a.Value, b.Value)
		time.Sleep(2 * time.Second)
		b, _ = f.Get(t.Context(), "ann")
		assert.NotEqual(t, a.Value, b.Value, "the token's own expiry, not the hour")

		_, _ = f.Get(t.Context(), "expired")
		_, _ = f.Get(t.Context(), "expired")
		assert.Equal(t, int64(4), calls.load(), "a negative TTL stores nothing")
	})
}

func TestMemoizeFilters(t *testing.T) {
	type user struct{ Name string }
	tests := []struct {
		name      string
		opt       caching.MemoOption
		arg       string
		wantCalls int64
	}{
		{"StoreIf keeps", caching.StoreIf(func(u *user) bool { return u != nil }), "ann", 1},
		{"StoreIf drops", caching.StoreIf(func(u *user) bool { return u != nil }), "", 2},
		{"SkipZero drops nil", caching.SkipZero(), "", 2},
		{"SkipZero keeps", caching.SkipZero(), "ann", 1},
		{"zero stored by default", caching.TTL(0), "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, nil)
			var calls counter
			f := caching.Memoize(c, "user", func(_ context.Context, name string) (*user, error) {
				calls.n.Add(1)
				if name == "" {
					return nil, nil
				}
				return &user{name}, nil
			}, tt.opt)
			_, _ = f.Get(t.Context(), tt.arg)
			_, _ = f.Get(t.Context(), tt.arg)
			assert.Equal(t, tt.wantCalls, calls.load())
		})
	}
}

type ctxKey struct{}

func TestMemoizeBypassAndRefresh(t *testing.T) {
	c := newCache(t, nil)
	var calls counter
	flag := func(name string) func(context.Context, int) bool {
		return func(ctx context.Context, _ int) bool { return ctx.Value(ctxKey{}) == name }
	}
	f := caching.Memoize(c, "sq", square(&calls), caching.BypassIf(flag("bypass")), caching.RefreshIf(flag("refresh")))
	ctx := t.Context()
	bypass := context.WithValue(ctx, ctxKey{}, "bypass")
	refresh := context.WithValue(ctx, ctxKey{}, "refresh")

	_, _ = f.Get(bypass, 2)
	_, _ = f.Get(bypass, 2)
	assert.Equal(t, int64(2), calls.load(), "bypassed calls are not served from the cache")
	_, _ = f.Get(ctx, 2)
	assert.Equal(t, int64(3), calls.load(), "bypassed calls do not store")
	_, _ = f.Get(ctx, 2)
	assert.Equal(t, int64(3), calls.load())
	_, _ = f.Get(refresh, 2)
	assert.Equal(t, int64(4), calls.load(), "forced update calls the function")
	_, _ = f.Get(ctx, 2)
	assert.Equal(t, int64(4), calls.load(), "and stores its result")
}

func TestMemoizeRefreshReplacesValue(t *testing.T) {
	c := newCache(t, nil)
	var n atomic.Int64
	f := caching.Memoize(c, "n", func(context.Context, int) (int64, error) { return n.Add(1), nil },
		caching.RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(ctxKey{}) != nil }))
	v, _ := f.Get(t.Context(), 0)
	assert.Equal(t, int64(1), v)
	v, _ = f.Get(context.WithValue(t.Context(), ctxKey{}, true), 0)
	assert.Equal(t, int64(2), v)
	v, _ = f.Get(t.Context(), 0)
	assert.Equal(t, int64(2), v)
}

// TestMemoizeBackendDown: Get returns the function's result when the backend
// fails, and the failure is logged and counted.
func TestMemoizeBackendDown(t *testing.T) {
	store := newRemoteStore()
	var logs bytes.Buffer
	c := newCache(t, store, func(o *caching.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Breaker.Threshold = -1 // failing open itself; the breaker has its own tests
	})
	var calls counter
	f := caching.Memoize(c, "sq", square(&calls), caching.Tags("t"))
	store.down.Store(true)
	for range 3 {
		v, err := f.Get(t.Context(), 3)
		require.NoError(t, err)
		assert.Equal(t, 9, v)
	}
	assert.Equal(t, int64(3), calls.load())
	assert.GreaterOrEqual(t, c.Stats().Errors, int64(3))
	assert.Equal(t, 1, strings.Count(logs.String(), "backend error"), "logged once per interval: %s", logs.String())
	assert.NotContains(t, logs.String(), "sq/", "keys are not logged")

	store.down.Store(false)
	_, _ = f.Get(t.Context(), 3)
	_, _ = f.Get(t.Context(), 3)
	assert.Equal(t, int64(4), calls.load(), "cached again once the backend is back")

	store.down.Store(true)
	require.Error(t, f.ForgetAll(t.Context()), "explicit invalidation reports the failure")
	require.Error(t, f.Forget(t.Context(), 3))
}

// TestMemoizeForgetDuringComputation: a result computed while Forget or
// ForgetAll ran must not be served afterwards.
func TestMemoizeForgetDuringComputation(t *testing.T) {
	for _, st := range stores {
		for _, forget := range []string{"Forget", "ForgetAll"} {
			t.Run(st.name+"/"+forget, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := newCache(t, st.new(t))
					var data atomic.Int64
					data.Store(1)
					started := make(chan struct{}, 1)
					release := make(chan struct{})
					f := caching.Memoize(c, "read", func(context.Context, int) (int64, error) {
						v := data.Load()
						select {
						case started <- struct{}{}:
							<-release
						default:
						}
						return v, nil
					})
					go func() { _, _ = f.Get(t.Context(), 0) }()
					<-started
					data.Store(2) // the data changes, and the cache is told
					if forget == "Forget" {
						require.NoError(t, f.Forget(t.Context(), 0))
					} else {
						require.NoError(t, f.ForgetAll(t.Context()))
					}
					close(release)
					synctest.Wait()
					v, err := f.Get(t.Context(), 0)
					require.NoError(t, err)
					assert.Equal(t, int64(2), v, "a result computed before %s was served", forget)
				})
			})
		}
	}
}

func TestMemoizeSharesValueInProcess(t *testing.T) {
	c := newCache(t, nil)
	type report struct{ Rows []int }
	f := caching.Memoize(c, "report", func(context.Context, int) (*report, error) { return &report{Rows: []int{1}}, nil })
	a, err := f.Get(t.Context(), 1)
	require.NoError(t, err)
	b, err := f.Get(t.Context(), 1)
	require.NoError(t, err)
	assert.Same(t, a, b, "an in-process hit returns the stored value itself")

	// On a remote store each hit decodes a copy.
	r := caching.Memoize(newCache(t, newRemoteStore()), "report", func(context.Context, int) (*report, error) {
		return &report{Rows: []int{1}}, nil
	})
	a, err = r.Get(t.Context(), 1)
	require.NoError(t, err)
	b, err = r.Get(t.Context(), 1)
	require.NoError(t, err)
	assert.NotSame(t, a, b)
	assert.Equal(t, a, b)
}

func TestMemoizeValue(t *testing.T) {
	inEachStore(t, func(t *testing.T, c *caching.Cache) {
		var calls counter
		cfg := caching.MemoizeValue(c, "config", func(context.Context) (map[string]string, error) {
			calls.n.Add(1)
			return map[string]string{"mode": "fast"}, nil
		})
		for range 2 {
			v, err := cfg.Get(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "fast", v["mode"])
		}
		assert.Equal(t, int64(1), calls.load())
		require.NoError(t, cfg.Forget(t.Context()))
		_, _ = cfg.Get(t.Context())
		assert.Equal(t, int64(2), calls.load())
		assert.Equal(t, "app:m/config//IZ3UbZwqSh0/AgsA", cfg.Key())
	})
}

type hiddenArg struct{ id int }

func TestMemoizeInvalidConfigurationPanics(t *testing.T) {
	c := newCache(t, nil)
	fn := func(context.Context, int) (int, error) { return 0, nil }
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"nil cache", func() { caching.Memoize(nil, "f", fn) }, "nil *Cache"},
		{"nil fn", func() { caching.Memoize[int, int](c, "f", nil) }, "nil function"},
		{"empty name", func() { caching.Memoize(c, "", fn) }, "empty name"},
		{"slash", func() { caching.Memoize(c, "a/b", fn) }, `must not contain "/"`},
		{"negative ttl", func() { caching.Memoize(c, "f", fn, caching.TTL(-time.Second)) }, "TTL"},
		{"negative swr", func() { caching.Memoize(c, "f", fn, caching.StaleWhileRevalidate(-1)) }, "negative"},
		{"StoreIf type", func() { caching.Memoize(c, "f", fn, caching.StoreIf(func(string) bool { return true })) }, "StoreIf takes a func(int) bool"},
		{"KeyFunc type", func() { caching.Memoize(c, "f", fn, caching.KeyFunc(func(string) string { return "" })) }, "KeyFunc"},
		{"ResultTTL type", func() { caching.Memoize(c, "f", fn, caching.ResultTTL(func(string) time.Duration { return 0 })) }, "ResultTTL"},
		{"unexported argument", func() {
			caching.Memoize(c, "f", func(context.Context, hiddenArg) (int, error) { return 0, nil })
		}, "unexported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r, "no panic")
				err, ok := r.(error)
				require.True(t, ok, "panicked with %T", r)
				assert.Contains(t, err.Error(), tt.want)
				assert.True(t, strings.HasPrefix(err.Error(), "caching: "), err.Error())
			}()
			tt.f()
		})
	}
	// With a KeyFunc, any argument type goes.
	assert.NotPanics(t, func() {
		caching.Memoize(c, "f", func(context.Context, hiddenArg) (int, error) { return 0, nil },
			caching.KeyFunc(func(h hiddenArg) string { return fmt.Sprint(h.id) }))
	})
}

func TestMemoizeArgumentErrorIsReturned(t *testing.T) {
	c := newCache(t, nil)
	var calls counter
	f := caching.Memoize(c, "any", func(context.Context, []any) (int, error) { calls.n.Add(1); return 0, nil })
	_, err := f.Get(t.Context(), []any{func() {}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "caching: memoize any: key")
	assert.Zero(t, calls.load())
}

// TestMemoizeTwoProcessesOnRedis: two Caches on one Redis (miniredis always,
// the real server when it answers) share entries and see each other's
// Forget, ForgetAll and tag invalidation at once.
func TestMemoizeTwoProcessesOnRedis(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) { memoizeTwoProcesses(t, miniredis.RunT(t).Addr()) })
	t.Run("real", func(t *testing.T) { memoizeTwoProcesses(t, testutil.RedisAddr(t)) })
}

func memoizeTwoProcesses(t *testing.T, addr string) {
	ctx := t.Context()
	prefix := fmt.Sprintf("caching-test:%s:%d:", t.Name(), time.Now().UnixNano())
	open := func() *caching.Cache {
		b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0", Prefix: prefix})
		require.NoError(t, err)
		return newCache(t, b)
	}
	c1, c2 := open(), open()
	t.Cleanup(func() { _ = c1.Clear(context.Background()) })
	var calls1, calls2 counter
	opts := []caching.MemoOption{caching.TTL(time.Minute), caching.Tags("stats")}
	p1 := caching.Memoize(c1, "stats", func(_ context.Context, a statsArgs) (map[string]int64, error) {
		calls1.n.Add(1)
		return map[string]int64{"user": a.UserID, "big": 1 << 62}, nil
	}, opts...)
	p2 := caching.Memoize(c2, "stats", func(_ context.Context, a statsArgs) (map[string]int64, error) {
		calls2.n.Add(1)
		return map[string]int64{"user": a.UserID, "big": 1 << 62}, nil
	}, opts...)
	args := statsArgs{UserID: 42, Period: "monthly", Filters: map[string]string{"region": "eu", "plan": "pro"}}

	v, err := p1.Get(ctx, args)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<62), v["big"])
	v, err = p2.Get(ctx, args)
	require.NoError(t, err)
	assert.Equal(t, int64(42), v["user"])
	assert.Equal(t, int64(1<<62), v["big"], "decoded exactly")
	assert.Equal(t, int64(0), calls2.load(), "process 2 reuses process 1's entry")

	require.NoError(t, p2.ForgetAll(ctx))
	_, err = p1.Get(ctx, args)
	require.NoError(t, err)
	assert.Equal(t, int64(2), calls1.load(), "ForgetAll in process 2 is seen by process 1")

	require.NoError(t, p1.Forget(ctx, args))
	_, err = p2.Get(ctx, args)
	require.NoError(t, err)
	assert.Equal(t, int64(1), calls2.load(), "Forget in process 1 is seen by process 2")

	require.NoError(t, c1.InvalidateTags(ctx, "stats"))
	_, err = p2.Get(ctx, args)
	require.NoError(t, err)
	assert.Equal(t, int64(2), calls2.load(), "tag invalidation is seen")
	_, err = p1.Get(ctx, args)
	require.NoError(t, err)
	assert.Equal(t, int64(2), calls1.load(), "and the new entry is shared again")
}

// TestMemoizeAbandonedCallsAreBounded: calls whose callers all left ran on
// to the end, each in a goroutine of its own, however many a client
// started: 2,000 arguments asked for and dropped at once left 2,000
// goroutines running fn (500 in this test). At most flight.MaxDetached run on now; fn's
// context is cancelled for the others.
func TestMemoizeAbandonedCallsAreBounded(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	release := make(chan struct{})
	defer close(release)
	var running atomic.Int64
	m := caching.Memoize(c, "q", func(ctx context.Context, i int) (int, error) {
		running.Add(1)
		defer running.Add(-1)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-release:
			return i, nil
		}
	})
	for i := range 500 {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _ = m.Get(ctx, i) // an already cancelled Get starts nothing
		ctx, cancel = context.WithTimeout(t.Context(), time.Millisecond)
		_, _ = m.Get(ctx, i)
		cancel()
	}
	assert.Eventually(t, func() bool { return running.Load() <= flight.MaxDetached },
		5*time.Second, 10*time.Millisecond, "%d calls of fn run on for callers that left", running.Load())
}
