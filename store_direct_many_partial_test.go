package caching

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// downKeys is a remote backend without GetMany (a *simple.Store, its other
// capabilities hidden) whose Get and Set fail for the keys holding "down"
// (their server down), with errs in turn.
type downKeys struct {
	backend.Backend
	errs  []error
	n     atomic.Int64
	gets  atomic.Int64
	onGet func() // called before each Get, if set
}

func (d *downKeys) Get(ctx context.Context, key string) ([]byte, error) {
	d.gets.Add(1)
	if d.onGet != nil {
		d.onGet()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.Contains(key, "down") {
		return nil, fmt.Errorf("get: %w", d.errs[int(d.n.Add(1)-1)%len(d.errs)])
	}
	return d.Backend.Get(ctx, key)
}

func (d *downKeys) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if strings.Contains(key, "down") {
		return fmt.Errorf("set: %w", d.errs[int(d.n.Add(1)-1)%len(d.errs)])
	}
	return d.Backend.Set(ctx, key, value, ttl)
}

// downKeysCache returns a Cache, with no breaker, on a downKeys whose
// failing keys fail with errs in turn.
func downKeysCache(t *testing.T, errs ...error) (*Cache, *downKeys) {
	t.Helper()
	b := &downKeys{Backend: newSimple(t, nil), errs: errs}
	c, err := New(&Options{Backend: b, Breaker: BreakerOptions{Threshold: -1}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, b
}

// Regression: on a backend without GetMany, Cache.GetMany read its keys one
// by one and stopped at the first that failed, returning no value at all:
// one key on a server down made every other key a failed read, served
// uncached. It now reads every key, returns the values read, and says which
// keys were not, with a *backend.GetManyError, as on a backend with GetMany.
func TestStoreDirectManyWithoutGetManyReadsPastAFailedKey(t *testing.T) {
	ctx := context.Background()
	errServer := errors.New("remote: connection refused")
	for _, tc := range []struct {
		name string
		errs []error // of the two failing keys, in order
		want error   // the error the GetManyError wraps
	}{
		{"real failure", []error{errServer, errServer}, errServer},
		// The breaker does not count ErrServerDown: a real failure after
		// one must not hide behind it.
		{"server down first", []error{backend.ErrServerDown, errServer}, errServer},
		{"key refused first", []error{backend.ErrKeyRefused, errServer}, errServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := downKeysCache(t, tc.errs...)
			keys := []string{"a", "down-1", "b", "missing", "down-2", "c"}
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, c.Set(ctx, k, []byte("v-"+k), time.Minute))
			}
			got, err := c.GetMany(ctx, keys...)
			require.Error(t, err)
			var ge *backend.GetManyError
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, []int{1, 4}, ge.Unread, "the keys whose read failed")
			assert.Equal(t, len(keys), ge.Keys)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, map[string][]byte{"a": []byte("v-a"), "b": []byte("v-b"), "c": []byte("v-c")}, got,
				"the values of the keys read, those after a failed key included")
		})
	}
	t.Run("every key failing", func(t *testing.T) {
		c, _ := downKeysCache(t, errServer)
		got, err := c.GetMany(ctx, "down-1", "down-2")
		require.ErrorIs(t, err, errServer)
		var ge *backend.GetManyError
		require.NotErrorAs(t, err, &ge, "no key read: the call failed as a whole")
		assert.Nil(t, got)
	})
	t.Run("context done", func(t *testing.T) {
		c, b := downKeysCache(t, errServer)
		require.NoError(t, c.Set(ctx, "a", []byte("v-a"), time.Minute))
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b.onGet = func() {
			if b.gets.Load() == 2 { // the second key's read: the caller leaves
				cancel()
			}
		}
		got, err := c.GetMany(cctx, "a", "b", "c", "d")
		require.ErrorIs(t, err, context.Canceled)
		var ge *backend.GetManyError
		require.ErrorAs(t, err, &ge)
		assert.Equal(t, []int{1, 2, 3}, ge.Unread)
		assert.Equal(t, map[string][]byte{"a": []byte("v-a")}, got)
		assert.EqualValues(t, 2, b.gets.Load(), "no key read once the context is done")
	})
}

// TestSetManyWithoutSetManyReportsARealFailure: Cache.SetMany on a backend
// without SetMany writes each key apart, and of those that failed reports a
// real failure's error, which the breaker counts, ahead of a refusal it
// does not (a server marked down, a key refused by a server that serves
// the others), whichever came first.
func TestSetManyWithoutSetManyReportsARealFailure(t *testing.T) {
	ctx := context.Background()
	errServer := errors.New("remote: connection refused")
	for _, neutral := range []error{backend.ErrServerDown, backend.ErrKeyRefused} {
		for _, errs := range [][]error{{neutral, errServer}, {errServer, neutral}} {
			c, _ := downKeysCache(t, errs...)
			err := c.SetMany(ctx, map[string][]byte{"a": []byte("1"), "down-1": []byte("2"), "down-2": []byte("3")}, time.Minute)
			require.ErrorIs(t, err, errServer, "errors %v", errs)
			v, err := c.Get(ctx, "a")
			require.NoError(t, err, "the key on a live server was not written")
			require.Equal(t, "1", string(v))
		}
	}
}
