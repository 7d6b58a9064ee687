package pool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/internal/ratelimit"
	"github.com/go-caching/caching/timing"
)

// DefaultMaxStatement is the default length, in bytes, a statement is cut
// to in the slow-query log.
const DefaultMaxStatement = 200

// DefaultSlowLogInterval and DefaultSlowLogBurst are the slow-query log's
// default rate: at most Burst lines per Interval.
const (
	DefaultSlowLogInterval = time.Second
	DefaultSlowLogBurst    = 10
)

// queriesRun counts the queries every DB of the process ran.
var queriesRun atomic.Int64

// QueriesRun returns how many queries every DB opened by OpenDB in this
// process has run (each Exec, each Query counted when its Rows are closed).
// It is safe for concurrent use.
func QueriesRun() int64 { return queriesRun.Load() }

// SQLOptions are OpenDB's settings beyond the pool Config. The zero value
// logs nothing and reports every query to timing/ as "db".
type SQLOptions struct {
	// Logger receives the slow-query log. nil: no log.
	Logger *slog.Logger
	// SlowQuery is the duration from which a query is logged (SQLAlchemy's
	// SQLALCHEMY_RECORD_QUERIES with a threshold). A query is timed from the
	// call until its Rows are closed. 0: no slow-query log.
	SlowQuery time.Duration
	// MaxStatement is the length, in bytes, the logged statement is cut to
	// after its literals were replaced by '?'. 0: DefaultMaxStatement.
	MaxStatement int
	// LogArgs adds the query's arguments to the slow-query log. Off by
	// default: arguments hold user data (emails, tokens).
	LogArgs bool
	// SlowLogInterval and SlowLogBurst rate-limit the slow-query log to
	// SlowLogBurst lines per SlowLogInterval; the lines dropped are counted
	// in the next line's "suppressed" attribute and in Stats.SlowQueries.
	// 0: DefaultSlowLogInterval, DefaultSlowLogBurst.
	SlowLogInterval time.Duration
	SlowLogBurst    int
	// TimingName is the Server-Timing metric the queries of a request are
	// folded into, as db;dur=12.5;desc="7 queries". "": "db".
	TimingName string
}

// DB is a *sql.DB opened by OpenDB over a wrapped connector. The embedded
// *sql.DB works as usual; the methods DB defines itself (Conn, QueryContext,
// QueryRowContext, ExecContext, BeginTx and their context-free forms) add an
// acquire timeout. DB is safe for concurrent use.
type DB struct {
	*sql.DB

	cfg    Config // resolved
	opts   SQLOptions
	logger *slog.Logger
	slow   *ratelimit.Limiter

	queries, slowQueries, timeouts            atomic.Int64
	opened, connectErrors, prePings           atomic.Int64
	closedRecycle, closedPrePing, closedOther atomic.Int64
	// reportedOther is the highest closed{reason="other"} Stats has
	// reported: see otherClosed for why it is kept.
	reportedOther atomic.Int64
}

// OpenDB opens a pool over the driver connector dc (pgx: stdlib.GetConnector(cfg); any
// driver: a driver.Connector) configured by cfg, which it validates, and
// opts. It dials nothing until first use. Close the DB when done.
//
// The wrapper gives database/sql what it lacks: PrePing pings a pooled
// connection before handing it out (a dead one is replaced, transparently,
// through driver.ErrBadConn), Recycle closes each connection at its own
// jittered deadline (through driver.Validator and SessionResetter), Timeout
// bounds the wait for a connection with ErrPoolTimeout, and queries are
// counted, reported to timing/ and logged when slow.
//
// In (*sql.Conn).Raw the connection is the wrapper; its method
// Unwrap() driver.Conn returns the driver's own (pgx's *stdlib.Conn):
//
//	err := c.Raw(func(dc any) error {
//		pc := dc.(interface{ Unwrap() driver.Conn }).Unwrap().(*stdlib.Conn)
//		_, err := pc.Conn().CopyFrom(ctx, table, cols, rows)
//		return err
//	})
func OpenDB(dc driver.Connector, cfg Config, opts SQLOptions) (*DB, error) {
	if dc == nil {
		return nil, errors.New("pool: OpenDB: nil connector")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.SlowQuery < 0:
		return nil, fmt.Errorf("%w: SlowQuery %v is negative (want >= 0; 0 means no slow-query log)", ErrInvalidOption, opts.SlowQuery)
	case opts.MaxStatement < 0:
		return nil, fmt.Errorf("%w: MaxStatement %d is negative (want >= 0; 0 means %d)", ErrInvalidOption, opts.MaxStatement, DefaultMaxStatement)
	case opts.SlowLogInterval < 0 || opts.SlowLogBurst < 0:
		return nil, fmt.Errorf("%w: SlowLogInterval %v and SlowLogBurst %d must be >= 0 (0 means %v and %d)", ErrInvalidOption, opts.SlowLogInterval, opts.SlowLogBurst, DefaultSlowLogInterval, DefaultSlowLogBurst)
	}
	if opts.MaxStatement == 0 {
		opts.MaxStatement = DefaultMaxStatement
	}
	if opts.SlowLogInterval == 0 {
		opts.SlowLogInterval = DefaultSlowLogInterval
	}
	if opts.SlowLogBurst == 0 {
		opts.SlowLogBurst = DefaultSlowLogBurst
	}
	if opts.TimingName == "" {
		opts.TimingName = "db"
	}
	db := &DB{cfg: cfg.Resolved(), opts: opts, logger: opts.Logger,
		slow: ratelimit.New(opts.SlowLogInterval, opts.SlowLogBurst)}
	db.DB = sql.OpenDB(&connector{inner: dc, db: db})
	if err := ApplySQL(db.DB, cfg); err != nil {
		_ = db.DB.Close()
		return nil, err
	}
	return db, nil
}

// Config returns the pool's configuration with its defaults filled in.
func (db *DB) Config() Config { return db.cfg }

// Conn takes a connection from the pool, waiting at most Config.Timeout (or
// until ctx is done, if sooner). When the wait times out it returns an error
// wrapping ErrPoolTimeout; ctx's own end is returned as ctx's error. The
// wait includes dialing a new connection and the pre-ping. Close the Conn to
// give it back.
//
// database/sql has no acquire timeout of its own: Conn gets one by acquiring
// under a context whose deadline is Timeout, then running the caller's work
// on the acquired connection under the caller's context, so that Timeout
// never cuts a running query short.
func (db *DB) Conn(ctx context.Context) (*sql.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, db.cfg.Timeout)
	defer cancel()
	c, err := db.DB.Conn(actx)
	if err == nil {
		return c, nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		db.timeouts.Add(1)
		s := db.DB.Stats()
		return nil, fmt.Errorf("%w after %v (%d of %d connections in use)", ErrPoolTimeout, db.cfg.Timeout, s.InUse, s.MaxOpenConnections)
	}
	return nil, fmt.Errorf("pool: acquire: %w", err)
}

// releaseWhenDone gives c back to the pool once the rows, row or
// transaction running on it is done: (*sql.Conn).Close waits for them, so it
// runs on a goroutine of its own.
func releaseWhenDone(c *sql.Conn) {
	go func() { _ = c.Close() }()
}

// QueryContext is (*sql.DB).QueryContext with the acquire timeout of Conn.
// The connection goes back to the pool when the Rows are closed.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	releaseWhenDone(c)
	return rows, nil
}

// Query is QueryContext with context.Background().
func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

// ExecContext is (*sql.DB).ExecContext with the acquire timeout of Conn.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ExecContext(ctx, query, args...)
}

// Exec is ExecContext with context.Background().
func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// Row is the result of QueryRowContext: a *sql.Row, or the error of the
// acquisition that kept the query from running.
type Row struct {
	row *sql.Row
	err error
}

// Scan is (*sql.Row).Scan, or returns the acquisition's error (which wraps
// ErrPoolTimeout when the pool timed out).
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// Err is (*sql.Row).Err, or the acquisition's error.
func (r *Row) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.row.Err()
}

// QueryRowContext is (*sql.DB).QueryRowContext with the acquire timeout of
// Conn. It returns a *Row (not a *sql.Row, which cannot carry an error of
// ours); the connection goes back to the pool after Scan.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	c, err := db.Conn(ctx)
	if err != nil {
		return &Row{err: err}
	}
	row := c.QueryRowContext(ctx, query, args...)
	releaseWhenDone(c)
	return &Row{row: row}
}

// QueryRow is QueryRowContext with context.Background().
func (db *DB) QueryRow(query string, args ...any) *Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// BeginTx is (*sql.DB).BeginTx with the acquire timeout of Conn. The
// connection goes back to the pool at Commit or Rollback.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.BeginTx(ctx, opts)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	releaseWhenDone(c)
	return tx, nil
}

// Begin is BeginTx with context.Background() and default options.
func (db *DB) Begin() (*sql.Tx, error) { return db.BeginTx(context.Background(), nil) }

// queryDone accounts for one finished query: counters, the request's
// Server-Timing, and the slow-query log.
func (db *DB) queryDone(ctx context.Context, query string, args []driver.NamedValue, start time.Time, err error) {
	d := time.Since(start)
	queriesRun.Add(1)
	db.queries.Add(1)
	timing.Count(ctx, db.opts.TimingName, d, "query", "queries")
	if db.opts.SlowQuery == 0 || d < db.opts.SlowQuery {
		return
	}
	db.slowQueries.Add(1)
	if db.logger == nil {
		return
	}
	ok, suppressed := db.slow.Allow(time.Now())
	if !ok {
		return
	}
	attrs := []slog.Attr{
		slog.String("statement", Strip(query, db.opts.MaxStatement)),
		slog.Duration("duration", d),
		slog.Bool("failed", err != nil),
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int64("suppressed", suppressed))
	}
	if db.opts.LogArgs {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a.Value
		}
		attrs = append(attrs, slog.Any("args", vals))
	}
	db.logger.LogAttrs(ctx, slog.LevelWarn, "pool: slow query", attrs...)
}
