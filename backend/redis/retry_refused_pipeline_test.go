package redisstore_test

import (
	"context"
	"io"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/connerr"
)

// TestRetryRefusedAfterLandedClusterPipelineDelete is
// TestRetryRefusedAfterLandedWriteIsNoRefusal for a Delete of keys of
// two masters of a Cluster, sent as one pipeline (one UNLINK per hash
// slot). The first master's connections go through a proxy (the Cluster
// client's Dialer sends them there), which lets the UNLINK reach it and
// loses its reply with its connection; then the master refuses the
// retry: its connection ("refused"), or the command with LOADING, as a
// master restarting answers ("loading"). go-redis kept the lost try's
// EOF over a refused dial, untold, but a LOADING replaced it: the
// Delete failed with the refusal of a server that surely did not run
// it, though its first try landed. The error is now the lost try's,
// the retry's refusal in its text only; the other master's key is
// deleted.
func TestRetryRefusedAfterLandedClusterPipelineDelete(t *testing.T) {
	testRetryRefusedAfterLandedCluster(t, func(b *redisstore.Store, keys []string) error {
		return b.Delete(context.Background(), keys...)
	}, func(t *testing.T, raw *redis.ClusterClient, key string) {
		n, err := raw.Exists(context.Background(), key).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "%s was deleted", key)
	})
}

// TestRetryRefusedAfterLandedClusterSetMany is
// TestRetryRefusedAfterLandedClusterPipelineDelete for a SetMany of keys
// of two masters (one SET each, in one pipeline), which go-redis alone
// retried: a retry refused with LOADING made the SetMany read as refused
// (nothing stored), though its first try landed, and a refused dial went
// untold. Both values are stored, and the error is the lost try's.
func TestRetryRefusedAfterLandedClusterSetMany(t *testing.T) {
	testRetryRefusedAfterLandedCluster(t, func(b *redisstore.Store, keys []string) error {
		return b.SetMany(context.Background(), []backend.Item{{Key: keys[0], Value: []byte("x")}, {Key: keys[1], Value: []byte("x")}})
	}, func(t *testing.T, raw *redis.ClusterClient, key string) {
		v, err := raw.Get(context.Background(), key).Result()
		require.NoError(t, err)
		assert.Equal(t, "x", v, "%s was stored", key)
	})
}

// testRetryRefusedAfterLandedCluster runs write on two keys of two
// masters of the shared Cluster, each holding a value, the first
// master's reply to it lost and its retry refused (each of
// refusalsAfterLanding), checks each key (with the prefix) with after,
// and that write's error is the lost try's.
func testRetryRefusedAfterLandedCluster(t *testing.T, write func(b *redisstore.Store, keys []string) error, after func(t *testing.T, raw *redis.ClusterClient, key string)) {
	for name, refusal := range refusalsAfterLanding {
		t.Run(name, func(t *testing.T) {
			c := onTwoMasters(t)
			addr, arm := refusal.proxy(t, c.nodes[0], []byte(c.prefix+c.keys[0]))
			b := storeVia(t, c.addrs, c.nodes[0], addr, c.prefix)
			setEach(t, b, c.keys, "h") // pooled connections too
			arm()
			err := write(b, c.keys)
			require.Error(t, err)
			for _, k := range c.keys {
				after(t, c.raw, c.prefix+k)
			}
			assertLostTryErr(t, err, refusal.told)
		})
	}
}

// assertLostTryErr asserts that err, the error of a write whose first
// try landed and whose retry was refused, is the lost try's (io.EOF), no
// refusal, with the retry's refusal (told) in its text.
func assertLostTryErr(t *testing.T, err error, told string) {
	t.Helper()
	assert.ErrorIs(t, err, io.EOF, "the lost try's error")
	assert.False(t, connerr.Refused(err), "a refusal after a try that landed: %v", err)
	assert.False(t, redis.IsLoadingError(err), "a refusal after a try that landed: %v", err)
	assert.Contains(t, err.Error(), told, "the retry's refusal is told")
}
