package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerTimeouts: serve's server set ReadHeaderTimeout only: a request
// whose body never came and an idle keep-alive connection held their
// connection for good. It bounds the whole request, the response and the
// idle time too.
func TestServerTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	assert.Equal(t, readHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Equal(t, readTimeout, srv.ReadTimeout)
	assert.Equal(t, writeTimeout, srv.WriteTimeout)
	assert.Equal(t, idleTimeout, srv.IdleTimeout)
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout} {
		assert.Positive(t, d, name)
	}
	assert.LessOrEqual(t, srv.ReadHeaderTimeout, srv.ReadTimeout)
}

// TestServeDropsStalledConnections: a client that sends a write's header
// and never the body it announced, and one that keeps a keep-alive
// connection idle, lose their connection once the server's timeouts pass
// (shortened here to 300 ms); 10 s is the bound for a hang.
func TestServeDropsStalledConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, _, done := serveLocal(ctx, t, Config{
		serverHook: func(srv *http.Server) {
			srv.ReadTimeout, srv.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
		},
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")

	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	fmt.Fprintf(idle, "GET /products/1 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	stalled, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer stalled.Close()
	fmt.Fprintf(stalled, "PUT /products/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")

	var wg sync.WaitGroup
	for name, c := range map[string]struct {
		conn net.Conn
		r    io.Reader
	}{"idle keep-alive": {idle, br}, "body never sent": {stalled, stalled}} {
		wg.Go(func() {
			require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			start := time.Now()
			_, err := io.Copy(io.Discard, c.r) // what the server answers, if anything, up to its close
			ne, ok := err.(net.Error)
			assert.False(t, ok && ne.Timeout(), "%s: the connection is still held open after %v", name, time.Since(start).Round(time.Second))
		})
	}
	wg.Wait()
	cancel()
	require.NoError(t, <-done)
}
