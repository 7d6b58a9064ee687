package near_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// openNear returns a Store in front of remote, closed when the test ends.
func openNear(t *testing.T, remote backend.Backend, opts near.Options) *near.Store {
	t.Helper()
	s, err := near.New(remote, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Run("remote=simple", func(t *testing.T) {
		clock := testutil.NewClock()
		limit := simple.Must(simple.Options{}).MaxValueSize()
		backendtest.RunWith(t, func(t *testing.T) backend.Backend {
			return near.Must(simple.Must(simple.Options{Clock: clock.Now}), near.Options{Clock: clock.Now})
		}, backendtest.Options{Advance: clock.Advance, TooLarge: int(limit)})
	})
	t.Run("remote=watched", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backend.Backend {
			return near.Must(newBus(t).view(), near.Options{})
		})
	})
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	remote := simple.Must(simple.Options{})
	defer remote.Close()
	for name, opts := range map[string]near.Options{
		"MaxEntries": {MaxEntries: -1},
		"MaxBytes":   {MaxBytes: -1},
		"MaxStale":   {MaxStale: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := near.New(remote, opts)
			require.ErrorIs(t, err, near.ErrInvalidOption)
			assert.Contains(t, err.Error(), name)
		})
	}
	_, err := near.New(nil, near.Options{})
	require.ErrorIs(t, err, near.ErrInvalidOption)
}

// keep stores v under key as the caching package does after a remote read
// that began with the token t.
func keep(s *near.Store, key string, v any, t backend.NearToken) {
	s.StoreNear(key, v, 8, 0, t)
}

func held(s *near.Store, key string) bool {
	_, ok := s.LoadNear(key, time.Time{})
	return ok
}

// TestValueReadBeforeAnInvalidationIsNeverKept is the race the tokens are
// for: a process reads V1; another writes V2 and the news arrives; then the
// first keeps what it read. It must keep nothing.
func TestValueReadBeforeAnInvalidationIsNeverKept(t *testing.T) {
	b := newBus(t)
	view := b.view()
	s := openNear(t, view, near.Options{})

	tok := s.NearToken()
	b.publish([]string{"k"}) // another process changed k during the read
	keep(s, "k", "V1", tok)
	assert.False(t, held(s, "k"), "a value read before a change was kept after the news of it")

	// A change of another key refuses the value only if that key shares
	// k's bucket (one chance in 1024, by the Store's random seed): one of
	// a few other keys does not.
	kept := false
	for i := 0; i < 8 && !kept; i++ {
		tok = s.NearToken()
		b.publish([]string{fmt.Sprintf("other%d", i)})
		keep(s, "k", "V1", tok)
		kept = held(s, "k")
	}
	assert.True(t, kept, "changes of 8 other keys each refused the value")

	tok = s.NearToken()
	b.publish(nil) // the database was flushed
	keep(s, "k2", "V1", tok)
	assert.False(t, held(s, "k2"))
	assert.False(t, held(s, "k"), "a flush left a value in memory")
	assert.GreaterOrEqual(t, s.NearStats().Refused, int64(2))
}

func TestLosingTheWatchEmptiesAndBypasses(t *testing.T) {
	b := newBus(t)
	view := b.view()
	s := openNear(t, view, near.Options{})
	require.NoError(t, s.WaitWatching(context.Background()))
	keep(s, "k", "V1", s.NearToken())
	require.True(t, held(s, "k"))

	tokBefore := s.NearToken()
	view.setWatching(false)
	assert.False(t, held(s, "k"), "memory was not emptied when the watch was lost")
	assert.False(t, s.NearStats().Watching)
	keep(s, "k", "V1", tokBefore)
	tokDuring := s.NearToken()
	keep(s, "k", "V1", tokDuring)
	assert.False(t, held(s, "k"), "a value was kept while nothing watched the remote store")

	view.setWatching(true)
	require.NoError(t, s.WaitWatching(context.Background()))
	keep(s, "k", "V1", tokDuring)
	assert.False(t, held(s, "k"), "a value read while the watch was lost was kept after it came back")
	keep(s, "k", "V2", s.NearToken())
	assert.True(t, held(s, "k"), "the near cache is not used again once the watch is back")
}

func TestWaitWatchingHonoursTheContext(t *testing.T) {
	b := newBus(t)
	view := b.view()
	s := openNear(t, view, near.Options{})
	view.setWatching(false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.WaitWatching(ctx), context.Canceled)
}

func TestMaxStaleBoundsTheAgeOfWhatIsServed(t *testing.T) {
	clock := testutil.NewClock()
	s := openNear(t, newBus(t).view(), near.Options{Clock: clock.Now, MaxStale: time.Second})

	tok := s.NearToken()
	clock.Advance(300 * time.Millisecond) // the remote read took this long
	keep(s, "k", "V1", tok)
	clock.Advance(700*time.Millisecond - time.Nanosecond)
	assert.True(t, held(s, "k"))
	clock.Advance(time.Nanosecond)
	assert.False(t, held(s, "k"), "served a value read more than MaxStale ago")

	tok = s.NearToken()
	clock.Advance(time.Second)
	keep(s, "k", "V1", tok)
	assert.False(t, held(s, "k"), "kept a value whose read began MaxStale ago")

	// The caller's own TTL is honoured when shorter.
	s.StoreNear("k", "V1", 8, 100*time.Millisecond, s.NearToken())
	clock.Advance(100 * time.Millisecond)
	assert.False(t, held(s, "k"))
}

func TestWithoutWatcherValuesLiveMaxStale(t *testing.T) {
	clock := testutil.NewClock()
	remote := simple.Must(simple.Options{})
	s := openNear(t, remote, near.Options{Clock: clock.Now, MaxStale: 2 * time.Second})
	require.NoError(t, s.WaitWatching(context.Background()), "a store without a watch is in use at once")
	keep(s, "k", "V1", s.NearToken())
	clock.Advance(2*time.Second - time.Nanosecond)
	assert.True(t, held(s, "k"))
	clock.Advance(time.Nanosecond)
	assert.False(t, held(s, "k"))
}

// TestOwnWritesDropTheirKeys: whatever the remote store reports, a process
// never serves a value it has itself overwritten.
func TestOwnWritesDropTheirKeys(t *testing.T) {
	ctx := context.Background()
	remote := simple.Must(simple.Options{}) // reports nothing
	s := openNear(t, remote, near.Options{})
	writes := map[string]func(key string) error{
		"Set": func(k string) error { return s.Set(ctx, k, []byte("1"), 0) },
		"Add": func(k string) error {
			_, err := s.Add(ctx, k, []byte("1"), 0)
			return err
		},
		"Delete": func(k string) error { return s.Delete(ctx, "x", k) },
		"DeleteCount": func(k string) error {
			_, err := s.DeleteCount(ctx, k)
			return err
		},
		"SetMany": func(k string) error { return s.SetMany(ctx, []backend.Item{{Key: k, Value: []byte("1")}}) },
		"Incr": func(k string) error {
			_, err := s.Incr(ctx, k, 1)
			return err
		},
		"Clear": func(string) error { return s.Clear(ctx) },
		// The caching package's drops for the writes it does not make.
		"DropNear": func(k string) error {
			s.DropNear("x", k)
			return nil
		},
		"EmptyNear": func(string) error {
			s.EmptyNear()
			return nil
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			key := "key-" + name
			tok := s.NearToken()
			keep(s, key, "old", tok)
			require.True(t, held(s, key))
			require.NoError(t, write(key))
			assert.False(t, held(s, key), "the writer still holds the old value")
			keep(s, key, "old", tok)
			assert.False(t, held(s, key), "a value read before the write was kept after it")
		})
	}
}

func TestCapabilitiesFallBackForARemoteWithout(t *testing.T) {
	ctx := context.Background()
	s := openNear(t, plain{simple.Must(simple.Options{})}, near.Options{})
	require.NoError(t, s.SetMany(ctx, []backend.Item{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("x")}}))
	vals, err := s.GetMany(ctx, []string{"a", "missing", "b"})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("1"), nil, []byte("x")}, vals)
	n, err := s.Incr(ctx, "a", 41)
	require.NoError(t, err)
	assert.Equal(t, int64(42), n)
	_, err = s.Incr(ctx, "b", 1)
	require.ErrorIs(t, err, backend.ErrNotInteger)
	ok, err := s.Has(ctx, "a")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.Has(ctx, "missing")
	require.NoError(t, err)
	assert.False(t, ok)
	deleted, err := s.DeleteCount(ctx, "a", "missing", "a")
	require.NoError(t, err)
	assert.Equal(t, 1, deleted)
	assert.Equal(t, backend.Stats{Entries: -1, Bytes: -1, Evictions: -1}, s.Stats())
}

// plain is a backend with no optional capability.
type plain struct{ b *simple.Store }

func (p plain) Get(ctx context.Context, k string) ([]byte, error) { return p.b.Get(ctx, k) }
func (p plain) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return p.b.Set(ctx, k, v, ttl)
}
func (p plain) Add(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	return p.b.Add(ctx, k, v, ttl)
}
func (p plain) Delete(ctx context.Context, k ...string) error { return p.b.Delete(ctx, k...) }
func (p plain) Clear(ctx context.Context) error               { return p.b.Clear(ctx) }
func (p plain) Close() error                                  { return p.b.Close() }

func TestCloseClosesTheRemoteAndTheWatch(t *testing.T) {
	b := newBus(t)
	view := b.view()
	remote := &closeCounter{Backend: view}
	s, err := near.New(remote, near.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	assert.Equal(t, 1, remote.closed)
	_, ok := s.LoadNear("k", time.Time{})
	assert.False(t, ok)
}

type closeCounter struct {
	backend.Backend
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestWatchErrorIsReturned(t *testing.T) {
	_, err := near.New(failingWatch{simple.Must(simple.Options{})}, near.Options{})
	require.ErrorIs(t, err, errNoWatch)
}

var errNoWatch = errors.New("no watch here")

type failingWatch struct{ *simple.Store }

func (failingWatch) WatchInvalidations(func([]string), func(bool)) (io.Closer, error) {
	return nil, errNoWatch
}

// TestIncrFallbackRefusesOverflow: on a remote store without counters,
// Incr past the int64 range gives ErrNotInteger, as the stores' own
// counters do, instead of wrapping around; the counter keeps its value.
func TestIncrFallbackRefusesOverflow(t *testing.T) {
	ctx := context.Background()
	s := openNear(t, plain{simple.Must(simple.Options{})}, near.Options{})
	_, err := s.Incr(ctx, "up", math.MaxInt64)
	require.NoError(t, err)
	_, err = s.Incr(ctx, "up", 1)
	require.ErrorIs(t, err, backend.ErrNotInteger)
	_, err = s.Incr(ctx, "down", math.MinInt64)
	require.NoError(t, err)
	_, err = s.Incr(ctx, "down", -1)
	require.ErrorIs(t, err, backend.ErrNotInteger)
	n, err := s.Incr(ctx, "up", -1)
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64-1), n, "the counter kept its value")
}
