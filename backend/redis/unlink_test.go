//go:build !plan9

package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// commands is a go-redis hook that records the names of the commands a
// client sends, pipelined or not.
type commands struct {
	mu    sync.Mutex
	names []string
}

func (c *commands) add(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cmd := range cmds {
		c.names = append(c.names, cmd.Name())
	}
}

// take returns the names recorded since the last take.
func (c *commands) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.names
	c.names = nil
	return n
}

func (c *commands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}

func (c *commands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.add(cmds...)
		return next(ctx, cmds)
	}
}

// recorded returns a client for addrs (several: a Cluster) whose commands
// are recorded, node by node on a Cluster; with user, it logs in as user,
// password "pw".
func recorded(t *testing.T, addrs []string, user string) (redis.UniversalClient, *commands) {
	rec := &commands{}
	var c redis.UniversalClient
	if len(addrs) > 1 {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(rec) })
		c = cc
	} else {
		o := &redis.Options{Addr: addrs[0], ContextTimeoutEnabled: true}
		if user != "" {
			o.Username, o.Password = user, "pw"
		}
		sc := redis.NewClient(o)
		sc.AddHook(rec)
		c = sc
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, rec
}

// testDeleteCommand checks which command Delete and Clear send, and that
// the keys are gone.
func testDeleteCommand(t *testing.T, addrs []string) {
	for _, tc := range []struct {
		name    string
		withDEL bool
		want    string
	}{{"default", false, "unlink"}, {"DeleteWithDEL", true, "del"}} {
		t.Run(tc.name, func(t *testing.T) {
			client, rec := recorded(t, addrs, "")
			b := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(t), DeleteWithDEL: tc.withDEL})
			keys := make([]string, 20) // over several slots on a Cluster
			for i := range keys {
				keys[i] = fmt.Sprint("k", i)
				require.NoError(t, b.Set(ctx(t), keys[i], []byte("v"), 0))
			}
			rec.take()
			require.NoError(t, b.Delete(ctx(t), keys[:10]...))
			assertOnly(t, rec.take(), tc.want, "Delete")
			got, err := b.GetMany(ctx(t), keys)
			require.NoError(t, err)
			for i := range keys[:10] {
				assert.Nil(t, got[i], "%s deleted", keys[i])
			}
			assert.NotNil(t, got[10], "the others kept")

			rec.take()
			require.NoError(t, b.Clear(ctx(t)))
			assertOnly(t, rec.take(), tc.want, "Clear")
			got, err = b.GetMany(ctx(t), keys)
			require.NoError(t, err)
			assert.Equal(t, make([][]byte, len(keys)), got, "Clear removed them all")
		})
	}
}

// assertOnly checks that names holds the deletion command want and not the
// other one.
func assertOnly(t *testing.T, names []string, want, op string) {
	t.Helper()
	other := map[string]string{"unlink": "del", "del": "unlink"}[want]
	assert.Contains(t, names, want, "%s sends %s: %v", op, want, names)
	assert.NotContains(t, names, other, "%s sends no %s: %v", op, other, names)
}

func TestDeleteCommandMiniredis(t *testing.T) {
	t.Parallel()
	testDeleteCommand(t, []string{miniredis.RunT(t).Addr()})
}

func TestDeleteCommandRedis(t *testing.T) {
	t.Parallel()
	testDeleteCommand(t, []string{testutil.RedisAddr(t)})
}

func TestDeleteCommandCluster(t *testing.T) {
	t.Parallel()
	testDeleteCommand(t, testutil.RedisClusterAddrs(t))
}

// A server that refuses UNLINK (renamed away, or denied by an ACL) gets DEL:
// the first Delete tries UNLINK once, and every call after sends DEL only.
func TestFallsBackToDELWhereUNLINKIsRefused(t *testing.T) {
	t.Parallel()
	server := func(t *testing.T, extra ...string) string {
		srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
			return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
		})
		return srv.Addr
	}
	t.Run("renamed", func(t *testing.T) {
		t.Parallel()
		testFallsBackToDEL(t, server(t, "--rename-command", "UNLINK", ""), "")
	})
	t.Run("acl", func(t *testing.T) {
		t.Parallel()
		addr := server(t)
		admin := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = admin.Close() })
		require.NoError(t, admin.Do(ctx(t), "ACL", "SETUSER", "nounlink", "on", ">pw", "~*", "+@all", "-unlink").Err())
		testFallsBackToDEL(t, addr, "nounlink")
	})
}

func testFallsBackToDEL(t *testing.T, addr, user string) {
	client, rec := recorded(t, []string{addr}, user)
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(t)})
	for _, k := range []string{"a", "b", "c", "d"} {
		require.NoError(t, b.Set(ctx(t), k, []byte("v"), 0))
	}
	rec.take()
	require.NoError(t, b.Delete(ctx(t), "a", "b"))
	assert.Equal(t, []string{"unlink", "del"}, rec.take(), "one refused UNLINK, then DEL")
	require.NoError(t, b.Delete(ctx(t), "c"))
	assert.Equal(t, []string{"del"}, rec.take())
	require.NoError(t, b.Clear(ctx(t)))
	assert.False(t, slices.Contains(rec.take(), "unlink"))
	for _, k := range []string{"a", "b", "c", "d"} {
		ok, err := b.Has(ctx(t), k)
		require.NoError(t, err)
		assert.False(t, ok, k)
	}
}
