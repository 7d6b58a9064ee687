package cacheurl_test

import (
	"log/slog"
	"strings"
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

	srv := testutil.StartProxy(t, "", testutil.ProxyOptions{}) // a server that never answers

	b, err := cacheurl.Open("redis://" + srv.Addr() + "/0?near=1&dial_timeout=30s&read_timeout=30s&prefix=cacheurl-test-near-log-later:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.Eventually(t, func() bool { return srv.Accepted() > 0 }, 10*time.Second, time.Millisecond, "the watch connects")
	slog.SetDefault(slog.New(slog.NewTextHandler(&later, nil)))

	srv.DropAll() // the watch's handshake fails
	require.Eventually(t, func() bool { return strings.Contains(later.String(), "near:") }, 10*time.Second, time.Millisecond,
		"the watch's failure is logged to the default logger of the moment: %q", atOpen.String())
	assert.Contains(t, later.String(), "level=WARN")
	assert.Contains(t, later.String(), "refused=false")
	assert.NotContains(t, atOpen.String(), "near:", "nothing goes to the logger replaced")
}
