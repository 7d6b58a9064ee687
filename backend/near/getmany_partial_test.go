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

// liveAndDeadMemcached returns a memcached store of two servers, the first
// live, the second down (nothing listens there), in a namespace of its own
// (named from prefix) whose generation is on the live server. The test
// closes it only through a near Store that owns it.
func liveAndDeadMemcached(t *testing.T, prefix string) *memcached.Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	for i := 0; ; i++ {
		mc := memcached.Must(memcached.Options{Servers: []string{testutil.MemcachedAddrs(t)[0], dead},
			Namespace: fmt.Sprint(prefix, time.Now().UnixNano(), "-", i)})
		if mc.Set(context.Background(), "first", []byte("v"), 0) == nil {
			return mc
		}
		_ = mc.Close()
	}
}

// Regression: GetMany in front of a store without GetMany of its own read
// the keys one at a time and failed as a whole at the first that failed:
// with one memcached server of two down, the keys on the live server were
// not returned either, and a Cache's GetMany answered none of them, where
// the same Cache without a near cache answers the keys it could read (and
// says which it could not). It now reads every key it can and reports the
// others in a *backend.GetManyError, as a GetMany of several servers does.
func TestGetManyGoesOnPastAFailingKey(t *testing.T) {
	ctx := context.Background()
	mc := liveAndDeadMemcached(t, "near-getmany-")
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

// Regression: DeleteCount in front of a store that neither counts its
// deletes nor reads many keys at once counts the keys by reading them
// first, and, when that read failed for some keys (one memcached server of
// two down), deleted nothing: a Cache's DeleteMany left the entries on the
// live server in place, where Delete removes them. It now deletes them,
// and reports the count unknown (an error).
func TestDeleteCountDeletesPastAFailingRead(t *testing.T) {
	ctx := context.Background()
	mc := liveAndDeadMemcached(t, "near-deletecount-")
	s := openNear(t, withoutGetMany{mc}, near.Options{})
	var keys, live []string
	for i := range 40 {
		k := fmt.Sprint("k", i)
		keys = append(keys, k)
		if mc.Set(ctx, k, []byte("v-"+k), time.Minute) == nil {
			live = append(live, k)
		}
	}
	require.NotEmpty(t, live)
	require.Less(t, len(live), len(keys), "some keys must be on the server down")

	_, err := s.DeleteCount(ctx, keys...)
	require.Error(t, err, "the keys on the server down")
	for _, k := range live {
		_, err := mc.Get(ctx, k)
		require.ErrorIs(t, err, backend.ErrNotFound, "%s, on the live server, not deleted", k)
	}
}
