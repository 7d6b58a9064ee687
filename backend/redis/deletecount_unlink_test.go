package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestDeleteCountWhereOneMasterRefusesUnlink: on a Cluster one of whose
// masters refuses UNLINK (its ACL, in a rollout), DeleteCount's UNLINK
// deleted the keys of the others, and its run again with DEL, which found
// them gone, counted them 0: the call succeeded with a count short of the
// keys it deleted. The keys each run deleted now all count.
func TestDeleteCountWhereOneMasterRefusesUnlink(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 2, 2)
	bg := context.Background()
	for i, a := range c.admin {
		rules := []any{"acl", "setuser", "deleter", "on", ">pw", "~*", "&*", "+@all"}
		if i == 1 {
			rules = append(rules, "-unlink")
		}
		require.NoError(t, a.Do(bg, rules...).Err())
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.nodes[0].Addr, c.nodes[1].Addr},
		Username: "deleter", Password: "pw", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = cc.Close() })
	const prefix = "unlinkcount:"
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
	t.Cleanup(func() { _ = b.Close() })
	keys := []string{c.keyOn(t, prefix, 0), c.keyOn(t, prefix, 1)}
	for i := 0; i < 3; i++ {
		keys = append(keys, fmt.Sprintf("x%d", i))
	}
	for _, k := range keys {
		require.NoError(t, b.Set(bg, k, []byte("v"), time.Minute))
	}

	n, err := b.DeleteCount(bg, keys...)
	require.NoError(t, err)
	assert.Equal(t, len(keys), n, "the keys deleted, by UNLINK or by DEL")
	assert.Zero(t, c.keysLeft(t), "keys left")
}
