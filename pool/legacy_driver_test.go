package pool_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"testing"

	"github.com/go-caching/caching/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// legacyMoney is an argument type only the driver's ColumnConverter knows.
type legacyMoney struct{ cents int64 }

type legacyConv struct{}

func (legacyConv) ConvertValue(v any) (driver.Value, error) {
	if m, ok := v.(legacyMoney); ok {
		return m.cents, nil
	}
	return driver.DefaultParameterConverter.ConvertValue(v)
}

type legacyStmt struct{}

func (legacyStmt) Close() error                              { return nil }
func (legacyStmt) NumInput() int                             { return 1 }
func (legacyStmt) ColumnConverter(int) driver.ValueConverter { return legacyConv{} }
func (legacyStmt) Exec(args []driver.Value) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}
func (legacyStmt) Query(args []driver.Value) (driver.Rows, error) { return legacyRows{}, nil }

type legacyRows struct{}

func (legacyRows) Columns() []string              { return nil }
func (legacyRows) Close() error                   { return nil }
func (legacyRows) Next(dest []driver.Value) error { return io.EOF }

type legacyConn struct{}

func (legacyConn) Prepare(string) (driver.Stmt, error) { return legacyStmt{}, nil }
func (legacyConn) Close() error                        { return nil }
func (legacyConn) Begin() (driver.Tx, error)           { return nil, fmt.Errorf("no tx") }

type legacyConnector struct{}

func (legacyConnector) Connect(context.Context) (driver.Conn, error) { return legacyConn{}, nil }
func (legacyConnector) Driver() driver.Driver                        { return nil }

// TestWrapperKeepsColumnConverter: a driver whose statements implement
// driver.ColumnConverter accepts an argument type of its own through
// database/sql; through OpenDB's wrapper the same Exec fails, because the
// wrapped stmt implements NamedValueChecker (ErrSkip) but not
// ColumnConverter, so database/sql falls to its default converter.
func TestWrapperKeepsColumnConverter(t *testing.T) {
	plain := sql.OpenDB(legacyConnector{})
	defer plain.Close()
	_, err := plain.Exec("UPDATE t SET v = ?", legacyMoney{150})
	require.NoError(t, err, "the unwrapped driver converts its own type")

	db, err := pool.OpenDB(legacyConnector{}, pool.Config{}, pool.SQLOptions{})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("UPDATE t SET v = ?", legacyMoney{150})
	assert.NoError(t, err, "wrapping changed what the driver accepts")
}

// legacyExecConn implements only the legacy driver.Execer: it cannot prepare
// (as a driver does for multi-statement text).
type legacyExecConn struct{}

func (legacyExecConn) Prepare(string) (driver.Stmt, error) { return nil, fmt.Errorf("cannot prepare") }
func (legacyExecConn) Close() error                        { return nil }
func (legacyExecConn) Begin() (driver.Tx, error)           { return nil, fmt.Errorf("no tx") }
func (legacyExecConn) Exec(string, []driver.Value) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}

type legacyExecConnector struct{}

func (legacyExecConnector) Connect(context.Context) (driver.Conn, error) {
	return legacyExecConn{}, nil
}
func (legacyExecConnector) Driver() driver.Driver { return nil }

// TestWrapperKeepsLegacyExecer: database/sql runs Exec through a
// driver's legacy driver.Execer; the wrapper hides it and prepares instead.
func TestWrapperKeepsLegacyExecer(t *testing.T) {
	plain := sql.OpenDB(legacyExecConnector{})
	defer plain.Close()
	_, err := plain.Exec("SELECT 1; SELECT 2")
	require.NoError(t, err)

	db, err := pool.OpenDB(legacyExecConnector{}, pool.Config{}, pool.SQLOptions{})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("SELECT 1; SELECT 2")
	assert.NoError(t, err, "the wrapper hid the driver's Execer")
}
