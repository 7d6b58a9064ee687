package near_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: SetMany in front of a store without SetMany of its own
// (memcached) set the items one at a time and stopped at the first that
// failed: with one memcached server of two down, the items after it on the
// live server were never written. It now writes every item it can and
// reports how many failed.
func TestSetManyGoesOnPastAFailingItem(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String() // a server down: nothing listens there
	require.NoError(t, ln.Close())
	// A namespace whose generation is on the live server (the first).
	var remote *memcached.Store
	for i := 0; ; i++ {
		remote = memcached.Must(memcached.Options{Servers: []string{testutil.MemcachedAddrs(t)[0], dead},
			Namespace: fmt.Sprint("near-setmany-", time.Now().UnixNano(), "-", i)})
		if remote.Set(ctx, "first", []byte("v"), 0) == nil {
			break
		}
		remote.Close()
	}
	s := openNear(t, remote, near.Options{})
	var items []backend.Item
	for i := range 40 {
		k := fmt.Sprint("k", i)
		items = append(items, backend.Item{Key: k, Value: []byte("v-" + k), TTL: time.Minute})
	}
	require.Error(t, s.SetMany(ctx, items), "some keys are on the server down")
	onLive, stored := 0, 0
	for _, it := range items {
		if v, err := remote.Get(ctx, it.Key); err == nil {
			require.Equal(t, string(it.Value), string(v))
			stored++
		}
		if remote.Set(ctx, it.Key, it.Value, time.Minute) == nil {
			onLive++
		}
	}
	require.NotZero(t, onLive)
	require.Less(t, onLive, len(items), "some keys must be on the server down")
	require.Equal(t, onLive, stored, "keys on the live server that SetMany did not write")
}

// setRefusing is a remote store without SetMany whose Set fails for the
// keys of errs with their error.
type setRefusing struct {
	backend.Backend
	errs map[string]error
}

func (s setRefusing) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.errs[key]; err != nil {
		return err
	}
	return s.Backend.Set(ctx, key, value, ttl)
}

// TestSetManyReportsARealFailureAfterANeutralOne: of the items a SetMany
// without the remote's own could not write, the error reported is a real
// failure's where there is one, ahead of a refusal the caching package's
// breaker does not count (a server marked down; a key refused by a server
// that serves the others): reported first, such a refusal hid the failure
// from the breaker.
func TestSetManyReportsARealFailureAfterANeutralOne(t *testing.T) {
	ctx := context.Background()
	errServer := errors.New("remote: connection reset")
	for _, neutral := range []error{backend.ErrServerDown, backend.ErrKeyRefused} {
		remote := setRefusing{Backend: simple.Must(simple.Options{}), errs: map[string]error{"a": neutral, "b": errServer}}
		s := openNear(t, remote, near.Options{})
		err := s.SetMany(ctx, []backend.Item{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}, {Key: "c", Value: []byte("3")}})
		require.ErrorIs(t, err, errServer, "after %v", neutral)
		v, err := remote.Get(ctx, "c")
		require.NoError(t, err)
		require.Equal(t, "3", string(v))
	}
}
