package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// ownSentinel is a master, a replica and a Sentinel of the test's own, the
// master named "own".
type ownSentinel struct {
	master, replica, sentinel *testutil.Process
	s                         *redis.SentinelClient
}

// startOwnSentinel starts an ownSentinel and returns once Sentinel has
// found the replica and the replica is in sync. Before the Sentinel starts,
// setup (if not nil) runs on a client of the master and one of the replica.
func startOwnSentinel(t *testing.T, setup func(master, replica *redis.Client)) *ownSentinel {
	t.Helper()
	o := &ownSentinel{master: startRedis(t, "")}
	dir := t.TempDir() // where the replica writes the RDB the master sends it
	o.replica = testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--replicaof", "127.0.0.1", strconv.Itoa(o.master.Port)}
	})
	if setup != nil {
		m := redis.NewClient(&redis.Options{Addr: o.master.Addr, ContextTimeoutEnabled: true})
		r := redis.NewClient(&redis.Options{Addr: o.replica.Addr, ContextTimeoutEnabled: true})
		setup(m, r)
		_, _ = m.Close(), r.Close()
	}
	// The replica first: Sentinel reads a replica's INFO every 10 s, and a
	// first read from before the replica took its role puts the next one
	// past a short deadline.
	r := redis.NewClient(&redis.Options{Addr: o.replica.Addr})
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := r.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the replica did not sync: %q %v", info, err)
		time.Sleep(50 * time.Millisecond)
	}
	_ = r.Close()
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(
		"sentinel monitor own 127.0.0.1 %d 1\nsentinel down-after-milliseconds own 1000\nsentinel failover-timeout own 5000\n",
		o.master.Port)), 0o600))
	o.sentinel = testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1"}
	})
	o.s = redis.NewSentinelClient(&redis.Options{Addr: o.sentinel.Addr})
	t.Cleanup(func() { _ = o.s.Close() })
	deadline = time.Now().Add(30 * time.Second)
	for { // Sentinel has found the replica, and the replica is in sync
		r, err := o.s.Replicas(context.Background(), "own").Result()
		if err == nil && len(r) == 1 && r[0]["master-link-status"] == "ok" {
			return o
		}
		require.True(t, time.Now().Before(deadline), "Sentinel did not find the replica: %v %v", r, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// failover fails the master over to the replica and returns once Sentinel
// names the replica.
func (o *ownSentinel) failover(t *testing.T) {
	t.Helper()
	bg := context.Background()
	require.NoError(t, o.s.Failover(bg, "own").Err())
	deadline := time.Now().Add(10 * time.Second)
	for {
		addr, err := o.s.GetMasterAddrByName(bg, "own").Result()
		if err == nil && addr[1] == strconv.Itoa(o.replica.Port) {
			return
		}
		require.True(t, time.Now().Before(deadline), "the failover did not happen")
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchFollowsSentinelFailover fails an own Sentinel's master over:
// within a few seconds a write on the new master reaches the watch. The
// demoted master says "master" to ROLE until Sentinel reconfigures it
// (~10s), and the watch stayed on it all that time. With a user whose ACL
// refuses INFO (-info; -@dangerous, which refuses ROLE too) the watch
// compares CLIENT INFO's laddr instead of INFO's run_id.
func TestWatchFollowsSentinelFailover(t *testing.T) {
	t.Parallel()
	for _, refused := range []string{"", "-info", "-@dangerous"} {
		t.Run(fmt.Sprintf("refused=%q", refused), func(t *testing.T) {
			t.Parallel()
			var setup func(m, r *redis.Client)
			opts := &redis.UniversalOptions{MasterName: "own"}
			infoRefused := refused != ""
			if infoRefused {
				setup = func(m, r *redis.Client) {
					for _, c := range []*redis.Client{m, r} {
						require.NoError(t, c.Do(context.Background(), "acl", "setuser", "app", "on", ">pw", "~*", "&*", "+@all", refused).Err())
					}
				}
				opts.Username, opts.Password = "app", "pw"
			}
			o := startOwnSentinel(t, setup)
			opts.Addrs = []string{o.sentinel.Addr}
			b := redisstore.Must(redisstore.Options{ClientOptions: opts, Prefix: uniquePrefix(t)})
			t.Cleanup(func() { _ = b.Close() })
			if infoRefused {
				require.ErrorContains(t, b.Client().Info(context.Background(), "server").Err(), "NOPERM")
			}
			ev := watchStore(t, b)
			ev.waitFor(t, "the watch", watching(true))

			o.failover(t)
			bg := context.Background()
			promoted := redis.NewClient(&redis.Options{Addr: o.replica.Addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = promoted.Close() })
			// Write on the new master until the watch reports it; the watch
			// gets 5s (its check runs every second; the rest is slack for a
			// loaded machine), well under the ~10s it stayed on the demoted
			// master.
			deadline := time.Now().Add(5 * time.Second)
			for i := 0; ; i++ {
				k := "after" + strconv.Itoa(i)
				require.NoError(t, promoted.Set(bg, b.Prefix()+k, "v", time.Minute).Err())
				time.Sleep(100 * time.Millisecond)
				ev.mu.Lock()
				seen, states := ev.keys[k] > 0, append([]bool(nil), ev.states...)
				ev.mu.Unlock()
				if seen {
					return
				}
				require.True(t, time.Now().Before(deadline), "5s after the failover the watch has reported no write on the new master (states %v)", states)
			}
		})
	}
}

// totalConns returns the server's total_connections_received.
func totalConns(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "stats").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_connections_received:"); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no total_connections_received")
	return 0
}

// TestWatchFailoverOpensNoConnectionPerSecond: with no failover at all,
// the watch of a Sentinel failover client dialled the master every second
// (a Sentinel query and a new connection, TLS handshake and all, closed at
// once) to tell whether it had moved: per process. It now asks the Store's
// own pool for the master's run_id.
func TestWatchFailoverOpensNoConnectionPerSecond(t *testing.T) {
	t.Parallel()
	o := startOwnSentinel(t, nil)
	b := redisstore.Must(redisstore.Options{URL: "redis+sentinel://" + o.sentinel.Addr + "/own", Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(context.Background(), "k", []byte("v"), time.Minute)) // the pool's connection
	ev := watchStore(t, b)
	ev.waitFor(t, "the watch", watching(true))
	admin := redis.NewClient(&redis.Options{Addr: o.master.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	before := totalConns(t, admin)
	time.Sleep(3500 * time.Millisecond) // three of the watch's checks at least
	got := totalConns(t, admin) - before
	require.LessOrEqual(t, got, 1, "the idle watch opened %d connections to the master in 3.5s", got)
}

// TestWatchFailoverInfoRefusedOpensNoConnectionPerSecond: for a user whose
// ACL refuses INFO (-info, or -@dangerous, which refuses ROLE too), the
// watch of a Sentinel failover client could not compare run_ids and
// dialled the master every second instead (a Sentinel query and a new
// connection, closed at once), per process. It now compares the address
// the master's connections arrive at (CLIENT INFO's laddr) over the
// Store's pool.
func TestWatchFailoverInfoRefusedOpensNoConnectionPerSecond(t *testing.T) {
	t.Parallel()
	for name, rules := range map[string][]any{
		"-info":       {"-info"},
		"-@dangerous": {"-@dangerous"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := startOwnSentinel(t, func(m, r *redis.Client) {
				for _, c := range []*redis.Client{m, r} {
					args := append([]any{"acl", "setuser", "app", "on", ">pw", "~*", "&*", "+@all"}, rules...)
					require.NoError(t, c.Do(context.Background(), args...).Err())
				}
			})
			b := redisstore.Must(redisstore.Options{ClientOptions: &redis.UniversalOptions{
				MasterName: "own", Addrs: []string{o.sentinel.Addr}, Username: "app", Password: "pw",
			}, Prefix: uniquePrefix(t)})
			t.Cleanup(func() { _ = b.Close() })
			require.ErrorContains(t, b.Client().Info(context.Background(), "server").Err(), "NOPERM")
			require.NoError(t, b.Set(context.Background(), "k", []byte("v"), time.Minute)) // the pool's connection
			ev := watchStore(t, b)
			ev.waitFor(t, "the watch", watching(true))
			admin := redis.NewClient(&redis.Options{Addr: o.master.Addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = admin.Close() })
			before := totalConns(t, admin)
			time.Sleep(3500 * time.Millisecond) // three of the watch's checks at least
			got := totalConns(t, admin) - before
			require.LessOrEqual(t, got, 1, "the idle watch opened %d connections to the master in 3.5s", got)
		})
	}
}
