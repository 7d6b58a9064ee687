package cacheurl

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/testutil"
)

// TestDefaultHandlerKeepsAttrsGroupsAndLevel: the handler of a cacheurl
// near cache's Logger hands each record to the default handler of the
// moment with the attributes and groups added to the Logger, asks it
// whether a level is enabled, and drops (does not loop on) a record when
// the default is itself. Not parallel: it replaces the default logger.
func TestDefaultHandlerKeepsAttrsGroupsAndLevel(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	log := slog.New(defaultHandler{}).With("a", 1).WithGroup("g")

	var logs testutil.LockedBuffer
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	log.Info("m", "b", 2)
	log.Debug("not enabled")
	assert.Contains(t, logs.String(), "msg=m a=1 g.b=2")
	assert.NotContains(t, logs.String(), "not enabled")
	assert.False(t, log.Enabled(context.Background(), slog.LevelDebug))

	slog.SetDefault(slog.New(defaultHandler{}))
	log.Warn("dropped") // returns: no loop
	assert.False(t, log.Enabled(context.Background(), slog.LevelError))
}
