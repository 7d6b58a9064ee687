//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecondInterruptStops: the first Ctrl-C (SIGINT) starts a graceful
// shutdown, which waits up to 10 s for the requests in flight and up to
// 20 s more for the running jobs; a second Ctrl-C is how a terminal user
// says "now". The signal context stayed registered for the whole shutdown,
// so the second (and any further) Ctrl-C was swallowed, and the process
// could only be stopped by SIGKILL from another terminal. Once the
// shutdown has begun, SIGINT and SIGTERM are the default again: the second
// one ends the process at once.
func TestSecondInterruptStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-addr", addr, "-db", filepath.Join(t.TempDir(), "catalog.db"),
		"-seed", "20", "-workers", "1", "-warm-every", "0", "-purge-every", "0")
	cmd.Env = append(os.Environ(), testWorkerEnv+"=1", "CACHE_URL=simple://", "DATABASE_URL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()

	// The port is bound before the service is ready: serving, once a
	// product is answered.
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/products/1")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "the catalog never served: %s", &stderr)
	// A request in flight keeps the graceful shutdown waiting (for its
	// 10 s): a write whose body never comes.
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	// It asks for a 100 Continue, which the server sends once the handler
	// reads the body: only then is the request surely in flight. Without
	// it the first SIGINT could come before the server had read the
	// request, and the shutdown end at once (half the runs, on a quiet
	// machine), the test seeing a clean exit.
	_, err = fmt.Fprintf(conn, "POST /api/sales HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", addr)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err, "no 100 Continue: %s", &stderr)
	require.Contains(t, line, " 100 ", "the handler did not read the body")
	_, err = fmt.Fprint(conn, "{")
	require.NoError(t, err)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	// The shutdown has begun once the listener is closed.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}, time.Minute, 50*time.Millisecond, "the first SIGINT did not start the shutdown: %s", &stderr)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the catalog exited cleanly (%v): %s", err, &stderr)
	status, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.True(t, status.Signaled() && status.Signal() == syscall.SIGINT,
		"the second SIGINT was ignored: the process ended with %v once its shutdown gave up: %s", exit, &stderr)
}
