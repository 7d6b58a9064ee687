package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// stuckArgs is a job that ignores its context: it runs until the test
// releases it.
type stuckArgs struct{}

func (stuckArgs) Kind() string { return "test.stuck" }

// TestWorkerStopPastItsWait: a -worker process whose graceful stop waited
// its 20 s for a job that ignored its cancelled context ended with
// "catalog: context deadline exceeded", exit status 1, where serve, whose
// wait for the requests in flight ran out, logs a warning and ends with 0
// (TestShutdownPastItsWait). The job is not lost: its row stays "running",
// and River gives it to another worker (rescueStuckAfter). Now the worker
// ends as serve does: a warning, and no error.
func TestWorkerStopPastItsWait(t *testing.T) {
	dir := t.TempDir()
	cacheURL := "file://" + dir + "/cache"
	var dbPath string
	web := startServiceWith(t, "sqlite", cacheURL, func(cfg *Config) {
		cfg.Workers, cfg.WarmEvery, cfg.PurgeEvery = 0, 0, 0
		dbPath = cfg.SQLitePath
	})

	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { close(release) })
	var log testutil.LockedBuffer
	cfg := Config{
		SQLitePath: dbPath,
		CacheURL:   cacheURL,
		Seed:       testSeed,
		Logger:     slog.New(slog.NewTextHandler(&log, nil)),
		stopWait:   50 * time.Millisecond,
	}
	withWorkers(1, func(cfg *Config) {
		cfg.addWorkers = func(w *river.Workers) {
			river.AddWorker(w, river.WorkFunc(func(ctx context.Context, job *river.Job[stuckArgs]) error {
				once.Do(func() { close(started) })
				<-release // not ctx.Done()
				return nil
			}))
		}
	})(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- work(ctx, cfg) }()

	_, err := web.svc.api.queue.client.Insert(context.Background(), stuckArgs{}, nil)
	require.NoError(t, err)
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the worker did not start the job within a minute")
	}
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "a job past the stop's wait failed the worker's stop (exit status 1)")
	case <-time.After(time.Minute):
		t.Fatal("the worker did not stop a minute after it was told to")
	}
	assert.Regexp(t, `level=WARN msg="catalog: jobs still running after the stop's wait; leaving them to another worker" wait=100ms rescued_after=5m0s`,
		log.String(), "nothing says how the stop ended")
}

// TestWorkerLogsCloseError: a -worker process whose Service failed to
// close once it was told to stop ended "catalog: cache flush failed", exit
// status 1, where serve logs the failure and ends with 0
// (TestServeLogsCloseError). A supervisor reads a non-zero status after the
// stop it asked for as a crash (systemd marks the unit failed), while the
// jobs had stopped and nothing was lost that the status could bring back.
// Now the worker ends as serve does: the error logged, and no error.
func TestWorkerLogsCloseError(t *testing.T) {
	var log testutil.LockedBuffer
	ready := make(chan struct{})
	cfg := Config{
		SQLitePath: filepath.Join(t.TempDir(), "catalog.db"),
		CacheURL:   "file://" + t.TempDir(),
		Seed:       10,
		Logger:     slog.New(slog.NewTextHandler(&log, nil)),
		serviceHook: func(svc *Service) {
			svc.closers = append(svc.closers, func() error { return errors.New("cache flush failed") })
			close(ready)
		},
	}
	withWorkers(1, nil)(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- work(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("work returned before it started: %v", err)
	}
	cancel()
	require.NoError(t, <-done, "a failed Close after the stop failed the worker (exit status 1)")
	assert.Regexp(t, `level=ERROR msg="catalog: closing the service" err="cache flush failed"`, log.String())
}
