package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/riverqueue/river/rivertype"
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

// assertBounded checks that lines, the lines of one failureLog written
// since start, are an outage's first line and at most one summary per
// interval since.
func assertBounded(t *testing.T, lines []string, start time.Time, what string) {
	t.Helper()
	most := 1 + int(time.Since(start)/failureLogInterval)
	assert.NotEmpty(t, lines, "%s logged nothing", what)
	assert.LessOrEqual(t, len(lines), most, "%s logged:\n%s", what, strings.Join(lines, "\n"))
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
	start := time.Now()
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
	assertBounded(t, invalidations, start, fmt.Sprintf("%d writes while the cache was down (%d invalidations)", 2*writes, 3*writes))
	assertBounded(t, reads, start, fmt.Sprintf("%d report requests while the cache was down", writes))

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

// TestOrderJobsCacheOutageLogBounded: while the cache was down, each
// order's job failed its invalidation, and River's error handler logged
// each attempt at ERROR: a client placing orders wrote the log at its
// rate. The attempts' failures are logged through a failureLog now (each
// job's row keeps its error).
func TestOrderJobsCacheOutageLogBounded(t *testing.T) {
	redis.SetLogger(&logging.VoidLogger{})
	logs := &errorLog{}
	c := startServiceWith(t, "sqlite", "redis://"+deadRedis+"/0", withWorkers(2, func(cfg *Config) { cfg.Logger = slog.New(logs) }))
	const orders = 10
	start := time.Now()
	var ids []string
	for i := range orders {
		ids = append(ids, c.enqueue("/api/orders", fmt.Sprintf(`{"user_id": %d, "product_id": 3, "quantity": 1}`, 4700+i)))
	}
	for _, id := range ids {
		c.waitTask(id, "retrying")
	}
	assertBounded(t, catalogLines(logs.take(), "catalog: job attempt failed"), start, fmt.Sprintf("%d orders' jobs failing their invalidation", orders))
}

// failingDB is a database that is down: every statement fails.
type failingDB struct{ sqlDB }

var errDatabaseDown = errors.New("database down")

func (failingDB) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, errDatabaseDown
}

func (failingDB) ExecContext(context.Context, string, ...any) (sql.Result, error) {
	return nil, errDatabaseDown
}

func (failingDB) BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error) {
	return nil, errDatabaseDown
}

// TestDatabaseOutageLogBounded: while the database was down, each request
// that needed it was logged at ERROR ("request failed"), at the rate
// clients sent them. They are logged through a failureLog now; once the
// database is back and an interval has passed, the next failure is logged
// whole again.
func TestDatabaseOutageLogBounded(t *testing.T) {
	logs := &errorLog{}
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.Logger = slog.New(logs) })
	db := c.svc.Store.db
	c.svc.Store.db = failingDB{db}
	const requests = 30
	start := time.Now()
	for i := range requests {
		c.get(fmt.Sprintf("/api/stats/%d", 4800+i), http.StatusInternalServerError)
	}
	c.svc.Store.db = db
	assertBounded(t, catalogLines(logs.take(), "request failed"), start, fmt.Sprintf("%d requests while the database was down", requests))
}

// testFailureLog returns a failureLog made by newLog, whose lines logs
// keeps, on a clock the test moves.
func testFailureLog(newLog func(*slog.Logger, slog.Level, string) *failureLog) (*failureLog, *errorLog, *testutil.Clock) {
	logs, clock := &errorLog{all: true}, testutil.NewClock()
	f := newLog(slog.New(logs), slog.LevelError, "catalog: test failed")
	f.now = clock.Now
	return f, logs, clock
}

// TestFailureLogInterval: the lines of a failureLog, on a clock the test
// moves: one at the first failure, one summary per interval with the
// failures since the line before, one at the recovery; and an outage that
// flaps (fails again within the interval after its first line) starts no
// new line until the interval has passed.
func TestFailureLogInterval(t *testing.T) {
	f, logs, clock := testFailureLog(newFailureLog)
	ctx, down := context.Background(), errors.New("down")
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

// TestQuietFailureLog: a failureLog with no successes ends an outage after
// an interval with no failure.
func TestQuietFailureLog(t *testing.T) {
	f, logs, clock := testFailureLog(newQuietFailureLog)
	ctx, down := context.Background(), errors.New("down")
	for range 5 {
		f.failed(ctx, down)
	}
	require.Len(t, logs.take(), 1)
	clock.Advance(failureLogInterval - 1)
	f.failed(ctx, down)
	assert.Empty(t, logs.take())
	clock.Advance(failureLogInterval)
	f.failed(ctx, down, "what", "x")
	got := logs.take()
	require.Len(t, got, 1, "the first line of another outage")
	assert.Contains(t, got[0], "catalog: test failed what=x earlier_failures=5 err=down next=at most one summary per 10s until 10s pass with none")
}

// TestFailureLogFlapThenHealthy: the failures of a flap (after an outage's
// recovery line, within the interval after its first line) were held for
// the next outage's first line, and lost if the service stayed healthy.
// They are told at the first success once the interval has passed.
func TestFailureLogFlapThenHealthy(t *testing.T) {
	f, logs, clock := testFailureLog(newFailureLog)
	ctx, down := context.Background(), errors.New("down")
	f.failed(ctx, down)
	clock.Advance(time.Second)
	f.ok(ctx)
	require.Len(t, logs.take(), 2, "the outage's first line, its recovery")
	for range 3 {
		clock.Advance(time.Second)
		f.failed(ctx, down)
		f.ok(ctx)
	}
	assert.Empty(t, logs.take(), "a flap within the interval")
	clock.Advance(failureLogInterval)
	f.ok(ctx)
	f.ok(ctx)
	got := logs.take()
	require.Len(t, got, 1, "the flap's failures, once")
	assert.Contains(t, got[0], "catalog: test failed: recovered earlier_failures=3 since=")
	f.failed(ctx, down)
	got = logs.take()
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "catalog: test failed err=down", "no failure told twice")
}

// TestTemplateErrorLogBounded: a page writeHTML could not render (a
// template error) was a line per request, at ERROR: a template error is a
// bug, but one that fails every render of its template (html/template
// keeps the error of escaping it), and any client asking for the page
// would write the log at its rate. It goes through a failureLog now.
func TestTemplateErrorLogBounded(t *testing.T) {
	logs := &errorLog{}
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.Logger = slog.New(logs) })
	const requests = 20
	start := time.Now()
	for range requests {
		w := httptest.NewRecorder()
		// Data without the fields the template reads: it fails to render.
		c.svc.api.writeHTML(w, httptest.NewRequest("GET", "/", nil), http.StatusOK, "page", struct{}{})
		require.Equal(t, http.StatusInternalServerError, w.Code)
	}
	lines := catalogLines(logs.take(), "catalog: page not rendered", "request failed")
	assertBounded(t, lines, start, fmt.Sprintf("%d pages not rendered", requests))
	if len(lines) > 0 {
		assert.Contains(t, lines[0], "path=/ template=page err=")
	}
}

// TestJobPanicLogBounded: each panic of a job's attempt was a line at
// ERROR, with its trace: a panic is a bug, but one that an order's input
// triggers panics each order's job, and each of its attempts, at the rate
// clients place orders. The panics go through a failureLog now, the first
// whole with its trace.
func TestJobPanicLogBounded(t *testing.T) {
	logs := &errorLog{}
	handler := (&api{}).riverConfig(Config{}, slog.New(logs)).ErrorHandler
	const attempts = 20
	start := time.Now()
	for i := range attempts {
		res := handler.HandlePanic(context.Background(), &rivertype.JobRow{ID: int64(i + 1), Kind: "catalog.order", Attempt: 1}, "boom", "goroutine 1 [running]:")
		assert.Nil(t, res, "River's own retry policy")
	}
	lines := catalogLines(logs.take(), "catalog: job attempt panicked")
	assertBounded(t, lines, start, fmt.Sprintf("%d attempts panicking", attempts))
	if len(lines) > 0 {
		assert.Contains(t, lines[0], "job_id=1 kind=catalog.order attempt=1 trace=goroutine 1 [running]: err=panic: boom")
	}
}

// TestFailureLogTellsHeldFailuresWhenCallsStop: failures held within an
// interval (an outage's after its summary, a flap's after its recovery
// line) were told only by the next failure or success of that log: if the
// calls stopped with the outage, never. A timer tells them once the
// interval has passed, once.
func TestFailureLogTellsHeldFailuresWhenCallsStop(t *testing.T) {
	ctx, down := context.Background(), errors.New("down")
	t.Run("outage", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			logs := &errorLog{all: true}
			f := newFailureLog(slog.New(logs), slog.LevelError, "catalog: test failed")
			for range 5 {
				f.failed(ctx, down)
			}
			require.Len(t, logs.take(), 1, "the first line")
			time.Sleep(failureLogInterval - time.Second)
			synctest.Wait()
			assert.Empty(t, logs.take(), "nothing within the interval")
			time.Sleep(time.Second)
			synctest.Wait()
			got := logs.take()
			require.Len(t, got, 1, "the held failures told")
			assert.Contains(t, got[0], "catalog: test failed: more failures failures=4 since=10s last_err=down")
			time.Sleep(3 * failureLogInterval)
			synctest.Wait()
			assert.Empty(t, logs.take(), "told once")
			f.ok(ctx)
			got = logs.take()
			require.Len(t, got, 1)
			assert.Contains(t, got[0], "recovered failures_not_logged=0")
		})
	})
	t.Run("flap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			logs := &errorLog{all: true}
			f := newFailureLog(slog.New(logs), slog.LevelError, "catalog: test failed")
			f.failed(ctx, down)
			f.ok(ctx)
			require.Len(t, logs.take(), 2, "the outage's first line, its recovery")
			time.Sleep(time.Second)
			for range 3 {
				f.failed(ctx, down)
				f.ok(ctx)
			}
			time.Sleep(failureLogInterval)
			synctest.Wait()
			got := logs.take()
			require.Len(t, got, 1, "the flap's failures told")
			assert.Contains(t, got[0], "catalog: test failed: more failures failures=3")
			f.ok(ctx)
			f.failed(ctx, down)
			got = logs.take()
			require.Len(t, got, 1, "no failure told twice")
			assert.Contains(t, got[0], "catalog: test failed err=down")
		})
	})
}
