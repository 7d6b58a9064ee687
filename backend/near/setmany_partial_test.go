package near_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
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
