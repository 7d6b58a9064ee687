package redisstore

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A program's type that embeds a go-redis client is used as the client it
// embeds: the Store retries Incr and Add as that client would (not at all,
// before), and batches a Cluster's keys by hash slot (one command per key,
// before).
func TestWrappedClientUsedAsTheClientItEmbeds(t *testing.T) {
	type wrappedClient struct{ *redis.Client }
	type wrappedCluster struct{ *redis.ClusterClient }
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: 2, ContextTimeoutEnabled: true})
	defer c.Close()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, MaxRedirects: 5, ContextTimeoutEnabled: true})
	defer cc.Close()
	for _, tc := range []struct {
		name    string
		client  redis.UniversalClient
		retries int
		mode    mode
	}{
		{"Client", wrappedClient{c}, 2, modeSingle},
		{"ClusterClient", wrappedCluster{cc}, 5, modeCluster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(Options{Client: tc.client})
			require.NoError(t, err)
			defer b.Close()
			assert.Equal(t, tc.retries, b.retry.retries)
			assert.Equal(t, tc.mode, b.mode)
		})
	}
}
