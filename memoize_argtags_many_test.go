package caching

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
)

// keysRead counts the keys a remote store is asked for.
type keysRead struct {
	*remote
	keys atomic.Int64
}

func (s *keysRead) Get(ctx context.Context, key string) ([]byte, error) {
	s.keys.Add(1)
	return s.remote.Get(ctx, key)
}

func (s *keysRead) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	s.keys.Add(int64(len(keys)))
	return s.remote.GetMany(ctx, keys)
}

var _ backend.Backend = (*keysRead)(nil)

// TestMemoizeArgTagsOverBoundReadNothing: ArgTags made of what a client
// sends (one tag per id in a list it asks for: "product:"+id) can be many.
// An entry holds at most 1,024 tag versions (maxEntryTags), and a result
// with more is never stored (versionsExpiring refuses it), so every Get of
// such an argument is a miss that calls fn. Yet each Get first read the
// entry together with the versions of every one of its tags from the
// shared server, in one MGET: a client that sent 100,000 ids made every
// call ask Redis for 100,001 keys, none of which could ever make a hit.
// Now such a lookup is a miss that reads nothing: for Get, Peek and the
// lease's check, on a remote store and behind a near cache.
func TestMemoizeArgTagsOverBoundReadNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		near  bool
		lease bool
	}{
		{"remote", false, false},
		{"near", true, false},
		{"remote with lease", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &keysRead{remote: &remote{Backend: newSimple(t, nil)}}
			var b backend.Backend = rs
			if tc.near {
				n, err := near.New(rs, near.Options{MaxStale: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				b = n
			}
			opts := &Options{Backend: b}
			if tc.lease {
				opts.Lease = time.Second
			}
			c, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			calls := 0
			m := Memoize(c, "products", func(_ context.Context, ids []int) (int, error) {
				calls++
				return len(ids), nil
			}, ArgTags(func(ids []int) []string {
				tags := make([]string, len(ids))
				for i, id := range ids {
					tags[i] = "product:" + strconv.Itoa(id)
				}
				return tags
			}))
			ids := make([]int, 100_000)
			for i := range ids {
				ids[i] = i
			}
			ctx := context.Background()
			for range 3 {
				v, err := m.Get(ctx, ids)
				if err != nil {
					t.Fatal(err)
				}
				if v != len(ids) {
					t.Fatalf("Get = %d, want %d", v, len(ids))
				}
			}
			if calls != 3 {
				t.Fatalf("fn called %d times for 3 Gets of an argument whose result cannot be stored, want 3", calls)
			}
			t.Logf("fn called %d times; %d keys read from the backend", calls, rs.keys.Load())
			if n := rs.keys.Load(); n > 3*(maxEntryTags+2) {
				t.Fatalf("3 Gets of an argument whose result cannot be stored (%d tags > %d) read %d keys from the backend", len(ids), maxEntryTags, n)
			}
			before := rs.keys.Load()
			if _, _, err := m.Peek(ctx, ids); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Peek: %v, want ErrNotFound", err)
			}
			if n := rs.keys.Load() - before; n != 0 {
				t.Fatalf("Peek of an argument with %d tags read %d keys from the backend", len(ids), n)
			}
		})
	}
}
