//go:build unix

package memcached

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: Clear with Options.FlushOnClear sends flush_all again, on
// another connection, after a pooled connection the server had closed
// failed it (nothing sent), and did so after its caller's context had
// ended: the try, on a server that hangs, waited Options.Timeout for a
// caller gone. It now stops trying once the context is done, as a Get,
// Set or Delete does, with an error wrapping the context's.
func TestFlushAllNotTriedAgainOnceTheContextIsDone(t *testing.T) {
	var conns atomic.Int32
	addr := fakeServer(t, func(c net.Conn) {
		first := conns.Add(1) == 1
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply := "END\r\n"
			if strings.HasPrefix(line, "flush_all") {
				reply = "OK\r\n"
			}
			if _, err := c.Write([]byte(reply)); err != nil || first {
				return // the first connection closed while idle in the pool
			}
		}
	})
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 10 * time.Second, FlushOnClear: true})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	dials := countDials(s)
	_, err = s.Get(context.Background(), "k") // a pooled connection, then closed by the server
	require.Error(t, err)
	require.Eventually(t, func() bool {
		closed, open := peerClosed(t, s)
		return open == 1 && closed == 1
	}, 10*time.Second, 10*time.Millisecond, "the pooled connection closed by the server")

	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &armedCtx{Context: parent, cancel: cancel} // ends after Clear's own look, before a retry
	ctx.armed.Store(true)
	err = s.Clear(ctx)
	require.Error(t, err)
	t.Log(err)
	assert.Equal(t, int64(1), dials.Load(), "dials: flush_all not tried on a new connection once the caller left")
	assert.ErrorIs(t, err, context.Canceled)
	assert.True(t, errors.Is(err, errServerClosedConn), "the try's error: %v", err)
	assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
}
