package redisstore_test

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestRetryAtCallersDeadlineBlame: a write on a master of the shared
// Cluster (seen through a proxy) whose first try took most of its
// caller's deadline and failed, retried with less than that deadline's
// blamed minimum left (100ms), met the deadline on the retry.
//
//   - "refused": the first try was refused (TRYAGAIN, an answer). Whether
//     the failure counts against the master was decided before the first
//     try, when the caller's deadline was far: the retry's end at the
//     caller's deadline counted, and three such calls marked a master
//     down that answers every other call. It is decided from the last try
//     now, as for a call sent with so little time left.
//   - "lost": the first try lost its reply with its connection, a failure
//     of the master before the caller's deadline, which counts for a call
//     that is not retried. Decided from the last try alone, the call's
//     blame was excused with the retry's: a master that drops connections
//     while its callers' deadlines are short was never marked down. The
//     first try's failure counts now: three such calls mark it down.
func TestRetryAtCallersDeadlineBlame(t *testing.T) {
	calls := map[string]func(ctx context.Context, b *redisstore.Store, keys []string) error{
		"set": func(ctx context.Context, b *redisstore.Store, keys []string) error {
			return b.Set(ctx, keys[0], []byte("v"), time.Minute)
		},
		"setmany": func(ctx context.Context, b *redisstore.Store, keys []string) error {
			return b.SetMany(ctx, []backend.Item{{Key: keys[0], Value: []byte("v")}, {Key: keys[1], Value: []byte("v")}})
		},
		"delete": func(ctx context.Context, b *redisstore.Store, keys []string) error { return b.Delete(ctx, keys...) },
	}
	for _, lost := range []bool{false, true} {
		for name, call := range calls {
			if lost {
				name = "lost/" + name
			} else {
				name = "refused/" + name
			}
			t.Run(name, func(t *testing.T) {
				if lost {
					blameAtDeadline(t, nil, call, false, true)
				} else {
					blameAtDeadline(t, []byte("-TRYAGAIN Multiple keys request during rehashing of slot\r\n"), call, false, false)
				}
			})
		}
	}
}

// TestReadOnlyRetryAtCallersDeadlineBlame: a write sent alone (a Set, an
// Incr, an Add, a Delete of one key) on a master of the shared Cluster
// (seen through a proxy) whose first try took most of its caller's
// deadline and was answered READONLY, which go-redis's Cluster loop
// retries itself (the Store does not: clientRetried), met the deadline
// on that retry, sent with less than 100ms left. The Store, which saw
// the retry's failure only, blamed the master for it, as it did a
// TRYAGAIN retry's before its blame was decided from the last try: three
// such calls marked a master down that answers. go-redis's retry is
// excused now as the Store's own is.
func TestReadOnlyRetryAtCallersDeadlineBlame(t *testing.T) {
	for name, call := range map[string]func(ctx context.Context, b *redisstore.Store, keys []string) error{
		"set": func(ctx context.Context, b *redisstore.Store, keys []string) error {
			return b.Set(ctx, keys[0], []byte("v"), time.Minute)
		},
		"incr": func(ctx context.Context, b *redisstore.Store, keys []string) error {
			_, err := b.Incr(ctx, keys[0], 1)
			return err
		},
		"add": func(ctx context.Context, b *redisstore.Store, keys []string) error {
			_, err := b.Add(ctx, keys[0], []byte("v"), time.Minute)
			return err
		},
		"delete": func(ctx context.Context, b *redisstore.Store, keys []string) error { return b.Delete(ctx, keys[0]) },
	} {
		t.Run(name, func(t *testing.T) {
			blameAtDeadline(t, []byte("-READONLY You can't write against a read only replica.\r\n"), call, false, false)
		})
	}
}

// TestRetryAtCallersDeadlineBlamePerMaster: a SetMany or a Delete of keys
// of two masters of the shared Cluster (each seen through a proxy), whose
// first try on one master (A) lost its reply with its connection, and on
// the other (B) took most of the caller's deadline and was refused
// (READONLY, TRYAGAIN), retried on both with less than 100ms left: A's
// retry answered, B's met the deadline. A's lost connection made the
// whole call's failure count, B's too: three such calls marked B down,
// which answers every other call. The blame is kept per master now: a
// master whose own tries failed at the connection is blamed.
func TestRetryAtCallersDeadlineBlamePerMaster(t *testing.T) {
	calls := map[string]func(ctx context.Context, b *redisstore.Store, keys []string) error{
		"setmany": func(ctx context.Context, b *redisstore.Store, keys []string) error {
			return b.SetMany(ctx, []backend.Item{{Key: keys[0], Value: []byte("v")}, {Key: keys[1], Value: []byte("v")}})
		},
		"delete": func(ctx context.Context, b *redisstore.Store, keys []string) error { return b.Delete(ctx, keys...) },
	}
	for refusal, reply := range map[string]string{
		"readonly": "-READONLY You can't write against a read only replica.\r\n",
		"tryagain": "-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
	} {
		for name, call := range calls {
			t.Run(refusal+"/"+name, func(t *testing.T) {
				blameAtDeadline(t, []byte(reply), call, true, false)
			})
		}
	}
}

// blameAtDeadline makes three calls (call, under a deadline of 400ms) on
// keys of two masters of the shared Cluster, the first behind a proxy
// whose first try of each call on its key is slow (it leaves the retry
// less than 100ms) and then answered with refusal (nil: loses its reply
// with its connection), and every later try held past the deadline; with
// otherLost, the second behind a proxy that loses the reply of each
// call's first try on its key with its connection, and serves its retry.
// It asserts that each call was tried again, and then whether the first
// master is marked down (down).
func blameAtDeadline(t *testing.T, refusal []byte, call func(ctx context.Context, b *redisstore.Store, keys []string) error, otherLost, down bool) {
	bg := context.Background()
	c := onTwoMasters(t)
	marker := []byte(c.prefix + c.keys[0])
	var p *testutil.Proxy
	var tries atomic.Int32 // of the armed call: 0, disarmed
	var deadline atomic.Int64
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	p = testutil.StartProxy(t, c.nodes[0], testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		if !bytes.Contains(chunk, marker) {
			return nil
		}
		switch tries.Add(1) {
		case 1: // disarmed
			tries.Store(0)
		case 2: // the first try: slow, then lost or refused
			// Under 100ms left for the retry, as much as can be for
			// its redial (after a lost connection) to reach the proxy
			// in time.
			time.Sleep(time.Until(time.Unix(0, deadline.Load())) - 90*time.Millisecond)
			if refusal != nil {
				return refusal
			}
			p.DropReply(1)
		default: // the retry: held past the caller's deadline
			<-release
		}
		return nil
	}})
	dialer := dialerVia(c.nodes[0], p.Addr(), nil)
	arm := func() {}
	if otherLost {
		var other string
		other, arm = dropOnceProxy(t, c.nodes[1], []byte(c.prefix+c.keys[1]))
		first, second := dialer, dialerVia(c.nodes[1], other, nil)
		dialer = func(ctx context.Context, network, to string) (net.Conn, error) {
			if to == c.nodes[1] {
				return second(ctx, network, to)
			}
			return first(ctx, network, to)
		}
	}
	b := redisstore.Must(redisstore.Options{Prefix: c.prefix, ClientOptions: &redis.UniversalOptions{
		Addrs: c.addrs, Dialer: dialer,
	}})
	t.Cleanup(func() { _ = b.Close() })
	for range 3 { // masterDownAfter failures, were they counted
		ctx, cancel := context.WithTimeout(bg, 400*time.Millisecond)
		dl, _ := ctx.Deadline()
		deadline.Store(dl.UnixNano())
		tries.Store(1)
		arm()
		err := call(ctx, b, c.keys)
		cancel()
		require.Error(t, err)
		require.GreaterOrEqual(t, tries.Load(), int32(3), "the call was retried: %v", err)
	}
	tries.Store(0)
	_, err := b.Has(bg, c.keys[0])
	if down {
		assert.ErrorIs(t, err, backend.ErrServerDown, "the master that lost three connections is marked down")
	} else {
		assert.NoError(t, err, "the master answers: not marked down")
	}
}
