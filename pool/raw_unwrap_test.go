package pool_test

import (
	"context"
	"database/sql/driver"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// unwrapper is what OpenDB's connections offer to reach the driver's.
type unwrapper interface{ Unwrap() driver.Conn }

// rawInner returns the driver's connection under a connection of db, as
// sql.Conn.Raw lets a caller reach it.
func rawInner(t *testing.T, db *pool.DB) driver.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	var inner driver.Conn
	require.NoError(t, c.Raw(func(dc any) error {
		u, ok := dc.(unwrapper)
		require.True(t, ok, "%T has no Unwrap() driver.Conn", dc)
		inner = u.Unwrap()
		return nil
	}))
	return inner
}

// TestRawReachesTheDriversConnection: sql.Conn.Raw hands over the
// connection database/sql holds, which under OpenDB is the pool's wrapper,
// so a caller could not reach the driver's own connection (pgx's
// *stdlib.Conn, for CopyFrom or LISTEN) at all. The wrapper's Unwrap
// returns it, whatever methods the driver's connection has.
func TestRawReachesTheDriversConnection(t *testing.T) {
	t.Run("prepare only", func(t *testing.T) {
		db, err := pool.OpenDB(legacyConnector{}, pool.Config{}, pool.SQLOptions{})
		require.NoError(t, err)
		defer db.Close()
		assert.IsType(t, legacyConn{}, rawInner(t, db))
	})
	t.Run("with Execer", func(t *testing.T) {
		db, err := pool.OpenDB(legacyExecConnector{}, pool.Config{}, pool.SQLOptions{})
		require.NoError(t, err)
		defer db.Close()
		assert.IsType(t, legacyExecConn{}, rawInner(t, db))
	})
}

// TestRawReachesPgxConn: through OpenDB, sql.Conn.Raw and Unwrap reach
// pgx's *stdlib.Conn, and its *pgx.Conn runs a query.
func TestRawReachesPgxConn(t *testing.T) {
	db, _ := openPG(t, pool.Config{Size: 1}, pool.SQLOptions{})
	ctx := context.Background()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	var n int
	require.NoError(t, c.Raw(func(dc any) error {
		u, ok := dc.(unwrapper)
		require.True(t, ok, "%T has no Unwrap() driver.Conn", dc)
		pc, ok := u.Unwrap().(*stdlib.Conn)
		require.True(t, ok, "%T is not a *stdlib.Conn", u.Unwrap())
		return pc.Conn().QueryRow(ctx, "SELECT 41 + 1").Scan(&n)
	}))
	assert.Equal(t, 42, n)
}
