package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// TestTaskErrorLeaksInternals: GET /api/tasks/{id} is open to any client
// (task ids are sequential), and its "error" was the raw error of the job's
// last attempt: the cache backend's address (and, for a database error,
// the driver's text). Every error path of the API answers "internal error"
// and logs the details, except this one did. It shows a fixed message now,
// and the log has the error.
func TestTaskErrorLeaksInternals(t *testing.T) {
	redis := miniredis.RunT(t)
	addr := redis.Addr()
	var logs testutil.LockedBuffer
	c := startServiceWith(t, "sqlite", "redis://"+addr+"/0", withWorkers(2, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}))
	redis.Close() // the cache server is gone
	id := c.enqueue("/api/orders", `{"user_id": 4343, "product_id": 3, "quantity": 2}`)
	retrying := c.waitTask(id, "retrying")
	_, port, _ := strings.Cut(addr, ":")
	assert.NotContains(t, retrying.Error, port, "the task's error shows the cache server's address to any client")
	assert.Equal(t, taskErrInvalidation, retrying.Error)
	assert.Contains(t, logs.String(), port, "the attempt's error is not in the log")
	assert.Contains(t, logs.String(), "catalog: job attempt failed")
}

// TestPublicTaskError: a task shows one of a few fixed messages, whatever
// the text River kept.
func TestPublicTaskError(t *testing.T) {
	for stored, want := range map[string]string{
		(&jobError{taskErrInvalidation, errNotFound}).Error():                                   taskErrInvalidation,
		taskError(taskErrDatabase, fmt.Errorf("order 3: %w", context.DeadlineExceeded)).Error(): taskErrTimedOut,
		taskErrDatabase + ": order 3: dial tcp 10.0.0.5:5432: connect: connection refused":      taskErrDatabase,
		taskErrTimedOut + ": order 3: context deadline exceeded":                                taskErrTimedOut,
		taskErrReport + ": report of user 7, 2026-11: redisstore: get: i/o timeout":             taskErrReport,
		"JobCancelError: " + errProductGone.Error() + ": order 3":                               errProductGone.Error(),
		"JobCancelError: " + errPriceUnknown.Error() + ": order 3":                              errPriceUnknown.Error(),
		"JobCancelError: " + errOrderTooLarge.Error() + ": order 3":                             errOrderTooLarge.Error(),
		// River's own texts, and the raw errors the version before kept.
		"Stuck job rescued by JobRescuer":                                                            taskErrFailed,
		"runtime error: invalid memory address or nil pointer dereference":                           taskErrFailed,
		"order 3: sale 9 recorded, invalidation failed: dial tcp 127.0.0.1:6379: connection refused": taskErrFailed,
		"JobCancelError: order 3: " + errProductGone.Error():                                         errProductGone.Error(), // as the version before kept it
		"JobCancelError: order 3: " + errPriceUnknown.Error():                                        errPriceUnknown.Error(),
		"JobCancelError: order 3: not found":                                                         taskErrFailed,
		taskErrDatabase + "x":                                                                        taskErrFailed,
		"":                                                                                           taskErrFailed,
	} {
		assert.Equal(t, want, publicTaskError(stored), "%q", stored)
	}
}
