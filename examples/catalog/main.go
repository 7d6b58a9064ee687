// Command catalog is the product-catalog service: the library's main demo.
//
// It serves products, categories and per-user sales statistics from a real
// database (SQLite by default, PostgreSQL with DATABASE_URL), caches the
// reads (the response cache for product pages, Memoize for statistics),
// invalidates them on writes, and compresses and times every response.
//
//	cd examples && go run ./catalog                # SQLite + in-process cache
//	CACHE_URL=redis://127.0.0.1:6379/0 go run ./catalog
//	go run ./catalog -compare                      # before/after table
//
// See README.md beside this file for what each library feature does here.
package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/pool"
	"github.com/go-caching/caching/timing"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Pool and timing settings: 10 permanent database connections and up to 20
// more under load; queries and requests over 500 ms are logged.
const (
	poolSize     = 10
	poolOverflow = 20
	slowQuery    = 500 * time.Millisecond
	slowRequest  = 500 * time.Millisecond
)

// Config is the service's configuration, from flags and the environment.
type Config struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite at SQLitePath.
	DatabaseURL string
	// SQLitePath is the SQLite database file, created and seeded when new.
	SQLitePath string
	// CacheURL picks the cache backend (see openCacheURL); empty means simple://.
	CacheURL string
	// Namespace keeps the service's cache keys apart on a shared Redis,
	// memcached or cache directory; empty means "catalog". Tests use a
	// unique one.
	Namespace string
	// Seed is the number of products a new database is seeded with.
	Seed int
	// Logger receives the service's and the library's logs.
	Logger *slog.Logger
}

// defaultSQLitePath is catalog/catalog.db when run from examples/ (the
// README's command), else catalog.db in the working directory.
func defaultSQLitePath() string {
	if fi, err := os.Stat("catalog"); err == nil && fi.IsDir() {
		return "catalog/catalog.db"
	}
	return "catalog.db"
}

// Service is the wired service: its handler and what it is made of.
type Service struct {
	Handler http.Handler
	Store   *Store
	Cache   *caching.Cache
	db      *pool.DB
}

// Close releases the cache backend and the database pool.
func (s *Service) Close() error {
	return errors.Join(s.Cache.Close(), s.db.Close())
}

// NewService opens the database and the cache backend, migrates and seeds
// the database if needed, and builds the handler.
func NewService(ctx context.Context, cfg Config) (*Service, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	db, postgres, err := openDatabase(cfg, log)
	if err != nil {
		return nil, err
	}
	store := NewStore(db, postgres)
	if err := store.Migrate(ctx, cfg.Seed); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "catalog"
	}
	be, err := openCacheURL(cfg.CacheURL, cfg.Namespace)
	if err != nil {
		db.Close()
		return nil, err
	}
	cache, err := caching.New(&caching.Options{Backend: be.Backend, Logger: log})
	if err != nil {
		be.Close()
		db.Close()
		return nil, err
	}
	log.Info("catalog: cache backend", "backend", be.desc)

	mux := http.NewServeMux()
	// Flask-Compress's defaults: zstd, br, gzip or deflate as the client
	// accepts, for JSON and text bodies of 500 bytes or more.
	compression, err4 := compress.New(compress.Options{})
	if err4 != nil {
		cache.Close()
		db.Close()
		return nil, err4
	}
	newAPI(store, cache, log).routes(mux, compression)
	// The pool's stats handler reports every source registered with it:
	// the database pool, the SQL queries run, and the Cache's counters.
	var reg pool.Registry
	err = errors.Join(
		reg.RegisterSQL("database", db),
		reg.Register("sql_queries", func() any { return store.Queries() }),
		reg.Register("cache", func() any { return cache.Stats() }),
	)
	admin, err2 := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	timed, err3 := timing.New(timing.Options{Logger: log, Slow: slowRequest})
	if err := errors.Join(err, err2, err3); err != nil {
		cache.Close()
		db.Close()
		return nil, err
	}
	mux.Handle("GET /admin/pool-stats", admin)

	// Outermost first: timing sees the whole request; compression encodes
	// the responses of the routes that are not cached (the cached routes are
	// compressed inside the response cache, and compress leaves a response
	// that already has a Content-Encoding alone).
	handler := timed(compression.Handler(mux))
	return &Service{Handler: handler, Store: store, Cache: cache, db: db}, nil
}

// openDatabase opens the pool on PostgreSQL when cfg.DatabaseURL is set,
// else on the SQLite file cfg.SQLitePath.
func openDatabase(cfg Config, log *slog.Logger) (db *pool.DB, postgres bool, err error) {
	var dc driver.Connector
	switch {
	case strings.HasPrefix(cfg.DatabaseURL, "postgres://"), strings.HasPrefix(cfg.DatabaseURL, "postgresql://"):
		pc, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return nil, false, fmt.Errorf("DATABASE_URL: %w", err)
		}
		dc, postgres = stdlib.GetConnector(*pc), true
	case cfg.DatabaseURL != "":
		return nil, false, fmt.Errorf("DATABASE_URL: want a postgres:// URL (leave it unset for SQLite)")
	default:
		path := cfg.SQLitePath
		if path == "" {
			path = defaultSQLitePath()
		}
		// WAL lets readers run beside the writer; busy_timeout makes a
		// writer wait for the lock instead of failing at once.
		dc, err = sqlite.NewConnector("file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
		if err != nil {
			return nil, false, fmt.Errorf("sqlite %s: %w", path, err)
		}
	}
	db, err = pool.OpenDB(dc, pool.Config{Size: poolSize, MaxOverflow: poolOverflow},
		pool.SQLOptions{Logger: log, SlowQuery: slowQuery})
	return db, postgres, err
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	seed := flag.Int("seed", 5000, "number of products to seed a new database with (4 sales each)")
	dbPath := flag.String("db", defaultSQLitePath(), "SQLite database file, when DATABASE_URL is not set")
	compare := flag.Bool("compare", false, "run the before/after workload (caching off, then on) and print a table")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *compare {
		if err := runCompare(context.Background(), os.Stdout, *seed); err != nil {
			fmt.Fprintln(os.Stderr, "catalog:", err)
			os.Exit(1)
		}
		return
	}
	cfg := Config{
		DatabaseURL: os.Getenv("DATABASE_URL"),
		SQLitePath:  *dbPath,
		CacheURL:    os.Getenv("CACHE_URL"),
		Seed:        *seed,
		Logger:      log,
	}
	if err := serve(*addr, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(1)
	}
}

// serve runs the service on addr until SIGINT or SIGTERM.
func serve(addr string, cfg Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := NewService(ctx, cfg)
	if err != nil {
		return err
	}
	defer svc.Close()
	srv := &http.Server{Addr: addr, Handler: svc.Handler, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	cfg.Logger.Info("catalog: listening", "url", "http://"+addr+"/products")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
