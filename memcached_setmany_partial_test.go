package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// Regression: SetMany on a store without a SetMany of its own (memcached,
// or a custom backend.Backend) wrote the items one at a time and stopped at
// the first that failed: with one memcached server of two down, the items
// after it on the live server were never written, and the error named one
// key. It now writes every item it can and reports how many failed.
func TestSetManyGoesOnPastAFailingItem(t *testing.T) {
	ctx := context.Background()
	servers := []string{testutil.MemcachedAddrs(t)[0], deadMemcachedAddr(t)}
	c := openMemcachedCache(t, servers, memcachedNamespaceOn(0, 2), BreakerOptions{Threshold: -1})
	values := make(map[string][]byte)
	for i := range 40 {
		k := fmt.Sprint("k", i)
		values[k] = []byte("v-" + k)
	}
	err := c.SetMany(ctx, values, time.Minute)
	require.Error(t, err, "some keys are on the server down")
	stored := 0
	for k, v := range values {
		got, gerr := c.Get(ctx, k)
		if gerr != nil { // on the server down
			continue
		}
		require.Equal(t, string(v), string(got), "key %s", k)
		stored++
	}
	onLive := 0
	for k := range values {
		if c.Set(ctx, k, values[k], time.Minute) == nil {
			onLive++
		}
	}
	require.NotZero(t, onLive)
	require.Less(t, onLive, len(values), "some keys must be on the server down")
	require.Equal(t, onLive, stored, "keys on the live server that SetMany did not write")
	require.Contains(t, err.Error(), fmt.Sprintf("(and %d other keys not stored)", len(values)-onLive-1))
}
