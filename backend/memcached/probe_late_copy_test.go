//go:build unix

package memcached

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a probe get after an error reply goes on the connection
// its version command brought back in step (see probeConn.inStep), which
// wrote it without the check every other request on a used connection
// starts with (see healthConn.Write). A copy of a reply that came after
// the VERSION line, in a write of its own (here END, a miss), was read as
// the next probe get's reply, and a proxy whose upstreams are all dead
// marked up. The get is now checked as any other: it goes on a new
// connection.
func TestProbeGetAfterVersionReadsNoLateCopy(t *testing.T) {
	sendLate := make(chan struct{})
	var dials atomic.Int64
	addr := fakeServer(t, func(c net.Conn) {
		dials.Add(1)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch f := strings.Fields(line); {
			case len(f) == 2 && f[0] == "get":
				_, err = c.Write([]byte("SERVER_ERROR upstream down\r\n"))
			case len(f) == 1 && f[0] == "version":
				if _, err = c.Write([]byte("VERSION 1.6.0-fake\r\n")); err == nil {
					<-sendLate
					_, err = c.Write([]byte("END\r\n")) // a late copy
				}
			default:
				_, err = c.Write([]byte("ERROR\r\n"))
			}
			if err != nil {
				return
			}
		}
	})
	s, _ := fakeStore(t, addr)
	h := s.servers.byAddr[addr]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pc probeConn
	defer pc.close()
	line, err := s.probeGet(ctx, h, &pc, s.probeKey+"1")
	require.NoError(t, err)
	require.Equal(t, "SERVER_ERROR upstream down\r\n", string(line))
	require.NotNil(t, pc.c, "the connection kept after the version's reply")
	close(sendLate)
	require.Eventually(t, func() bool { return pendingBytes(t, s) }, 10*time.Second, time.Millisecond, "the late copy on the socket")

	line, err = s.probeGet(ctx, h, &pc, s.probeKey+"2")
	require.NoError(t, err)
	assert.Equal(t, "SERVER_ERROR upstream down\r\n", string(line), "the second probe get's reply: the late copy read as it")
	assert.Equal(t, int64(2), dials.Load(), "dials")
}
