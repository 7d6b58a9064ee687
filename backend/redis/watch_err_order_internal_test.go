package redisstore

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchErrIsSetWhenStateReportsNotWatching: when the watch reports
// state(false) (near's NearStats.Watching turns false), Err already says
// why: a caller that sees Watching false and then reads WatchError never
// gets nil because the session's error was stored after the state change.
// The state callback runs under the watch's lock, and calls Err (which
// must not take that lock: near's Store calls it from state to log the
// error), so it reads what Err returns at that very moment, with no timing
// involved.
// The server is a fake one that accepts the watch's handshake, then drops
// the connection once the watch reports it is watching.
func TestWatchErrIsSetWhenStateReportsNotWatching(t *testing.T) {
	t.Parallel()
	const prefix = "errorder:"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	drop := make(chan struct{})
	go func() {
		for first := true; ; first = false {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if !first { // the watch's retries: refused by closing at once
				_ = conn.Close()
				continue
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for { // the pipelined handshake ends with CLIENT TRACKING's prefix
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == prefix+"\r\n" {
						break
					}
				}
				_, _ = conn.Write([]byte("%0\r\n" + // HELLO's
					">3\r\n$9\r\nsubscribe\r\n$" + strconv.Itoa(len(watchChannel)) + "\r\n" + watchChannel + "\r\n:1\r\n" + // SUBSCRIBE's
					"+OK\r\n")) // CLIENT TRACKING's
				<-drop
			}()
		}
	}()

	type report struct {
		watching bool
		err      error
	}
	reports := make(chan report, 16)
	w := &watch{prefix: prefix, changed: func([]string) {}, nodes: map[string]*watchNode{}}
	w.state = func(watching bool) { // w.mu is held
		select {
		case reports <- report{watching, w.Err()}:
		default: // the retries' state(false) once the test has what it reads
		}
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { _ = w.Close() })
	w.mu.Lock()
	w.add(ln.Addr().String(), "", &redis.Options{Network: "tcp", Addr: ln.Addr().String()})
	w.mu.Unlock()

	next := func() report {
		t.Helper()
		select {
		case r := <-reports:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no state reported")
			return report{}
		}
	}
	up := next()
	require.True(t, up.watching)
	assert.NoError(t, up.err, "watching: no error")
	close(drop) // the server drops the connection
	down := next()
	require.False(t, down.watching)
	assert.Error(t, down.err, "Err says why as soon as state(false) is reported")
}
