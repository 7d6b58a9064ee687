package main

// migrate_test.go: the migration at start beside the jobs of the processes
// already running (a rolling deploy), on PostgreSQL, where what the
// migration's transaction locks it holds until it commits.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-caching/caching/pool"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openStore opens a Store on a database of the test's own: a schema of its
// own on PostgreSQL, a file of its own on SQLite. Nothing is migrated.
func openStore(t *testing.T, database string) (*Store, *pool.DB) {
	t.Helper()
	cfg := Config{SQLitePath: filepath.Join(t.TempDir(), "catalog.db")}
	if database == "postgres" {
		cfg.DatabaseURL = postgresURL(t)
	}
	db, postgres, err := openDatabase(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return NewStore(db, postgres), db
}

// createTablesBeforePrice creates the tables of the version before prices
// were recorded (those CREATE TABLE IF NOT EXISTS leaves alone): orders has
// no column price.
func createTablesBeforePrice(t *testing.T, store *Store) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE categories (id BIGINT PRIMARY KEY, name TEXT NOT NULL)`,
		`CREATE TABLE products (id BIGINT PRIMARY KEY, name TEXT NOT NULL, price DOUBLE PRECISION NOT NULL,
			category_id BIGINT NOT NULL REFERENCES categories(id), updated_at BIGINT NOT NULL)`,
		`CREATE TABLE sales (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, amount DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL)`,
		`CREATE INDEX sales_user ON sales (user_id, created_at)`,
		`CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL,
			product_id BIGINT NOT NULL, quantity BIGINT NOT NULL, created_at BIGINT NOT NULL, sale_id BIGINT)`,
	} {
		_, err := store.exec(context.Background(), q)
		require.NoError(t, err)
	}
}

// waitingForLock waits until a transaction waits for a lock on table
// (PostgreSQL).
func waitingForLock(t *testing.T, store *Store, table string) {
	t.Helper()
	waitFor(t, func() string {
		var n int
		require.NoError(t, store.queryOne(context.Background(),
			`SELECT COUNT(*) FROM pg_locks WHERE relation = to_regclass(?) AND NOT granted`, []any{table}, &n))
		if n == 0 {
			return "a transaction waiting for a lock on " + table
		}
		return ""
	})
}

// TestMigrateBesideOrderJob: a process of the new version starts (and
// migrates: the column orders.price is added) while a worker of the version
// before processes an order: the job's transaction has locked the order's
// row (SELECT ... FOR UPDATE) when the migration starts, and then records
// its sale (INSERT INTO sales). Both succeed. The migration took its locks
// in the other order (a ShareLock on sales, which CREATE INDEX IF NOT
// EXISTS takes even when the index exists, then ALTER TABLE orders), and
// one of the two failed with "deadlock detected" (SQLSTATE 40P01): the
// migration, and the new process did not start.
func TestMigrateBesideOrderJob(t *testing.T) {
	ctx := context.Background()
	store, db := openStore(t, "postgres")
	createTablesBeforePrice(t, store)
	for _, q := range []string{
		`INSERT INTO categories VALUES (1, 'Books')`,
		`INSERT INTO products VALUES (1, 'Lamp', 10, 1, 0)`,
		`INSERT INTO orders VALUES (1, 7, 1, 2, 100, NULL)`,
	} {
		_, err := store.exec(ctx, q)
		require.NoError(t, err)
	}

	// The order's job, as ProcessOrder of the version before runs it.
	job, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = job.Rollback() }()
	var user, quantity, placed int64
	var price float64
	require.NoError(t, store.queryOneIn(ctx, job, `SELECT o.user_id, o.quantity, o.created_at, p.price
		FROM orders o LEFT JOIN products p ON p.id = o.product_id WHERE o.id = 1 FOR UPDATE OF o`,
		nil, &user, &quantity, &placed, &price))

	migrated := make(chan error, 1)
	go func() { migrated <- NewStore(db, true).Migrate(ctx, 0) }()
	// The migration waits for the job's lock on orders, to add the column.
	waitingForLock(t, store, "orders")

	var sale int64
	require.NoError(t, store.queryOneIn(ctx, job, `INSERT INTO sales (id, user_id, amount, created_at) VALUES (1, ?, ?, ?) RETURNING id`,
		[]any{user, price * float64(quantity), placed}, &sale), "the order's job")
	_, err = store.execIn(ctx, job, `UPDATE orders SET sale_id = ? WHERE id = 1`, sale)
	require.NoError(t, err, "the order's job")
	require.NoError(t, job.Commit(), "the order's job")
	require.NoError(t, <-migrated, "the migration")

	var n int
	require.NoError(t, store.queryOne(ctx, `SELECT COUNT(*) FROM orders WHERE id = 1 AND sale_id = 1 AND price IS NULL`, nil, &n))
	assert.Equal(t, 1, n, "the order, processed, with the column price")
}

// TestStartBesideOrderJob: a process starts on a database that is current
// (every restart of a rolling deploy but the first) while an order's job is
// half-way: its transaction has locked the order and recorded the sale, and
// has not committed. The process starts at once: a migration with nothing
// to change takes no lock on the catalog's tables. CREATE INDEX IF NOT
// EXISTS took a ShareLock on sales even though the index was there, and
// waited for the job (and held writes to sales back, River's migration
// included, until it committed).
func TestStartBesideOrderJob(t *testing.T) {
	ctx := context.Background()
	cfg := Config{
		DatabaseURL: postgresURL(t),
		Seed:        10,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	svc, err := NewService(ctx, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Close()) }()
	store := svc.Store
	_, err = store.exec(ctx, `INSERT INTO orders (id, user_id, product_id, quantity, created_at, price) VALUES (1000, 7, 1, 2, 100, 3)`)
	require.NoError(t, err)

	// The order's job, half-way through ProcessOrder.
	job, err := store.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = job.Rollback() }()
	var user int64
	require.NoError(t, store.queryOneIn(ctx, job, `SELECT o.user_id FROM orders o LEFT JOIN products p ON p.id = o.product_id
		WHERE o.id = 1000 FOR UPDATE OF o`, nil, &user))
	var sale int64
	require.NoError(t, store.queryOneIn(ctx, job, `INSERT INTO sales (user_id, amount, created_at) VALUES (?, 6, 100) RETURNING id`,
		[]any{user}, &sale))
	_, err = store.execIn(ctx, job, `UPDATE orders SET sale_id = ? WHERE id = 1000`, sale)
	require.NoError(t, err)

	start, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	began := time.Now()
	other, err := NewService(start, cfg)
	require.NoError(t, err, "a process started beside the order's job, after %v", time.Since(began))
	require.NoError(t, other.Close())
	require.NoError(t, job.Commit())
}

// TestMigrateLockTimeout: a migration that must change a table which a
// long transaction holds waits for its lock lockTimeout at most (the
// table's writers queue behind it that long), and is tried again; it fails
// after migrateAttempts tries with an error that says what it waited for,
// and succeeds if the table is released in time.
func TestMigrateLockTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, released := range []bool{false, true} {
		name := "held"
		if released {
			name = "released"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, db := openStore(t, "postgres")
			createTablesBeforePrice(t, store)
			_, err := store.exec(ctx, `INSERT INTO orders VALUES (1, 7, 1, 2, 100, NULL)`)
			require.NoError(t, err)
			long, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer func() { _ = long.Rollback() }()
			_, err = store.execIn(ctx, long, `SELECT id FROM orders WHERE id = 1 FOR UPDATE`)
			require.NoError(t, err)

			migrating := NewStore(db, true)
			migrating.lockTimeout = timeout
			began := time.Now()
			migrated := make(chan error, 1)
			go func() { migrated <- migrating.Migrate(ctx, 0) }()
			if !released {
				// Three tries of lockTimeout each end it in about a second;
				// the wrong wait, for the transaction holding the lock, is
				// forever: a guard of minutes catches it on any machine.
				var err error
				select {
				case err = <-migrated:
				case <-time.After(2 * time.Minute):
					t.Fatal("the migration waits for the held lock past its lock timeout")
				}
				require.Error(t, err)
				t.Log(err)
				for _, want := range []string{"orders.price", "lock timeout", "tried 3 times"} {
					assert.Contains(t, err.Error(), want)
				}
				require.NoError(t, long.Commit())
				require.NoError(t, migrating.Migrate(ctx, 0), "once the table is released")
				return
			}
			// Released after the first try timed out, before the last.
			waitingForLock(t, store, "orders")
			time.Sleep(timeout * 3 / 2)
			require.NoError(t, long.Commit())
			require.NoError(t, <-migrated)
			assert.Greater(t, time.Since(began), timeout)
			var n int
			require.NoError(t, store.queryOne(ctx, `SELECT COUNT(*) FROM orders WHERE price IS NULL`, nil, &n))
			assert.Equal(t, 1, n, "the column is there")
		})
	}
}

// TestMigrateRetryable: the errors a migration is tried again after are
// PostgreSQL's lock timeout, deadlock and serialization failure, however
// wrapped.
func TestMigrateRetryable(t *testing.T) {
	for code, want := range map[string]bool{"55P03": true, "40P01": true, "40001": true, "42P07": false, "23505": false} {
		assert.Equal(t, want, retryable(fmt.Errorf("migrate: %w", &pgconn.PgError{Code: code})), code)
	}
	assert.False(t, retryable(errors.New("database is locked")))
	assert.False(t, retryable(context.DeadlineExceeded))
}
