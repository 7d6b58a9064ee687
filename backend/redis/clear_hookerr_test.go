package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// errDeletesRefused is refuseDeletes' error.
var errDeletesRefused = errors.New("deletes refused by a hook")

// refuseDeletes is a hook on a node's client that fails every pipeline
// holding a delete without sending it, and without setting an error on
// its commands, as a client-side limiter or guard hook may: the pipeline's
// Exec fails while no command says why.
type refuseDeletes struct{}

func (refuseDeletes) DialHook(next redis.DialHook) redis.DialHook { return next }
func (refuseDeletes) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}

func (refuseDeletes) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if n := cmd.Name(); n == "unlink" || n == "del" {
				return errDeletesRefused
			}
		}
		return next(ctx, cmds)
	}
}

// TestClearFailsWhenAPipelineFailsWithoutACommandError: Clear on a Cluster
// retries through the Cluster client the deletes a node redirected, and
// took a failed pipeline none of whose commands failed for one with
// nothing to retry: it sent an empty pipeline (nil error) and returned
// nil, the keys all left. It now returns the pipeline's error.
func TestClearFailsWhenAPipelineFailsWithoutACommandError(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 1, 1)
	bg := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.nodes[0].Addr}, ContextTimeoutEnabled: true})
	cc.OnNewNode(func(node *redis.Client) { node.AddHook(refuseDeletes{}) })
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: "hookclear:"})
	t.Cleanup(func() { _ = b.Close() })
	for i := 0; i < 5; i++ {
		require.NoError(t, b.Set(bg, fmt.Sprintf("k%d", i), []byte("v"), time.Minute))
	}

	err := b.Clear(bg)
	assert.ErrorIs(t, err, errDeletesRefused, "Clear whose deletes were not sent")
	assert.Equal(t, int64(5), c.keysLeft(t), "the keys Clear did not delete")
}
