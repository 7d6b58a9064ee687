package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
)

// reply is an error reply of the server, as go-redis reports one.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

// TestNotRun: the failures after which Incr and Add are sent again are
// those where the command provably did not run; never an I/O error or a
// timeout once it may have been written, nor another error reply.
func TestNotRun(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{redis.ErrPoolTimeout, true},
		{fmt.Errorf("wrapped: %w", redis.ErrPoolTimeout), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("%w: %w", context.DeadlineExceeded, &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}), true},
		{reply("LOADING Redis is loading the dataset in memory"), true},
		{reply("READONLY You can't write against a read only replica."), true},
		{reply("MASTERDOWN Link with MASTER is down"), true},
		{reply("NOREPLICAS Not enough good replicas to write."), true},
		{reply("CLUSTERDOWN The cluster is down"), true},
		{reply("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{reply("ERR max number of clients reached"), true},
		{reply("BUSY Redis is busy running a script."), true},
		{fmt.Errorf("redisstore: add: %w", reply("READONLY You can't write against a read only replica.")), true},

		{nil, false},
		{io.EOF, false},
		{io.ErrUnexpectedEOF, false},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, false},
		{&net.OpError{Op: "write", Net: "tcp", Err: errors.New("broken pipe")}, false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{redis.ErrClosed, false},
		{reply("BUSYKEY Target key name already exists."), false},
		{reply("OOM command not allowed when used memory > 'maxmemory'."), false},
		{reply("ERR value is not an integer or out of range"), false},
		{reply("NOSCRIPT No matching script. Please use EVAL."), false},
		{errors.New("LOADING not a server's reply"), false},
	} {
		assert.Equal(t, c.want, notRun(c.err), "%v", c.err)
	}
}

// TestRetryBackoff: the pause before a retry, as go-redis's: none without
// a minimum back-off (every client the Store builds), else from the
// minimum to the maximum.
func TestRetryBackoff(t *testing.T) {
	assert.Zero(t, retryPolicy{retries: 1}.backoff(1))
	assert.Zero(t, retryPolicy{retries: 1, minBackoff: -1, maxBackoff: -1}.backoff(1))
	p := retryPolicy{retries: 3, minBackoff: 8 * time.Millisecond, maxBackoff: 512 * time.Millisecond}
	for attempt := 1; attempt <= 10; attempt++ {
		d := p.backoff(attempt)
		assert.GreaterOrEqual(t, d, p.minBackoff)
		assert.LessOrEqual(t, d, p.maxBackoff)
	}
}

// TestRetryPolicyOf: the Store retries as many times as the client would:
// its MaxRetries after go-redis's defaults, a Cluster's MaxRedirects.
func TestRetryPolicyOf(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	assert.Equal(t, 3, retryPolicyOf(c).retries, "go-redis's default")
	n := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, ContextTimeoutEnabled: true})
	defer n.Close()
	assert.Equal(t, 0, retryPolicyOf(n).retries)
	cc := redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: true, Addrs: []string{"127.0.0.1:1"}, MaxRedirects: 2})
	defer cc.Close()
	assert.Equal(t, 2, retryPolicyOf(cc).retries)
	b, err := New(Options{URL: "redis://127.0.0.1:1/9"})
	assert.NoError(t, err)
	defer b.Close()
	assert.Equal(t, retryPolicy{retries: DefaultMaxRetries}, b.retry, "the Store's client: one retry, no back-off")
}
