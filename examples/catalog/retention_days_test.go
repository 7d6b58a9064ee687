package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetentionDaysBounded: -retention-days was multiplied into a
// time.Duration, which wraps past 106,751 days: -retention-days 213504
// (585 years), meant as "keep about everything", was a retention of about
// 25 minutes, and the purge that runs at start deleted every sale older
// than that. A number of days past what a Duration holds is refused with
// an error that says what to use, and nothing is touched.
func TestRetentionDaysBounded(t *testing.T) {
	for _, days := range []int{0, 1, 730, int(maxRetentionDays)} {
		d, err := retentionOf(days)
		require.NoError(t, err, days)
		assert.Equal(t, time.Duration(days)*24*time.Hour, d)
		assert.GreaterOrEqual(t, d, time.Duration(0), "%d days wrapped", days)
	}
	for _, days := range []int{-1, int(maxRetentionDays) + 1, 213504, 200000} {
		_, err := retentionOf(days)
		require.Error(t, err, days)
		assert.Contains(t, err.Error(), "-retention-days")
		assert.Contains(t, err.Error(), "-purge-every 0")
	}

	// The process, on a database with sales.
	const seed = 50
	path := filepath.Join(t.TempDir(), "catalog.db")
	svc, err := NewService(context.Background(), Config{SQLitePath: path, Seed: seed, CacheURL: "simple://",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, svc.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-addr", "127.0.0.1:0", "-db", path, "-seed", "50", "-workers", "1",
		"-warm-every", "0", "-retention-days", "213504")
	cmd.Env = append(os.Environ(), testWorkerEnv+"=1", "CACHE_URL=simple://", "DATABASE_URL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the catalog ran with -retention-days 213504 (%v): %s", err, stderr.String())
	assert.Equal(t, 2, exit.ExitCode(), "%s", stderr.String())
	assert.Contains(t, stderr.String(), "catalog: -retention-days 213504: want 1 to 106751")

	svc, err = NewService(context.Background(), Config{SQLitePath: path, CacheURL: "simple://",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer svc.Close()
	var sales int
	require.NoError(t, svc.Store.queryOne(context.Background(), `SELECT COUNT(*) FROM sales`, nil, &sales))
	assert.Equal(t, 4*seed, sales, "-retention-days 213504 (585 years) purged the sales")
}
