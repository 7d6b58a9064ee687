package redisstore_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// assertNodesDoNotRetry checks that the node clients of a Cluster client
// the Store built make one try each, without a back-off: go-redis gives
// them its default back-off (8ms to 512ms) and the Cluster's MaxRetries,
// inside the Cluster's own loop of retries.
func assertNodesDoNotRetry(t *testing.T, cc *redis.ClusterClient, key string) {
	t.Helper()
	n, err := cc.MasterForKey(context.Background(), key)
	require.NoError(t, err)
	o := n.Options()
	assert.LessOrEqual(t, o.MinRetryBackoff, time.Duration(0), "a node client sleeps %v..%v before a retry", o.MinRetryBackoff, o.MaxRetryBackoff)
	assert.LessOrEqual(t, o.MaxRetryBackoff, time.Duration(0), "a node client sleeps up to %v before a retry", o.MaxRetryBackoff)
	assert.LessOrEqual(t, o.MaxRetries, 0, "a node client retries %d times inside the Cluster's own retries (after go-redis's init, 0 is none)", o.MaxRetries)
}

// TestClusterNodeClientsNeitherRetryNorSleep: on the shared Cluster (only
// its options are looked at), built from a URL and from ClientOptions.
func TestClusterNodeClientsNeitherRetryNorSleep(t *testing.T) {
	t.Parallel()
	addrs := testutil.RedisClusterAddrs(t)
	for name, opts := range map[string]redisstore.Options{
		"URL":           {URL: "redis+cluster://" + strings.Join(addrs, ",")},
		"ClientOptions": {ClientOptions: &redis.UniversalOptions{Addrs: addrs}},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Prefix = uniquePrefix(t)
			b := redisstore.Must(opts)
			t.Cleanup(func() { _ = b.Close() })
			assertNodesDoNotRetry(t, b.Client().(*redis.ClusterClient), b.Prefix()+"k")
		})
	}
}

// TestClusterHungMasterCostsReadTimeoutPerRedirect hangs (SIGSTOP: a frozen
// VM, a network black hole) a master of the test's own Cluster: a Get of
// one of its keys fails within ReadTimeout × (MaxRedirects+1), as the
// package doc says, where the node clients' own retries had doubled it.
//
// Not parallel: the bound is a time, and the package's parallel tests (their
// own Clusters and Sentinels starting) once stretched it past 2.5 s on CI's
// two cores; Go runs the tests that are not parallel before the others.
func TestClusterHungMasterCostsReadTimeoutPerRedirect(t *testing.T) {
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url("max_redirects=1"), Prefix: "hung"})
	t.Cleanup(func() { _ = b.Close() })
	assertNodesDoNotRetry(t, b.Client().(*redis.ClusterClient), b.Prefix()+"k")
	k := c.keyOn(t, b.Prefix(), 1)
	bg := context.Background()
	require.NoError(t, b.Set(bg, k, []byte("v"), time.Minute))

	pid := c.pid(t, 1)
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	start := time.Now()
	_, err := b.Get(bg, k)
	took := time.Since(start)
	require.Error(t, err)
	bound := redisstore.DefaultReadTimeout * 2 // max_redirects=1: two tries
	assert.Less(t, took, bound+300*time.Millisecond, "a Get of a hung master's key took %v; ReadTimeout × (MaxRedirects+1) is %v", took, bound)
}
