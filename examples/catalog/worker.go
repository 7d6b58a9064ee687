package main

// worker.go: the process layouts. By default one process serves HTTP and
// works the jobs. In production, web processes (-workers 0: they only
// enqueue) and worker processes (-worker: no HTTP) share the database, where
// the jobs are, and the cache, which the jobs fill and invalidate.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// configHook, when set, adjusts the Config that main builds from the flags:
// the tests' worker processes shorten the polling and add kinds of jobs.
var configHook func(*Config)

// checkLayout refuses a layout in which the jobs and the HTTP requests would
// use different caches: a worker process (worker) or a web process that
// leaves the jobs to others (cfg.Workers 0) on an in-process cache, where
// the web processes would never see what the jobs invalidate or warm.
func checkLayout(cfg Config, worker bool) error {
	if worker && cfg.Workers < 1 {
		return fmt.Errorf("-worker with -workers %d: a worker process needs 1 or more", cfg.Workers)
	}
	scheme, _, _ := strings.Cut(cfg.CacheURL, "://")
	// A scheme is case-insensitive: cacheurl opens SIMPLE:// as simple://.
	if (worker || cfg.Workers == 0) && (cfg.CacheURL == "" || strings.EqualFold(scheme, "simple")) {
		return fmt.Errorf("jobs worked in other processes need a cache they share with this one: " +
			"CACHE_URL is simple:// (this process's memory), where the web processes would never see what the jobs invalidate; " +
			"use redis://, memcached:// or file:// (one host)")
	}
	return nil
}

// work runs the service's jobs until ctx is done, with no HTTP server. The
// stop ends well (nil, exit status 0) even where closing the Service fails:
// that is logged, as serve does (closeService).
func work(ctx context.Context, cfg Config) error {
	if err := checkLayout(cfg, true); err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	svc, err := NewService(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeService(svc, cfg.Logger) // logged: the stop ends well, as serve's
	if cfg.serviceHook != nil {
		cfg.serviceHook(svc)
	}
	cfg.Logger.Info("catalog: working jobs", "workers", cfg.Workers)
	<-ctx.Done()
	return nil
}
