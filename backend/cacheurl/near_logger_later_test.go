package cacheurl_test

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/go-caching/caching/internal/testutil"
)

// TestNearLogsToTheDefaultLoggerSetAfterOpen: a near cache opened by
// cacheurl (near=1) logged to slog.Default() as it was when the URL was
// opened, so that a program that opens its cache first and calls
// slog.SetDefault later (once its configuration is read) lost the watch's
// records to the log package's standard logger. They now go to the
// default of each record's time. The server accepts the watch's
// connection and answers nothing until the test drops it, after the
// default is replaced. Not parallel: it replaces the default logger.
func TestNearLogsToTheDefaultLoggerSetAfterOpen(t *testing.T) {
	var atOpen, later testutil.LockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&atOpen, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	accepted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}

	b, err := cacheurl.Open("redis://" + ln.Addr().String() + "/0?near=1&dial_timeout=30s&read_timeout=30s&prefix=cacheurl-test-near-log-later:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.Eventually(t, func() bool { return accepted() > 0 }, 10*time.Second, time.Millisecond, "the watch connects")
	slog.SetDefault(slog.New(slog.NewTextHandler(&later, nil)))

	mu.Lock()
	for _, c := range conns {
		_ = c.Close() // the watch's handshake fails
	}
	mu.Unlock()
	require.Eventually(t, func() bool { return strings.Contains(later.String(), "near:") }, 10*time.Second, time.Millisecond,
		"the watch's failure is logged to the default logger of the moment: %q", atOpen.String())
	assert.Contains(t, later.String(), "level=WARN")
	assert.Contains(t, later.String(), "refused=false")
	assert.NotContains(t, atOpen.String(), "near:", "nothing goes to the logger replaced")
}
