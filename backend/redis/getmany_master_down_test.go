package redisstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestClusterGetManyReadsPastAStoppedMaster: on a Cluster of the test's
// own whose third master is stopped, GetMany of keys on every master
// returns the values of the keys on the masters that answer, with a
// *backend.GetManyError naming the others, as GetMany of several
// memcached servers does: not one error for the whole call, which made a
// Cache (and its near cache) miss every key of a batch while one master
// of many was down.
func TestClusterGetManyReadsPastAStoppedMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "getmany-down"})
	t.Cleanup(func() { _ = b.Close() })
	ctx := context.Background()
	keys := c.setOnEach(t, b, 3)
	missing := c.tagOn(t, 0) + "missing" // on the first master, never set
	long := c.overBulkLen(t)
	_, err := b.GetMany(ctx, []string{keys[0], long})
	require.ErrorIs(t, err, backend.ErrKeyRefused, "the Store has read the servers' limit")
	c.nodes[2].Stop()

	got, err := b.GetMany(ctx, append(keys, missing))
	var partial *backend.GetManyError
	require.True(t, errors.As(err, &partial), "a *backend.GetManyError, got %v", err)
	assert.Equal(t, []int{2}, partial.Unread, "the key on the stopped master is the one not read")
	assert.Equal(t, 4, partial.Keys)
	assert.False(t, backend.Neutral(err), "the failure of a server down is no neutral one: %v", err)
	require.Len(t, got, 4)
	assert.Equal(t, "v-"+keys[0], string(got[0]))
	assert.Equal(t, "v-"+keys[1], string(got[1]))
	assert.Nil(t, got[2], "not read")
	assert.Nil(t, got[3], "a miss")

	// With a key refused too: both are named, and the error is the real
	// failure's, not the refusal's (backend.Neutral).
	got, err = b.GetMany(ctx, []string{keys[2], long, keys[1]})
	require.True(t, errors.As(err, &partial), "a *backend.GetManyError, got %v", err)
	assert.Equal(t, []int{0, 1}, partial.Unread, "the key on the stopped master and the key refused")
	assert.False(t, backend.Neutral(err), "the failure of a server down is no neutral one: %v", err)
	require.Len(t, got, 3)
	assert.Equal(t, "v-"+keys[1], string(got[2]))

	// Only keys on the stopped master: the whole call fails.
	_, err = b.GetMany(ctx, []string{keys[2]})
	require.Error(t, err)
	assert.False(t, errors.As(err, &partial), "no key read: not a partial read")
}
