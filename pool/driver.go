package pool

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"time"
)

// connector wraps a driver.Connector so that every connection it opens
// carries a jittered recycle deadline, is pinged before reuse when PrePing
// is on, and times its queries.
type connector struct {
	inner driver.Connector
	db    *DB
}

var (
	_ driver.Connector = (*connector)(nil)
	_ io.Closer        = (*connector)(nil)
)

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.inner.Connect(ctx)
	if err != nil {
		c.db.connectErrors.Add(1)
		return nil, err
	}
	c.db.opened.Add(1)
	cn := &conn{inner: inner, db: c.db}
	if r := c.db.cfg.Recycle; r > 0 {
		life := r
		if j := c.db.cfg.RecycleJitter; j > 0 {
			life -= rand.N(j)
		}
		cn.deadline = time.Now().Add(life)
	}
	return cn.withExecution(), nil
}

func (c *connector) Driver() driver.Driver { return c.inner.Driver() }

// Close closes the wrapped connector when it is an io.Closer, as
// database/sql does for an unwrapped one on (*sql.DB).Close.
func (c *connector) Close() error {
	if cl, ok := c.inner.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Reasons a connection of ours was closed, counted in Stats.Closed.
const (
	reasonNone int32 = iota
	reasonRecycle
	reasonPrePing
)

// conn wraps a driver.Conn. database/sql serializes calls on one conn, so
// its fields need no lock (closeReason is atomic because Close may follow
// from another goroutine's checkout).
type conn struct {
	inner       driver.Conn
	db          *DB
	deadline    time.Time // zero: never recycled by us
	closeReason atomic.Int32
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = execQueryConn{}
	_ driver.QueryerContext     = execQueryConn{}
	_ driver.Pinger             = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// Unwrap returns the driver's own connection, which the pool's wraps: in
// sql.Conn.Raw, a connection of a DB opened by OpenDB is the wrapper, and
// dc.(interface{ Unwrap() driver.Conn }).Unwrap() is the driver's (pgx's
// *stdlib.Conn, for instance). Use it inside Raw only, and leave the
// connection open: closing it there, or keeping it past Raw, breaks the
// pool's accounting as it would database/sql's.
func (c *conn) Unwrap() driver.Conn { return c.inner }

func (c *conn) expired() bool {
	return !c.deadline.IsZero() && !time.Now().Before(c.deadline)
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if pc, ok := c.inner.(driver.ConnPrepareContext); ok {
		s, err = pc.PrepareContext(ctx, query)
	} else {
		s, err = c.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	st := &stmt{inner: s, db: c.db, query: query}
	//lint:ignore SA1019 database/sql still uses it for the drivers that have it
	if cc, ok := s.(driver.ColumnConverter); ok {
		// database/sql converts arguments with it once the statement's
		// CheckNamedValue says ErrSkip: hidden, its own types would fail.
		return &converterStmt{stmt: st, cc: cc}, nil
	}
	return st, nil
}

func (c *conn) Close() error {
	switch c.closeReason.Load() {
	case reasonRecycle:
		c.db.closedRecycle.Add(1)
	case reasonPrePing:
		c.db.closedPrePing.Add(1)
	default:
		c.db.closedOther.Add(1)
	}
	return c.inner.Close()
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bt, ok := c.inner.(driver.ConnBeginTx); ok {
		return bt.BeginTx(ctx, opts)
	}
	if opts.ReadOnly || opts.Isolation != 0 {
		return nil, errors.New("pool: the wrapped driver supports neither read-only transactions nor isolation levels")
	}
	//lint:ignore SA1019 the fallback database/sql itself uses for old drivers
	return c.inner.Begin()
}

// exec runs query on the driver's ExecerContext, or its older
// Execer (as database/sql does: text a driver cannot prepare, such as
// several statements, runs there), timed; without either, database/sql
// prepares it through PrepareContext, which is timed too.
func (c *conn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	var (
		res driver.Result
		err error
	)
	switch ec := c.inner.(type) {
	case driver.ExecerContext:
		res, err = ec.ExecContext(ctx, query, args)
	case driver.Execer: //lint:ignore SA1019 the fallback database/sql itself uses for old drivers
		vals, verr := plainValues(args)
		if verr != nil {
			return nil, verr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err = ec.Exec(query, vals)
	default:
		return nil, driver.ErrSkip
	}
	if !errors.Is(err, driver.ErrSkip) {
		c.db.queryDone(ctx, query, args, start, err)
	}
	return res, err
}

// query is exec's counterpart for queries (QueryerContext, or the older
// Queryer).
func (c *conn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	var (
		rows driver.Rows
		err  error
	)
	switch qc := c.inner.(type) {
	case driver.QueryerContext:
		rows, err = qc.QueryContext(ctx, query, args)
	case driver.Queryer: //lint:ignore SA1019 the fallback database/sql itself uses for old drivers
		vals, verr := plainValues(args)
		if verr != nil {
			return nil, verr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows, err = qc.Query(query, vals)
	default:
		return nil, driver.ErrSkip
	}
	if err != nil {
		if !errors.Is(err, driver.ErrSkip) {
			c.db.queryDone(ctx, query, args, start, err)
		}
		return nil, err
	}
	return &timedRows{inner: rows, db: c.db, ctx: ctx, query: query, args: args, start: start}, nil
}

// withExecution returns c as the driver.Conn database/sql gets: with
// ExecContext where the driver executes text directly (ExecerContext or
// Execer), and QueryContext where it queries so, and without them where
// it does not. database/sql converts the arguments of a direct execution
// without the statement's ColumnConverter, and only tries one where the
// connection has the method: a wrapper with them always would fail the
// argument types such a driver converts itself.
func (c *conn) withExecution() driver.Conn {
	_, ec := c.inner.(driver.ExecerContext)
	_, e := c.inner.(driver.Execer) //lint:ignore SA1019 as database/sql checks
	_, qc := c.inner.(driver.QueryerContext)
	_, q := c.inner.(driver.Queryer) //lint:ignore SA1019 as database/sql checks
	switch exec, query := ec || e, qc || q; {
	case exec && query:
		return execQueryConn{c}
	case exec:
		return execConn{c}
	case query:
		return queryConn{c}
	}
	return c
}

// execConn, queryConn and execQueryConn are a conn with the direct
// execution its driver has (see withExecution).
type (
	execConn      struct{ *conn }
	queryConn     struct{ *conn }
	execQueryConn struct{ *conn }
)

func (c execConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.exec(ctx, query, args)
}

func (c queryConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.query(ctx, query, args)
}

func (c execQueryConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.exec(ctx, query, args)
}

func (c execQueryConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.query(ctx, query, args)
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nc, ok := c.inner.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// ResetSession runs when database/sql hands out a connection it had pooled:
// a connection past its jittered recycle deadline, or (with PrePing) one
// that does not answer a ping, is reported as driver.ErrBadConn, so
// database/sql closes it and takes another or dials a fresh one.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.expired() {
		c.closeReason.Store(reasonRecycle)
		return driver.ErrBadConn
	}
	if c.db.cfg.PrePing {
		if p, ok := c.inner.(driver.Pinger); ok {
			c.db.prePings.Add(1)
			if err := p.Ping(ctx); err != nil {
				c.closeReason.Store(reasonPrePing)
				return driver.ErrBadConn
			}
		}
	}
	if sr, ok := c.inner.(driver.SessionResetter); ok {
		return sr.ResetSession(ctx)
	}
	return nil
}

// IsValid runs when a connection goes back to the pool: one past its
// jittered recycle deadline is closed instead of pooled.
func (c *conn) IsValid() bool {
	if c.expired() {
		c.closeReason.Store(reasonRecycle)
		return false
	}
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// stmt wraps a prepared statement so that its executions are timed.
type stmt struct {
	inner driver.Stmt
	db    *DB
	query string
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	var (
		res driver.Result
		err error
	)
	if ec, ok := s.inner.(driver.StmtExecContext); ok {
		res, err = ec.ExecContext(ctx, args)
	} else if vals, verr := plainValues(args); verr != nil {
		return nil, verr
	} else {
		//lint:ignore SA1019 the fallback for drivers without StmtExecContext
		res, err = s.inner.Exec(vals)
	}
	s.db.queryDone(ctx, s.query, args, start, err)
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	var (
		rows driver.Rows
		err  error
	)
	if qc, ok := s.inner.(driver.StmtQueryContext); ok {
		rows, err = qc.QueryContext(ctx, args)
	} else if vals, verr := plainValues(args); verr != nil {
		return nil, verr
	} else {
		//lint:ignore SA1019 the fallback for drivers without StmtQueryContext
		rows, err = s.inner.Query(vals)
	}
	if err != nil {
		s.db.queryDone(ctx, s.query, args, start, err)
		return nil, err
	}
	return &timedRows{inner: rows, db: s.db, ctx: ctx, query: s.query, args: args, start: start}, nil
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if nc, ok := s.inner.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// converterStmt is a stmt whose driver's statement converts its own
// argument types (driver.ColumnConverter): database/sql uses the converter
// only if the statement it holds has one.
type converterStmt struct {
	*stmt
	//lint:ignore SA1019 database/sql still uses it for the drivers that have it
	cc driver.ColumnConverter
}

func (s *converterStmt) ColumnConverter(i int) driver.ValueConverter { return s.cc.ColumnConverter(i) }

func namedValues(vals []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

func plainValues(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("pool: the wrapped driver does not support named parameters")
		}
		out[i] = a.Value
	}
	return out, nil
}

// timedRows ends a query's timing when the rows are closed: a query is not
// done until its last row was read. It keeps the query's context (a
// per-call value, like database/sql's own Rows) to report to timing/.
type timedRows struct {
	inner  driver.Rows
	db     *DB
	ctx    context.Context
	query  string
	args   []driver.NamedValue
	start  time.Time
	closed bool
	err    error
}

var (
	_ driver.RowsNextResultSet              = (*timedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*timedRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*timedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*timedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*timedRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*timedRows)(nil)
)

func (r *timedRows) Columns() []string { return r.inner.Columns() }

func (r *timedRows) Next(dest []driver.Value) error {
	err := r.inner.Next(dest)
	if err != nil && err != io.EOF { //nolint:errorlint // drivers return io.EOF itself
		r.err = err
	}
	return err
}

func (r *timedRows) Close() error {
	err := r.inner.Close()
	if !r.closed {
		r.closed = true
		if err == nil {
			err = r.err
		}
		r.db.queryDone(r.ctx, r.query, r.args, r.start, err)
	}
	return err
}

// The optional Rows interfaces fall back to what database/sql does when a
// driver's rows lack them, so wrapping changes nothing a caller sees.

func (r *timedRows) HasNextResultSet() bool {
	if n, ok := r.inner.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *timedRows) NextResultSet() error {
	if n, ok := r.inner.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

var anyType = reflect.TypeFor[any]()

func (r *timedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return anyType
}

func (r *timedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *timedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *timedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *timedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
