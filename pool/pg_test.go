package pool_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/go-caching/caching/pool"
	"github.com/go-caching/caching/timing"
)

// openPG opens a pool over the real PostgreSQL whose connections carry a
// unique application_name, returned so the test can count them server-side.
func openPG(t *testing.T, cfg pool.Config, opts pool.SQLOptions) (*pool.DB, string) {
	t.Helper()
	pc, err := pgx.ParseConfig(testutil.PostgresURL(t))
	require.NoError(t, err)
	app := fmt.Sprintf("pooltest_%s_%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	if len(app) > 63 {
		app = app[len(app)-63:]
	}
	pc.RuntimeParams["application_name"] = app
	db, err := pool.OpenDB(stdlib.GetConnector(*pc), cfg, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, app
}

// adminDB is a plain database/sql pool the tests use to look at and kill
// the connections of the pool under test.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", testutil.PostgresURL(t))
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func backendCount(t *testing.T, admin *sql.DB, app string) int {
	t.Helper()
	var n int
	require.NoError(t, admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n))
	return n
}

func TestLimitsHoldUnder50ConcurrentQueries(t *testing.T) {
	t.Parallel()
	db, app := openPG(t, pool.Config{Size: 3, MaxOverflow: 2, Timeout: 20 * time.Second}, pool.SQLOptions{})
	admin := adminDB(t)

	var (
		mu      sync.Mutex
		pids    = map[int]bool{}
		maxOpen int
		maxSeen int
		wg      sync.WaitGroup
		errs    = make(chan error, 50)
		release = make(chan struct{})
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			var pid int
			if err := db.QueryRowContext(t.Context(), `SELECT pg_backend_pid() FROM pg_sleep(0.05)`).Scan(&pid); err != nil {
				errs <- err
				return
			}
			s := db.Stats()
			mu.Lock()
			pids[pid] = true
			maxOpen = max(maxOpen, s.Open)
			mu.Unlock()
		}()
	}
	close(release)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// Count the server's view of the pool while the queries run.
	for watching := true; watching; {
		select {
		case <-done:
			watching = false
		default:
			maxSeen = max(maxSeen, backendCount(t, admin, app))
		}
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, len(pids), 5, "distinct backends used")
	assert.GreaterOrEqual(t, len(pids), 4, "50 concurrent queries should have opened the overflow")
	assert.LessOrEqual(t, maxOpen, 5, "open connections seen by the pool")
	assert.LessOrEqual(t, maxSeen, 5, "connections seen by the server")

	s := db.Stats()
	assert.Equal(t, 5, s.MaxOpen)
	assert.LessOrEqual(t, s.Idle, 3, "overflow connections are closed when returned")
	assert.Equal(t, int64(50), s.Queries)
	assert.Positive(t, s.Waits, "45 of the queries had to wait")
	assert.Zero(t, s.Timeouts)
	// database/sql may open a connection for a waiter that another
	// connection then served; it is closed as overflow too, so at least every
	// overflow connection that ran a query was closed for max_idle.
	assert.GreaterOrEqual(t, s.Closed["max_idle"], int64(len(pids))-int64(s.Open), "overflow connections are closed when returned")
}

func TestAcquireTimeoutIsErrPoolTimeout(t *testing.T) {
	t.Parallel()
	db, _ := openPG(t, pool.Config{Size: 1, MaxOverflow: pool.NoOverflow, Timeout: 150 * time.Millisecond}, pool.SQLOptions{})
	ctx := t.Context()
	// Dial the one connection outside the acquire timeout, which includes
	// dialing: on a loaded machine a dial can take longer than 150ms.
	require.NoError(t, db.DB.PingContext(ctx))

	t.Run("the timeout does not cut a running query", func(t *testing.T) {
		var one int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT 1 FROM pg_sleep(0.4)`).Scan(&one))
	})

	held, err := db.Conn(ctx)
	require.NoError(t, err)

	start := time.Now()
	_, err = db.QueryContext(ctx, `SELECT 1`)
	require.ErrorIs(t, err, pool.ErrPoolTimeout)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	assert.Contains(t, err.Error(), "1 of 1 connections in use")

	require.ErrorIs(t, db.QueryRowContext(ctx, `SELECT 1`).Scan(new(int)), pool.ErrPoolTimeout)
	_, err = db.ExecContext(ctx, `SELECT 1`)
	require.ErrorIs(t, err, pool.ErrPoolTimeout)
	_, err = db.BeginTx(ctx, nil)
	require.ErrorIs(t, err, pool.ErrPoolTimeout)

	t.Run("the caller's own deadline is not a pool timeout", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		_, err := db.Conn(cctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotErrorIs(t, err, pool.ErrPoolTimeout)
	})

	require.NoError(t, held.Close())
	assert.Equal(t, int64(4), db.Stats().Timeouts)
	var one int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT 1`).Scan(&one), "the pool works again once the connection is back")
}

// killBackend terminates the server process behind pid and waits until it
// is gone.
func killBackend(t *testing.T, admin *sql.DB, pid int) {
	t.Helper()
	var ok bool
	require.NoError(t, admin.QueryRow(`SELECT pg_terminate_backend($1)`, pid).Scan(&ok))
	require.True(t, ok)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n))
		return n == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestPrePingReplacesKilledConnection(t *testing.T) {
	t.Parallel()
	admin := adminDB(t)
	for _, prePing := range []bool{true, false} {
		t.Run(fmt.Sprintf("PrePing=%v", prePing), func(t *testing.T) {
			db, _ := openPG(t, pool.Config{Size: 1, MaxOverflow: pool.NoOverflow, PrePing: prePing, Timeout: 5 * time.Second}, pool.SQLOptions{})
			ctx := t.Context()
			var pid, pid2 int
			// Twice: pgx pings by itself on the first reuse of a connection
			// (and after 1s of idleness), which would hide the control's failure.
			require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
			require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
			killBackend(t, admin, pid)

			err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid2)
			if !prePing {
				// The control: without PrePing the dead connection is handed
				// out and the query fails.
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.NotEqual(t, pid, pid2)
			s := db.Stats()
			assert.Equal(t, int64(1), s.Closed["pre_ping"])
			assert.Equal(t, int64(2), s.Opened)
			assert.GreaterOrEqual(t, s.PrePings, int64(1))
		})
	}
}

// TestRecycleClosesOldConnections: a connection younger than its recycle
// deadline is reused, and one held past it is closed when it is returned.
// Each half has a pool of its own: with one pool whose connections live
// 200 to 300 ms, a slow start (a loaded machine, the race detector) aged
// the first connection past its deadline before the test reused it, and
// the test failed for a recycle the pool was right to make.
func TestRecycleClosesOldConnections(t *testing.T) {
	t.Parallel()
	t.Run("young connections are reused", func(t *testing.T) {
		db, _ := openPG(t, pool.Config{Size: 1, MaxOverflow: pool.NoOverflow, Recycle: time.Hour, RecycleJitter: time.Minute}, pool.SQLOptions{})
		ctx := t.Context()
		var pid, pid2 int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
		require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid2))
		assert.Equal(t, pid, pid2, "a young connection is reused")
		assert.Zero(t, db.Stats().Closed["recycle"])
	})
	t.Run("an old connection is closed when returned", func(t *testing.T) {
		db, _ := openPG(t, pool.Config{Size: 1, MaxOverflow: pool.NoOverflow, Recycle: 300 * time.Millisecond, RecycleJitter: 100 * time.Millisecond}, pool.SQLOptions{})
		ctx := t.Context()
		// The pool's first connection, dialed now: its deadline is at most
		// 300 ms away.
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		var pid, pid2 int
		require.NoError(t, c.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
		time.Sleep(350 * time.Millisecond) // a real lifetime against a real server
		require.NoError(t, c.Close())
		assert.Equal(t, int64(1), db.Stats().Closed["recycle"], "the connection held past its deadline")
		require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid2))
		assert.NotEqual(t, pid, pid2, "the old connection was reused")
	})
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		out = append(out, m)
	}
	return out
}

// TestSlowQueryLog: the queries that last SlowQuery or more are logged,
// without their literals or arguments. A fast query is not, which the test
// checks only where it was fast: on a loaded machine (the race detector,
// other tests) even SELECT 1 can take 200 ms, and the test failed for a
// query the pool was right to log.
func TestSlowQueryLog(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	db, _ := openPG(t, pool.Config{Size: 2}, pool.SQLOptions{
		Logger:    slog.New(slog.NewJSONHandler(&logs, nil)),
		SlowQuery: 200 * time.Millisecond,
	})
	ctx := timing.WithRecorder(t.Context())
	before := pool.QueriesRun()

	var (
		s string
		n int
	)
	require.NoError(t, db.DB.PingContext(t.Context())) // dial before the clock starts
	start := time.Now()
	require.NoError(t, db.QueryRowContext(ctx, `SELECT 'fast-secret', 1`).Scan(&s, &n))
	fast := time.Since(start) < 200*time.Millisecond // else it may be logged, rightly
	require.NoError(t, db.QueryRowContext(ctx, `SELECT 'slow-secret' FROM pg_sleep(0.25) WHERE 42 = 42`).Scan(&s))
	require.NoError(t, db.QueryRowContext(ctx, `SELECT $1::text FROM pg_sleep($2::float8)`, "arg-secret", 0.25).Scan(&s))

	// A query is timed until its Rows are closed.
	rows, err := db.QueryContext(ctx, `SELECT 'rows-secret'`)
	require.NoError(t, err)
	time.Sleep(250 * time.Millisecond) // the caller is slow to read the rows
	require.NoError(t, rows.Close())

	recs := logs.records(t)
	if !fast && len(recs) > 0 && recs[0]["statement"] == "SELECT ?, ?" {
		t.Log("the fast query took 200 ms or more here, and was logged")
		recs = recs[1:]
	}
	require.Len(t, recs, 3, "the three slow queries are logged, the fast one is not")
	assert.Equal(t, "SELECT ? FROM pg_sleep(?) WHERE ? = ?", recs[0]["statement"])
	assert.Equal(t, "SELECT $1::text FROM pg_sleep($2::float8)", recs[1]["statement"])
	assert.Equal(t, "SELECT ?", recs[2]["statement"])
	for _, r := range recs {
		assert.Equal(t, "pool: slow query", r["msg"])
		assert.GreaterOrEqual(t, r["duration"], float64(200*time.Millisecond))
	}
	assert.NotContains(t, logs.b.String(), "secret", "literals and arguments are never logged by default")

	st := db.Stats()
	assert.Equal(t, int64(4), st.Queries)
	assert.Equal(t, int64(len(logs.records(t))), st.SlowQueries, "one per slow query logged")
	assert.GreaterOrEqual(t, pool.QueriesRun()-before, int64(4))

	m := timing.Metrics(ctx)
	require.Len(t, m, 1)
	assert.Equal(t, "db", m[0].Name)
	assert.Equal(t, 4, m[0].Count)
	assert.Equal(t, "4 queries", m[0].Desc)
	assert.GreaterOrEqual(t, m[0].Duration, 750*time.Millisecond)
}

func TestSlowQueryLogArgsWhenAsked(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	db, _ := openPG(t, pool.Config{Size: 1}, pool.SQLOptions{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), SlowQuery: time.Nanosecond, LogArgs: true,
	})
	_, err := db.ExecContext(t.Context(), `SELECT $1::text`, "shown")
	require.NoError(t, err)
	recs := logs.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, []any{"shown"}, recs[0]["args"])
}

func TestStatsHandlerReportsThePool(t *testing.T) {
	t.Parallel()
	db, _ := openPG(t, pool.Config{Size: 1, MaxOverflow: pool.NoOverflow, Timeout: 100 * time.Millisecond}, pool.SQLOptions{})
	ctx := t.Context()
	require.NoError(t, db.DB.PingContext(ctx)) // dial outside the acquire timeout
	for range 3 {
		_, err := db.ExecContext(ctx, `SELECT 1`)
		require.NoError(t, err)
	}
	held, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `SELECT 1`)
	require.ErrorIs(t, err, pool.ErrPoolTimeout)

	var reg pool.Registry
	require.NoError(t, reg.RegisterSQL("postgres", db))
	require.NoError(t, reg.Register("cache", func() any { return map[string]int{"hits": 7, "misses": 2} }))
	require.ErrorIs(t, reg.Register("cache", func() any { return nil }), pool.ErrDuplicate)

	_, err = pool.NewHandler(&reg, pool.HandlerOptions{})
	require.ErrorIs(t, err, pool.ErrNoAuthorize)
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	require.NoError(t, err)

	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin/pool-stats", nil)
	req.RemoteAddr = "127.0.0.1:50000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	body := rec.Body.String()
	assert.NotContains(t, body, "postgres://")
	assert.NotContains(t, body, "127.0.0.1")

	var got struct {
		Postgres pool.Stats     `json:"postgres"`
		Cache    map[string]int `json:"cache"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	p := got.Postgres
	assert.Equal(t, "sql", p.Kind)
	assert.Equal(t, 1, p.Size)
	assert.Equal(t, 1, p.Open)
	assert.Equal(t, 1, p.InUse)
	assert.Equal(t, 0, p.Idle)
	assert.Equal(t, int64(3), p.Queries)
	assert.Equal(t, int64(1), p.Timeouts)
	assert.Equal(t, int64(1), p.Waits)
	assert.Equal(t, pool.SQLAlchemyStatus{Size: 1, CheckedIn: 0, CheckedOut: 1, Overflow: 0, Note: p.SQLAlchemy.Note}, p.SQLAlchemy)
	assert.Contains(t, p.SQLAlchemy.Note, "negative while fewer than size connections are open")
	assert.Equal(t, 7, got.Cache["hits"])

	require.NoError(t, held.Close())

	for _, tc := range []struct {
		name   string
		method string
		remote string
		header string
		want   int
	}{
		{"remote peer", http.MethodGet, "203.0.113.9:4000", "", http.StatusForbidden},
		{"loopback behind a proxy", http.MethodGet, "127.0.0.1:4000", "X-Forwarded-For", http.StatusForbidden},
		{"ipv6 loopback", http.MethodGet, "[::1]:4000", "", http.StatusOK},
		{"post", http.MethodPost, "127.0.0.1:4000", "", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://127.0.0.1/admin/pool-stats", nil)
			req.RemoteAddr = tc.remote
			if tc.header != "" {
				req.Header.Set(tc.header, "198.51.100.1")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
		})
	}
}

func TestOpenDBRejectsBadConfig(t *testing.T) {
	_, err := pool.OpenDB(stdlib.GetConnector(pgx.ConnConfig{}), pool.Config{Size: -1}, pool.SQLOptions{})
	require.ErrorIs(t, err, pool.ErrInvalidOption)
	_, err = pool.OpenDB(stdlib.GetConnector(pgx.ConnConfig{}), pool.Config{}, pool.SQLOptions{SlowQuery: -time.Second})
	require.ErrorIs(t, err, pool.ErrInvalidOption)
	_, err = pool.OpenDB(nil, pool.Config{}, pool.SQLOptions{})
	require.Error(t, err)
}
