package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServiceCloseEndsFailureLogTimers: a failureLog holding failures arms
// a timer that tells them once the interval has passed (flush). Service.Close
// left those timers armed: up to an interval after Close, the closed
// service still wrote to its logger, and its failures held at shutdown were
// told by nobody if the process exited first. Close now tells them at once
// and stops the timers: nothing is written after it.
func TestServiceCloseEndsFailureLogTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, down := context.Background(), errors.New("down")
		logs := &errorLog{all: true}
		svc, err := NewService(ctx, Config{
			CacheURL:   "simple://",
			Seed:       testSeed,
			SQLitePath: filepath.Join(t.TempDir(), "catalog.db"),
			Logger:     slog.New(logs),
		})
		require.NoError(t, err)
		for range 3 {
			svc.api.requests.failed(ctx, down)
		}
		logs.take() // the start's, and the outage's first line
		require.NoError(t, svc.Close())
		got := logs.take()
		if assert.Len(t, got, 1, "the failures held, told by Close") {
			assert.Contains(t, got[0], "request failed: more failures failures=2")
		}
		time.Sleep(2 * failureLogInterval)
		synctest.Wait()
		assert.Empty(t, logs.take(), "nothing written after Close")
	})
}
