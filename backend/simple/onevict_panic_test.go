package simple_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// evictRecorder is an OnEvict that records the keys it is told, and then
// does what end says (panic, runtime.Goexit) for each.
type evictRecorder struct {
	mu   sync.Mutex
	keys []string
	end  func(key string)
}

func (r *evictRecorder) onEvict(key string) {
	r.mu.Lock()
	r.keys = append(r.keys, key)
	r.mu.Unlock()
	r.end(key)
}

func (r *evictRecorder) told() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

// fullStore is a store of one shard holding the entries "a" to "d", and
// the size of the largest value a Set of key "big" may store: one that
// evicts them all.
func fullStore(t *testing.T, onEvict func(string)) (*simple.Store, int) {
	t.Helper()
	const maxBytes = 64 << 10
	s, err := simple.New(simple.Options{MaxBytes: maxBytes, Shards: 1, SweepInterval: -1, OnEvict: onEvict})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for _, k := range []string{"a", "b", "c", "d"} {
		require.NoError(t, s.Set(context.Background(), k, []byte("v"), 0))
	}
	return s, maxBytes - len("big") - simple.EntryOverhead
}

// TestOnEvictPanicTellsEveryEvictedKey: an OnEvict that panicked for the
// first key a write evicted reached the writer at once, and the other keys
// it evicted were never told (a user's index of the cached keys kept them
// for good). Now every evicted key is told, as the other Droppers are when
// one panics, and then the write panics with OnEvict's first panic; the
// write itself is made, and the store stays usable. An OnEvict that calls
// runtime.Goexit (t.FailNow in a test) has the other keys told too.
func TestOnEvictPanicTellsEveryEvictedKey(t *testing.T) {
	writes := []struct {
		name  string
		write func(s *simple.Store, size int)
	}{
		{"Set", func(s *simple.Store, size int) { _ = s.Set(context.Background(), "big", make([]byte, size), 0) }},
		{"StoreValue", func(s *simple.Store, size int) {
			_ = s.StoreValue("big", "v", size-simple.ValueOverhead+simple.EntryOverhead, 0)
		}},
		{"StoreValueDeferred", func(s *simple.Store, size int) {
			ev, err := s.StoreValueDeferred("big", "v", size-simple.ValueOverhead+simple.EntryOverhead, 0)
			if err == nil {
				ev.Notify()
			}
		}},
	}
	for _, w := range writes {
		t.Run(w.name+"/panic", func(t *testing.T) {
			r := &evictRecorder{end: func(key string) { panic("OnEvict: " + key) }}
			s, size := fullStore(t, r.onEvict)
			var first string
			require.Panics(t, func() {
				defer func() {
					v := recover()
					first, _ = v.(string)
					panic(v)
				}()
				w.write(s, size)
			})
			told := r.told()
			assert.ElementsMatch(t, []string{"a", "b", "c", "d"}, told, "the evicted keys OnEvict was told of")
			if assert.NotEmpty(t, told) {
				assert.Equal(t, "OnEvict: "+told[0], first, "the write's panic is OnEvict's first")
			}
			assert.True(t, has(t, s, "big"), "the write was not made")
		})
		t.Run(w.name+"/Goexit", func(t *testing.T) {
			r := &evictRecorder{end: func(string) { runtime.Goexit() }}
			s, size := fullStore(t, r.onEvict)
			done := make(chan struct{})
			go func() {
				defer close(done)
				w.write(s, size)
			}()
			<-done
			assert.ElementsMatch(t, []string{"a", "b", "c", "d"}, r.told(), "the evicted keys OnEvict was told of")
		})
	}
}

// has reports whether s holds key, a byte value or a Go value.
func has(t *testing.T, s *simple.Store, key string) bool {
	t.Helper()
	if _, ok := s.LoadValue(key); ok {
		return true
	}
	ok, err := s.Has(context.Background(), key)
	require.NoError(t, err)
	return ok
}

// TestDropperPanicStillTellsOnEvict: a write that evicted a Dropper that
// panicked raised its panic as it released the lock, before OnEvict was
// told of any key it evicted. Now OnEvict is told of them all first.
func TestDropperPanicStillTellsOnEvict(t *testing.T) {
	r := &evictRecorder{end: func(string) {}}
	s, size := fullStore(t, r.onEvict)
	require.NoError(t, s.StoreValue("e", &panicDropper{}, 8, 0))
	require.PanicsWithValue(t, "dropper panic", func() {
		_ = s.Set(context.Background(), "big", make([]byte, size), 0)
	})
	assert.ElementsMatch(t, []string{"a", "b", "c", "d", "e"}, r.told(), "the evicted keys OnEvict was told of")
}
