package near_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/internal/testutil"
)

// withoutGetMany is a remote store that reads one key at a time: it hides
// the GetMany of the store it wraps, as a third-party backend may lack one.
type withoutGetMany struct{ backend.Backend }

// Regression: GetMany in front of a store without GetMany of its own read
// the keys one at a time and failed as a whole at the first that failed:
// with one memcached server of two down, the keys on the live server were
// not returned either, and a Cache's GetMany answered none of them, where
// the same Cache without a near cache answers the keys it could read (and
// says which it could not). It now reads every key it can and reports the
// others in a *backend.GetManyError, as a GetMany of several servers does.
func TestGetManyGoesOnPastAFailingKey(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String() // a server down: nothing listens there
	require.NoError(t, ln.Close())
	// A namespace whose generation is on the live server (the first).
	var mc *memcached.Store
	for i := 0; ; i++ {
		mc = memcached.Must(memcached.Options{Servers: []string{testutil.MemcachedAddrs(t)[0], dead},
			Namespace: fmt.Sprint("near-getmany-", time.Now().UnixNano(), "-", i)})
		if mc.Set(ctx, "first", []byte("v"), 0) == nil {
			break
		}
		mc.Close()
	}
	s := openNear(t, withoutGetMany{mc}, near.Options{})
	var keys []string
	onLive := map[int]bool{}
	for i := range 40 {
		k := fmt.Sprint("k", i)
		keys = append(keys, k)
		if mc.Set(ctx, k, []byte("v-"+k), time.Minute) == nil {
			onLive[i] = true
		}
	}
	require.NotEmpty(t, onLive)
	require.Less(t, len(onLive), len(keys), "some keys must be on the server down")

	vals, err := s.GetMany(ctx, keys)
	var ge *backend.GetManyError
	require.True(t, errors.As(err, &ge), "want a *backend.GetManyError, got %v", err)
	require.Len(t, vals, len(keys))
	require.Equal(t, len(keys), ge.Keys)
	unread := map[int]bool{}
	for _, i := range ge.Unread {
		unread[i] = true
	}
	for i, k := range keys {
		if onLive[i] {
			require.Equal(t, "v-"+k, string(vals[i]), "a key on the live server")
			require.False(t, unread[i], "a key on the live server reported unread")
		} else {
			require.Nil(t, vals[i])
			require.True(t, unread[i], "a key on the server down not reported unread")
		}
	}

	// What a Cache's user observes: the entries on the live server.
	c, err := caching.New(&caching.Options{Backend: openNear(t, withoutGetMany{mc}, near.Options{})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	stored := map[string]bool{} // the Cache's keys (prefixed) land elsewhere
	for _, k := range keys {
		stored[k] = c.Set(ctx, k, []byte("c-"+k), time.Minute) == nil
	}
	require.Contains(t, slices.Collect(maps.Values(stored)), true)
	require.Contains(t, slices.Collect(maps.Values(stored)), false)
	got, err := c.GetMany(ctx, keys...)
	require.ErrorAs(t, err, &ge, "the keys on the server down")
	for _, k := range keys {
		if stored[k] {
			require.Equal(t, "c-"+k, string(got[k]), "an entry on the live server")
		} else {
			require.NotContains(t, got, k)
		}
	}
}
