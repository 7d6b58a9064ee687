package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShutdownPastItsWait: a graceful shutdown whose wait for the requests
// in flight (10 s, shortened here to 200 ms) ran out, because one client
// sent a write's header and never its body, returned "context deadline
// exceeded" (exit status 1) and left that client's connection open. A
// stalled client is not the service's failure: serve closes the connections
// still open, logs a warning saying how the shutdown ended, and returns nil
// (exit status 0).
func TestShutdownPastItsWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	active := make(chan struct{}, 1) // a request's header was read
	url, watch, done := serveLocal(ctx, t, Config{
		shutdownWait: 200 * time.Millisecond,
		serverHook: func(srv *http.Server) {
			srv.ConnState = func(_ net.Conn, state http.ConnState) {
				if state == http.StateActive {
					select {
					case active <- struct{}{}:
					default:
					}
				}
			}
		},
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")

	stalled, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer stalled.Close()
	// A loopback Host, so the write API takes the request (another Host is
	// refused with its body unread, and whether the server still holds the
	// connection when the shutdown looks is then a race) and waits for the
	// body that never comes.
	fmt.Fprintf(stalled, "PUT /products/1 HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", addr)
	// The request is in flight once its header was read.
	select {
	case <-active:
	case <-time.After(time.Minute):
		t.Fatal("the request was not read a minute after it was sent")
	}

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "a stalled client failed the shutdown")
	case <-time.After(time.Minute):
		t.Fatal("serve did not return a minute after its shutdown began")
	}
	assert.Regexp(t, `level=WARN msg="catalog: requests still in flight after the shutdown's wait; closing their connections" wait=200ms`,
		watch.String(), "nothing says how the shutdown ended")

	// The stalled connection is closed (not left to its 30 s ReadTimeout).
	require.NoError(t, stalled.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.Copy(io.Discard, stalled)
	ne, ok := err.(net.Error)
	assert.False(t, ok && ne.Timeout(), "the stalled connection is still open after serve returned")
}
