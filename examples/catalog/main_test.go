package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestServeTakenPort: with its port taken, the catalog logged "listening"
// and then failed with "address already in use". The port is now bound
// first: one error, and nothing else is done.
func TestServeTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var logs strings.Builder
	dbPath := filepath.Join(t.TempDir(), "catalog.db")
	err = serve(context.Background(), ln.Addr().String(), Config{
		SQLitePath: dbPath, Seed: 10, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Contains(t, err.Error(), ln.Addr().String())
	assert.NotContains(t, logs.String(), "listening")
	_, err = os.Stat(dbPath)
	assert.ErrorIs(t, err, os.ErrNotExist, "the database was opened before the port")
}

// logWatch is a log destination that hands over the URL of the
// "listening" record.
type logWatch struct {
	mu  sync.Mutex
	url chan string
	all strings.Builder // every line logged
}

var listeningURL = regexp.MustCompile(`msg="catalog: listening" url=(\S+)`)

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	if m := listeningURL.FindSubmatch(p); m != nil {
		w.url <- string(m[1])
	}
	return len(p), nil
}

// String returns every line logged so far.
func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// serveLocal runs serve on a free loopback port until ctx is done, with
// cfg, on a new SQLite database of 10 products, logging to the logWatch it
// returns. It returns once serve logs "listening": the URL it logged, and
// the channel of serve's result.
func serveLocal(ctx context.Context, t *testing.T, cfg Config) (string, *logWatch, <-chan error) {
	t.Helper()
	watch := &logWatch{url: make(chan string, 1)}
	cfg.SQLitePath, cfg.Seed = filepath.Join(t.TempDir(), "catalog.db"), 10
	cfg.Logger = slog.New(slog.NewTextHandler(watch, nil))
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:0", cfg) }()
	select {
	case url := <-watch.url:
		return url, watch, done
	case err := <-done:
		t.Fatalf("serve returned before listening: %v", err)
		return "", nil, nil
	}
}

// TestServeLogsOnceListening: once "listening" is logged, the logged URL
// answers.
func TestServeLogsOnceListening(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, _, done := serveLocal(ctx, t, Config{})
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)
	resp, err := http.Get(url)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
}

// TestNewServiceBadCacheURL: a bad CACHE_URL is one error naming the
// setting and the part of the URL that is wrong.
func TestNewServiceBadCacheURL(t *testing.T) {
	_, err := NewService(context.Background(), Config{
		SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: 10, CacheURL: "memcached://127.0.0.1:11211?max_entries=10",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.ErrorIs(t, err, cacheurl.ErrInvalidURL)
	// The list of valid parameters grows with the backends' options.
	assert.True(t, strings.HasPrefix(err.Error(), "CACHE_URL: cacheurl: parameter max_entries: is unknown for memcached://; want one of "), err.Error())
	assert.Contains(t, err.Error(), "namespace")
}

// TestStartTogether: processes started at once on an empty database (a web
// process and its workers, on a fresh database) all start, and the database
// is seeded once. The service's migration, River's and the seed run one
// process at a time: on PostgreSQL, concurrent CREATE TABLE IF NOT EXISTS
// failed with `duplicate key value violates unique constraint
// "pg_type_typname_nsp_index"`.
func TestStartTogether(t *testing.T) {
	for _, database := range databases {
		t.Run(database, func(t *testing.T) {
			cfg := Config{
				SQLitePath: filepath.Join(t.TempDir(), "catalog.db"),
				CacheURL:   "file://" + filepath.ToSlash(t.TempDir()),
				Seed:       testSeed,
				Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			if database == "postgres" {
				cfg.DatabaseURL = postgresURL(t)
			}
			const processes = 4
			type started struct {
				svc *Service
				err error
			}
			results := make(chan started, processes)
			start := make(chan struct{})
			for i := range processes {
				cfg := cfg
				if i > 0 { // one web process, which only enqueues, and workers
					withWorkers(1, nil)(&cfg)
				}
				go func() {
					<-start
					svc, err := NewService(context.Background(), cfg)
					results <- started{svc, err}
				}()
			}
			close(start)
			var svc *Service
			for range processes {
				r := <-results
				if assert.NoError(t, r.err, "a process failed to start") {
					t.Cleanup(func() { require.NoError(t, r.svc.Close()) })
					svc = r.svc
				}
			}
			require.NotNil(t, svc, "no process started")
			count := func(table string) int {
				var n int
				require.NoError(t, svc.Store.queryOne(context.Background(), `SELECT COUNT(*) FROM `+table, nil, &n))
				return n
			}
			assert.Equal(t, len(categoryNames), count("categories"), "seeded once")
			assert.Equal(t, testSeed, count("products"), "seeded once")
			assert.Equal(t, 4*testSeed, count("sales"), "seeded once")
		})
	}
}

// TestWALModeWaitsForTheLock: the switch of a new SQLite file to WAL, which
// SQLite makes fail at once while another connection holds the lock, is
// tried again until the lock is free, and gives up with SQLITE_BUSY after
// its wait.
func TestWALModeWaitsForTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	open := func() *sql.DB {
		dc, err := sqlite.NewConnector("file:" + path)
		require.NoError(t, err)
		db := sql.OpenDB(dc)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	holder := open()
	conn, err := holder.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`)
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), `CREATE TABLE t (x)`)
	require.NoError(t, err)

	// No busy handler: SQLite fails at once, as it does for the switch
	// when processes start together, and only walMode's own tries wait.
	dc, err := sqlite.NewConnector("file:" + path + "?_pragma=busy_timeout(0)")
	require.NoError(t, err)
	err = walMode(dc, 50*time.Millisecond)
	var se *sqlite.Error
	require.ErrorAs(t, err, &se, "the lock is held past the wait")
	assert.Equal(t, sqlite3.SQLITE_BUSY, se.Code()&0xff)

	done := make(chan error, 1)
	go func() { done <- walMode(dc, 10*time.Second) }()
	time.Sleep(100 * time.Millisecond)
	_, err = conn.ExecContext(context.Background(), `COMMIT`)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.NoError(t, <-done, "the lock was released within the wait")
	var mode string
	require.NoError(t, open().QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode, "the file keeps the mode")
}

// TestServeLogsCloseError: serve closed the Service on its way out and
// dropped what Close returned, so a web process never told that releasing
// the cache or the database failed. It is now logged; the stop itself
// still ends well (serve returns nil), as the shutdown it was asked for.
func TestServeLogsCloseError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, watch, done := serveLocal(ctx, t, Config{serviceHook: func(svc *Service) {
		svc.closers = append(svc.closers, func() error { return errors.New("cache flush failed") })
	}})
	cancel()
	require.NoError(t, <-done)
	assert.Regexp(t, `level=ERROR msg="catalog: closing the service" err="cache flush failed"`, watch.String())
}
