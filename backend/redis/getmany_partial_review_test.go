package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// readOrUnread checks what a GetMany of keys answered (got, err) against
// want, the values stored (nil: none): a key read has its value, or nil for
// a miss; a key not read is named by the *backend.GetManyError, or the
// whole call failed. A key reported a miss (nil, not named) while it holds
// a value is the failure this guards against: a caller would recompute it
// and write over a value it never saw.
func readOrUnread(t *testing.T, what string, keys []string, want [][]byte, got [][]byte, err error) (unread map[int]bool) {
	t.Helper()
	unread = map[int]bool{}
	var partial *backend.GetManyError
	switch {
	case err == nil:
	case errors.As(err, &partial):
		for _, i := range partial.Unread {
			unread[i] = true
		}
	default:
		for i := range keys {
			unread[i] = true // the whole call failed: nothing read
		}
		return unread
	}
	require.Len(t, got, len(keys), what)
	for i, k := range keys {
		switch {
		case unread[i]:
			assert.Nil(t, got[i], "%s: %s is not read, yet has a value", what, k)
		case want[i] == nil:
			assert.Nil(t, got[i], "%s: %s holds nothing", what, k)
		default:
			assert.Equal(t, string(want[i]), string(got[i]), "%s: %s is read (not named unread) and must have its value", what, k)
		}
	}
	return unread
}

// TestClusterGetManyNeverMissesAFailedMaster reviews GetMany on a Cluster
// where one master answers with an error reply (an ACL refusing MGET there
// only), then hangs (CLIENT PAUSE past the caller's deadline): a key of that
// master is never reported a miss, it is named unread (or the call fails),
// and the keys of the other masters are read.
func TestClusterGetManyNeverMissesAFailedMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "getmany-review"})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	keys := c.setOnEach(t, b, 3)
	var want [][]byte
	for _, k := range keys {
		want = append(want, []byte("v-"+k))
	}
	keys, want = append(keys, c.tagOn(t, 1)+"missing"), append(want, nil) // on the master that fails

	// An error reply (NOPERM) from the second master only.
	require.NoError(t, c.admin[1].Do(bg, "acl", "setuser", "default", "-mget").Err())
	got, err := b.GetMany(bg, keys)
	unread := readOrUnread(t, "MGET refused by one master", keys, want, got, err)
	assert.Equal(t, map[int]bool{1: true, 3: true}, unread, "the keys of the refusing master, and only they: %v", err)
	assert.ErrorContains(t, err, "NOPERM")
	require.NoError(t, c.admin[1].Do(bg, "acl", "setuser", "default", "+mget").Err())

	// A master that stops answering (paused past the caller's deadline):
	// however the timing falls, its keys are never misses.
	require.NoError(t, c.admin[1].Do(bg, "client", "pause", strconv.Itoa(3000), "all").Err())
	ctx, cancel := context.WithTimeout(bg, 500*time.Millisecond)
	got, err = b.GetMany(ctx, keys)
	cancel()
	readOrUnread(t, "a master hung", keys, want, got, err)
	require.NoError(t, c.admin[1].Do(bg, "client", "unpause").Err())
}

// TestCacheGetManyOnClusterWithMasterDown: a Cache (with and without a
// near cache) on a Cluster whose third master is stopped answers a GetMany
// with the entries of the masters that answer, and an error wrapping a
// *backend.GetManyError naming the entry on the stopped master and the
// entry whose tag's version lives there (never served unverified); a key
// that holds nothing on a live master is a miss, not unread. Nothing is
// reported a miss that was not read.
func TestCacheGetManyOnClusterWithMasterDown(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 3)
	bg := context.Background()
	open := func() *redisstore.Store {
		return redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "cache-down:"})
	}
	plainStore := open()
	plain := caching.Must(&caching.Options{Backend: plainStore})
	t.Cleanup(func() { _ = plain.Close() })
	ns, err := near.New(open(), near.Options{})
	require.NoError(t, err)
	withNear := caching.Must(&caching.Options{Backend: ns})
	t.Cleanup(func() { _ = withNear.Close() })
	require.NoError(t, ns.WaitWatching(bg))

	// The Cache's backend keys are "k/"+key and "t/"+tag under the prefix.
	p := plainStore.Prefix()
	onDown := c.keyOn(t, p+"k/", 2)
	tag := ""
	for i := 0; tag == ""; i++ {
		tg := "tag" + strconv.Itoa(i)
		slot, err := c.admin[0].ClusterKeySlot(bg, p+"t/"+tg).Result()
		require.NoError(t, err)
		if c.owner(t, int(slot)) == 2 {
			tag = tg
		}
	}
	live0, live1 := c.keyOn(t, p+"k/", 0), c.keyOn(t, p+"k/", 1)
	tagged := c.keyOn(t, p+"k/tagged-", 0)
	tagged = "tagged-" + tagged
	missing := "missing-" + c.keyOn(t, p+"k/missing-", 1)
	for _, k := range []string{live0, live1, onDown} {
		require.NoError(t, plain.Set(bg, k, []byte("v-"+k), time.Minute))
	}
	require.NoError(t, plain.Set(bg, tagged, []byte("v-tagged"), time.Minute, caching.Tags(tag)))
	keys := []string{live0, onDown, tagged, missing, live1}
	all, err := plain.GetMany(bg, keys...)
	require.NoError(t, err)
	require.Len(t, all, 4, "all read while every master is up")

	c.nodes[2].Stop()
	for _, cc := range []struct {
		name string
		c    *caching.Cache
	}{{"without a near cache", plain}, {"with a near cache", withNear}} {
		for range 2 { // the second call: nothing wrong was kept near
			before := cc.c.Stats()
			got, err := cc.c.GetMany(bg, keys...)
			var partial *backend.GetManyError
			require.ErrorAs(t, err, &partial, cc.name)
			assert.Equal(t, []int{1, 2}, partial.Unread, "%s: the entry on the stopped master, and the one whose tag's version is there", cc.name)
			assert.Equal(t, map[string][]byte{live0: []byte("v-" + live0), live1: []byte("v-" + live1)}, got, cc.name)
			after := cc.c.Stats()
			assert.Equal(t, int64(2), after.Bypasses-before.Bypasses, "%s: the keys not read", cc.name)
			assert.Equal(t, int64(1), after.Misses-before.Misses, "%s: the key holding nothing", cc.name)
		}
	}
}
