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

// TestNearWatchFailureIsLogged: the near cache near=1 puts in front of a
// Redis store had no logger, so that a watch the server refuses (an ACL
// without CLIENT TRACKING), or that cannot connect, left the near cache
// unused without a record. It now logs to slog.Default(). Not parallel: it
// replaces the default logger.
func TestNearWatchFailureIsLogged(t *testing.T) {
	var logs testutil.LockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	b, err := cacheurl.Open("redis://127.0.0.1:1/0?near=1&dial_timeout=100ms&prefix=cacheurl-test-near-log:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "near:") }, 10*time.Second, 10*time.Millisecond,
		"the watch's failure is logged")
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "refused=false")
}
