package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// refuser is a TCP proxy in front of Redis that, once armed with
// refuse(name, reply, n), answers the next n commands called name with the
// error reply instead of forwarding them: a server's refusal to run a
// command (LOADING, READONLY, ...), which leaves nothing applied. It counts
// the commands called name it saw, refused or forwarded.
type refuser struct {
	*testutil.Proxy
	name    atomic.Pointer[string]
	reply   atomic.Pointer[string]
	left    atomic.Int32
	attempt atomic.Int32
}

func (p *refuser) refuse(name, reply string, n int32) {
	p.name.Store(&name)
	p.reply.Store(&reply)
	p.attempt.Store(0)
	p.left.Store(n)
}

func startRefuser(t *testing.T, target string) *refuser {
	p := &refuser{}
	p.refuse("", "", 0)
	p.Proxy = testutil.StartProxy(t, target, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		if name := respCommand(chunk); name != "" && name == *p.name.Load() {
			p.attempt.Add(1)
			if p.left.Load() > 0 && p.left.Add(-1) >= 0 {
				return []byte("-" + *p.reply.Load() + "\r\n")
			}
		}
		return nil
	}})
	return p
}

// respCommand is the name, lower case, of the command b holds if b is
// exactly one RESP array of bulk strings, else "".
func respCommand(b []byte) string {
	if len(b) == 0 || b[0] != '*' {
		return ""
	}
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 || bytes.Count(b, []byte("\r\n*")) > 0 {
		return ""
	}
	rest := b[i+2:]
	j := bytes.Index(rest, []byte("\r\n"))
	if j < 1 || rest[0] != '$' {
		return ""
	}
	n, err := strconv.Atoi(string(rest[1:j]))
	if err != nil || len(rest) < j+2+n {
		return ""
	}
	return string(bytes.ToLower(rest[j+2 : j+2+n]))
}

// newRefusedStore returns a Store on the real Redis (database 9) behind a
// refuser, with the Store's own client (one retry, no back-off), and a
// client straight to Redis.
func newRefusedStore(t *testing.T, prefix string) (*redisstore.Store, *refuser, *redis.Client) {
	addr := testutil.RedisAddr(t)
	p := startRefuser(t, addr)
	b, raw := storeBehind(t, p.Addr(), addr, prefix)
	return b, p, raw
}

// refusals are error replies a server sends instead of running a command.
var refusals = []string{
	"LOADING Redis is loading the dataset in memory",
	"READONLY You can't write against a read only replica.",
	"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
	"NOREPLICAS Not enough good replicas to write.",
	"CLUSTERDOWN The cluster is down",
	"TRYAGAIN Multiple keys request during rehashing of slot",
	"ERR max number of clients reached",
	"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.",
}

// TestIncrAddRetriedAfterRefusal: Incr and Add, which go-redis must not
// retry (NoRetry, see TestIncrNotRetriedAfterLostReply), failed at the
// first refusal of a server that ran nothing (LOADING after a restart,
// READONLY from a master demoted in a failover, ...), where Get and Set on
// the same client succeeded on their retry. The Store retries them after
// such a refusal, as go-redis retries other commands (MaxRetries: one
// retry with the Store's client), and the command is applied once.
func TestIncrAddRetriedAfterRefusal(t *testing.T) {
	b, p, raw := newRefusedStore(t, "noretry-refused:")
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute))
	for i, reply := range refusals {
		t.Run(strings.SplitN(reply, " ", 2)[0], func(t *testing.T) {
			p.refuse("incrby", reply, 1)
			n, err := b.Incr(ctx, "n", 1)
			require.NoError(t, err, "Incr refused once, not retried")
			assert.Equal(t, int64(i+1), n)
			assert.EqualValues(t, 2, p.attempt.Load(), "INCRBY sent")

			key := "lease" + strconv.Itoa(i)
			p.refuse("set", reply, 1)
			added, err := b.Add(ctx, key, []byte("h"), time.Minute)
			require.NoError(t, err, "Add refused once, not retried")
			assert.True(t, added)
			assert.EqualValues(t, 2, p.attempt.Load(), "SET NX sent")

			foreign := "foreign" + strconv.Itoa(i)
			require.NoError(t, raw.RPush(ctx, b.Prefix()+foreign, "a").Err())
			p.refuse("evalsha", reply, 1)
			added, err = b.Add(ctx, foreign, []byte("h"), time.Minute)
			require.NoError(t, err, "Add's script refused once, not retried")
			assert.True(t, added)
			assert.EqualValues(t, 2, p.attempt.Load(), "EVALSHA sent")
		})
	}
	got, err := raw.Get(ctx, b.Prefix()+"n").Int()
	require.NoError(t, err)
	assert.Equal(t, len(refusals), got, "each Incr(1) counted once")
}

// TestIncrAddRefusalRetriesBounded: the retries stop at the client's
// MaxRetries (one with the Store's client): a server that keeps refusing
// makes Incr fail with its refusal after two tries. Another error reply,
// one that does not say the command did not run, is not retried.
func TestIncrAddRefusalRetriesBounded(t *testing.T) {
	b, p, _ := newRefusedStore(t, "noretry-bounded:")
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute))

	p.refuse("incrby", refusals[0], 100)
	_, err := b.Incr(ctx, "n", 1)
	require.ErrorContains(t, err, "LOADING")
	assert.EqualValues(t, 2, p.attempt.Load(), "the try and MaxRetries (1) retries")

	p.refuse("set", "ERR injected failure", 100)
	_, err = b.Add(ctx, "lease", []byte("h"), time.Minute)
	require.ErrorContains(t, err, "injected")
	assert.EqualValues(t, 1, p.attempt.Load(), "an error that does not prove the command did not run")
}

// TestIncrRefusalRetryBoundedByContext: the retry waits out the client's
// back-off unless the context ends first: Incr then returns the refusal at
// once.
func TestIncrRefusalRetryBoundedByContext(t *testing.T) {
	addr := testutil.RedisAddr(t)
	p := startRefuser(t, addr)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: p.Addr(), DB: 9, MaxRetries: 3,
		MinRetryBackoff: 5 * time.Second, MaxRetryBackoff: 5 * time.Second})
	t.Cleanup(func() { _ = client.Close() })
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: "noretry-ctx:" + time.Now().Format("150405.000000")})
	t.Cleanup(func() { _ = b.Clear(context.Background()); _ = b.Close() })
	require.NoError(t, b.Set(context.Background(), "warm", []byte("x"), time.Minute))

	p.refuse("incrby", refusals[0], 100)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var err error
	testutil.Returns(t, "Incr with a 100ms context and a 5s back-off", 2*time.Second, func() {
		_, err = b.Incr(ctx, "n", 1)
	})
	require.ErrorContains(t, err, "LOADING")
	assert.EqualValues(t, 1, p.attempt.Load())
}

// TestIncrAddRetriedAfterDialError: a dial that failed never sent the
// command, which go-redis retries ("safe to retry"), but not Incr or Add,
// which failed. The Store retries them. With MaxRetries -1 (no retries)
// the dial error is Incr's error.
func TestIncrAddRetriedAfterDialError(t *testing.T) {
	addr := testutil.RedisAddr(t)
	for _, retries := range []int{1, -1} {
		t.Run("MaxRetries="+strconv.Itoa(retries), func(t *testing.T) {
			var dials, fail atomic.Int32
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				if fail.Add(-1) >= 0 {
					return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("injected: connection refused")}
				}
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: addr, DB: 9, Dialer: dial, DialerRetries: 1,
				MaxRetries: retries, MinRetryBackoff: -1, MaxRetryBackoff: -1})
			t.Cleanup(func() { _ = client.Close() })
			b := redisstore.Must(redisstore.Options{Client: client, Prefix: "noretry-dial:" + time.Now().Format("150405.000000")})
			t.Cleanup(func() { _ = b.Clear(context.Background()); _ = b.Close() })
			ctx := context.Background()

			fail.Store(1)
			n, err := b.Incr(ctx, "n", 1)
			if retries < 0 {
				require.Error(t, err)
				assert.EqualValues(t, 1, dials.Load())
				return
			}
			require.NoError(t, err, "Incr: the dial failed, nothing was sent, yet it was not retried")
			assert.Equal(t, int64(1), n)
			assert.EqualValues(t, 2, dials.Load())

			_ = client.Close() // a fresh pool: the next command dials
			client2 := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: addr, DB: 9, Dialer: dial, DialerRetries: 1,
				MaxRetries: retries, MinRetryBackoff: -1, MaxRetryBackoff: -1})
			t.Cleanup(func() { _ = client2.Close() })
			b2 := redisstore.Must(redisstore.Options{Client: client2, Prefix: b.Prefix()})
			fail.Store(1)
			added, err := b2.Add(ctx, "lease", []byte("h"), time.Minute)
			require.NoError(t, err, "Add: the dial failed, nothing was sent, yet it was not retried")
			assert.True(t, added)
		})
	}
}

// TestIncrAddRetriedAfterPoolTimeout: with every pooled connection busy
// longer than PoolTimeout, the command was never sent: Get succeeded on
// its retry, Incr and Add failed with "connection pool timeout". They are
// retried now, and Incr counts once.
func TestIncrAddRetriedAfterPoolTimeout(t *testing.T) {
	addr := testutil.RedisAddr(t)
	client := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: addr, DB: 9, PoolSize: 1, PoolTimeout: 400 * time.Millisecond,
		MaxRetries: 1, MinRetryBackoff: -1, MaxRetryBackoff: -1})
	t.Cleanup(func() { _ = client.Close() })
	b := redisstore.Must(redisstore.Options{Client: client, Prefix: "noretry-pool:" + time.Now().Format("150405.000000")})
	t.Cleanup(func() { _ = b.Clear(context.Background()); _ = b.Close() })
	ctx := context.Background()
	// busy holds the only connection for 0.5s: the first try times out
	// waiting at 0.4s, its retry gets the connection at 0.5s.
	busy := func() chan struct{} {
		done := make(chan struct{})
		started := make(chan struct{})
		go func() {
			defer close(done)
			close(started)
			_ = client.Do(ctx, "blpop", b.Prefix()+"nothing", "0.5").Err()
		}()
		<-started
		time.Sleep(20 * time.Millisecond)
		return done
	}
	require.NoError(t, b.Set(ctx, "k", []byte("v"), time.Minute))

	done := busy()
	_, err := b.Get(ctx, "k")
	<-done
	require.NoError(t, err, "Get: the retry after the pool timeout")

	done = busy()
	n, err := b.Incr(ctx, "n", 1)
	<-done
	require.NoError(t, err, "Incr: never sent, yet not retried")
	assert.Equal(t, int64(1), n)

	done = busy()
	added, err := b.Add(ctx, "lease", []byte("h"), time.Minute)
	<-done
	require.NoError(t, err, "Add: never sent, yet not retried")
	assert.True(t, added)
}
