package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// deadRedis is an address no Redis listens on: a dial is refused.
const deadRedis = "127.0.0.1:1"

// switchable is a TCP forwarder on loopback to the address in target,
// read at each connection: the cache a service was started on goes down
// (a dead address) and comes back (the real Redis) under one address.
type switchable struct {
	ln     net.Listener
	target atomic.Pointer[string]
}

func startSwitchable(t *testing.T, target string) *switchable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &switchable{ln: ln}
	s.target.Store(&target)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.forward(c)
		}
	}()
	return s
}

// forward joins c to a connection to the target, or closes it when the
// target refuses it.
func (s *switchable) forward(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", *s.target.Load())
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
	_, _ = io.Copy(c, up)
}

// catalogLines returns the lines of msgs the catalog wrote (not the
// library's, bounded by its own LogInterval) that start with one of
// prefixes.
func catalogLines(msgs []string, prefixes ...string) []string {
	var out []string
	for _, m := range msgs {
		for _, p := range prefixes {
			if strings.HasPrefix(m, p) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// TestCacheOutageLogBounded: while the cache was down, each write logged
// the failure of its invalidations at ERROR (a PUT, two lines) and each
// report request warned that the kept report was unreadable: a client
// sending writes or report requests wrote the log at its own rate. Now an
// outage logs its first failure, a summary per interval (none here: the
// requests take less than one) and one recovery line at the first success
// after the cache is back.
func TestCacheOutageLogBounded(t *testing.T) {
	redis.SetLogger(&logging.VoidLogger{}) // a line per failed dial otherwise
	logs := &errorLog{all: true}
	cache := startSwitchable(t, deadRedis)
	c := startServiceWith(t, "sqlite", "redis://"+cache.ln.Addr().String()+"/0?prefix="+uniqueName("catalog-outage-log:"),
		func(cfg *Config) { cfg.Logger = slog.New(logs) })
	const writes = 20
	for i := range writes {
		r := c.do("PUT", "/products/7", fmt.Sprintf(`{"name": "Outage %d"}`, i))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r = c.do("POST", "/api/sales", `{"user_id": 4646, "amount": 2}`)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	}
	month := c.svc.Store.now().UTC().Format(monthLayout)
	for range writes {
		r := c.do("POST", "/api/reports", `{"user_id": 4646, "month": "`+month+`"}`)
		require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, r.status, "%s", r.body)
	}
	msgs := logs.take()
	invalidations := catalogLines(msgs, "catalog: invalidation failed", "invalidate ")
	reads := catalogLines(msgs, "catalog: kept report unreadable")
	assert.Len(t, invalidations, 1, "%d writes while the cache was down (%d invalidations) logged:\n%s", 2*writes, 3*writes, strings.Join(invalidations, "\n"))
	assert.Len(t, reads, 1, "%d report requests while the cache was down logged:\n%s", writes, strings.Join(reads, "\n"))

	t.Run("recovery", func(t *testing.T) {
		addr := testutil.RedisAddr(t)
		cache.target.Store(&addr)
		// Writes until one's invalidation succeeds: the breaker lets a
		// probe through after its cool-down.
		i := 0
		waitFor(t, func() string {
			i++
			r := c.do("PUT", "/products/7", fmt.Sprintf(`{"name": "Back %d"}`, i))
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			if len(catalogLines(logs.take(), "catalog: invalidation failed: recovered")) == 0 {
				return "a line that the invalidations recovered"
			}
			return ""
		})
		for range writes {
			i++
			c.do("PUT", "/products/7", fmt.Sprintf(`{"name": "Back %d"}`, i))
		}
		assert.Empty(t, catalogLines(logs.take(), "catalog: invalidation failed"), "more lines once recovered")
	})
}

// TestFailureLogInterval: the lines of a failureLog, on a clock the test
// moves: one at the first failure, one summary per interval with the
// failures since the line before, one at the recovery; and an outage that
// flaps (fails again within the interval after its first line) starts no
// new line until the interval has passed.
func TestFailureLogInterval(t *testing.T) {
	logs := &errorLog{all: true}
	clock := testutil.NewClock()
	f := newFailureLog(slog.New(logs), slog.LevelError, "catalog: test failed")
	f.now = clock.Now
	ctx := context.Background()
	down := errors.New("down")
	lines := func() []string { t.Helper(); return logs.take() }

	for range 100 {
		f.failed(ctx, down, "what", "x")
	}
	got := lines()
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "catalog: test failed what=x err=down")

	clock.Advance(failureLogInterval - 1)
	f.failed(ctx, down)
	assert.Empty(t, lines(), "a summary within the interval")
	clock.Advance(1)
	f.failed(ctx, down)
	got = lines()
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "catalog: test failed: more failures failures=101 since=10s last_err=down")

	f.failed(ctx, down)
	f.ok(ctx)
	f.ok(ctx)
	got = lines()
	require.Len(t, got, 1, "one recovery line")
	assert.Contains(t, got[0], "catalog: test failed: recovered failures_not_logged=1 outage=10s")

	// Flapping: an outage logged (and recovered) starts no new line
	// within the interval after its first line.
	clock.Advance(failureLogInterval)
	f.failed(ctx, down)
	f.ok(ctx)
	require.Len(t, lines(), 2, "a new outage's first line, its recovery")
	for range 3 {
		f.failed(ctx, down)
		f.ok(ctx)
	}
	assert.Empty(t, lines())
	clock.Advance(failureLogInterval)
	f.failed(ctx, down)
	got = lines()
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "catalog: test failed earlier_failures=3 err=down")
}
