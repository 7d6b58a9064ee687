// Command catalog is the product-catalog service: the library's main demo.
//
// It serves products, categories and per-user sales statistics from a real
// database (SQLite by default, PostgreSQL with DATABASE_URL), caches the
// reads (the response cache for product pages, Memoize for statistics),
// invalidates them on writes, and compresses and times every response.
// From the repository root:
//
//	go -C examples run ./catalog                   # SQLite + in-process cache
//	CACHE_URL='redis://127.0.0.1:6379/0?prefix=catalog:' go -C examples run ./catalog
//	go -C examples run ./catalog -compare          # before/after table
//	go -C examples run ./catalog -worker           # jobs only, beside the web processes
//	go -C examples run ./catalog -outage           # Redis and memcached down: table
//
// Background jobs (orders, reports, cache warming, purging old sales) run on
// River, a job queue kept in the same database: inside the service by
// default, or in processes of their own with -worker.
//
// See README.md beside this file for what each library feature does here.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/metrics"
	"github.com/go-caching/caching/pool"
	"github.com/go-caching/caching/timing"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Pool and timing settings: 10 permanent database connections and up to 20
// more under load; queries and requests over 500 ms are logged.
const (
	poolSize     = 10
	poolOverflow = 20
	slowQuery    = 500 * time.Millisecond
	slowRequest  = 500 * time.Millisecond
	// cacheLease is the lease of CACHE_LEASE=1: longer than the slowest
	// usual query of a product page or a user's statistics.
	cacheLease = 5 * time.Second
)

// Config is the service's configuration, from flags and the environment.
type Config struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite at SQLitePath.
	DatabaseURL string
	// SQLitePath is the SQLite database file, created and seeded when new.
	SQLitePath string
	// CacheURL picks the cache backend and its options, as package
	// backend/cacheurl reads it; empty means simple://. On a shared Redis or
	// memcached, its prefix= or namespace= parameter keeps the service's keys
	// apart (and is all that Clear deletes).
	CacheURL string
	// Lease turns the cache's lease on (CACHE_LEASE=1): concurrent misses
	// of one product page or one user's statistics in several instances on
	// one Redis or memcached run the query once (caching.Options.Lease).
	Lease bool
	// Near turns the near cache on (CACHE_NEAR=1): recently read entries of
	// a Redis, memcached or file backend kept in process memory, dropped
	// when any instance writes them (backend/near; the same as near=1 in
	// CacheURL).
	Near bool

	// Hosts are the names, besides the loopback ones (localhost, a name
	// under .localhost, 127.0.0.1, [::1]), that a write may be sent to:
	// the Host of a POST, PUT or DELETE, its port aside, and any name a
	// proxy forwarded for it (X-Forwarded-Host, Forwarded), must be one of
	// them (CATALOG_HOSTS, comma-separated; any case). Each is a name, an
	// IPv4 address or an IPv6 address (fd00::80 or [fd00::80]), with an
	// optional port after a name, an IPv4 address or a "]"; NewService
	// refuses any other (a URL, a pattern, a zone). A read is answered
	// whatever its Host. See hostGuard.
	Hosts []string

	// Seed is the number of products a new database is seeded with.
	Seed int
	// Logger receives the service's and the library's logs.
	Logger *slog.Logger
	// Breaker configures the cache's circuit breaker; the zero value is the
	// library's default. The outage run (-outage) turns it off to show what
	// it buys.
	Breaker caching.BreakerOptions

	// Workers is how many jobs this process works at once; 0 means none: it
	// only enqueues them (the web processes of the production layout).
	Workers int
	// WarmEvery is the interval of the job that warms the cache, PurgeEvery
	// that of the job that deletes the sales older than Retention; 0 means
	// never. They run where jobs are worked, once per interval in all.
	WarmEvery, PurgeEvery time.Duration
	// Retention is how long sales are kept, when PurgeEvery is set.
	Retention time.Duration

	// pollInterval is how often an idle worker looks for jobs (0: River's
	// default, 1s); addWorkers registers more kinds of jobs; now replaces
	// the Store's clock; reportRead is called by the report job once it has
	// read the sales, before it keeps the report (a test holds it there).
	// For tests.
	pollInterval time.Duration
	addWorkers   func(*river.Workers)
	now          func() time.Time
	reportRead   func(ctx context.Context, args reportArgs)
	// maxVariants, when not 0, is the cached views' MaxVariants (the
	// library's default, 32, otherwise). For tests.
	maxVariants int
	// serverHook, when set, adjusts the HTTP server serve runs (a test
	// shortens its timeouts).
	serverHook func(*http.Server)
	// serviceHook, when set, is called with the Service that serve or work
	// made (a test adds a closer that fails).
	serviceHook func(*Service)
	// shutdownWait, when not 0, replaces the const shutdownWait (a test
	// shortens it).
	shutdownWait time.Duration
	// stopWait, when not 0, replaces the const stopTimeout (a test
	// shortens it).
	stopWait time.Duration
}

// validate checks the settings of the jobs.
func (cfg Config) validate() error {
	switch {
	case cfg.Workers < 0:
		return fmt.Errorf("-workers %d: want 0 (enqueue only) or more", cfg.Workers)
	case cfg.WarmEvery < 0 || cfg.PurgeEvery < 0:
		return fmt.Errorf("-warm-every %v, -purge-every %v: want 0 (never) or a positive interval", cfg.WarmEvery, cfg.PurgeEvery)
	case cfg.PurgeEvery > 0 && cfg.Retention <= 0:
		return fmt.Errorf("-retention-days: want 1 or more (got %v)", cfg.Retention)
	}
	return checkHosts(cfg.Hosts)
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
	// api holds the handlers and the jobs.
	api *api
	// closers release what NewService opened, in the order it opened them.
	closers []func() error
}

// Close releases the cache (and its backend) and the database pool.
func (s *Service) Close() error {
	var errs []error
	for _, c := range slices.Backward(s.closers) {
		errs = append(errs, c())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// NewService opens the database and the cache backend, migrates and seeds
// the database (and the job queue's tables) if needed, builds the handler,
// and starts working jobs if cfg.Workers says so. If it fails, it closes
// what it had opened.
func NewService(ctx context.Context, cfg Config) (_ *Service, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Service{}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()

	// Closed last: the failures logged while the rest closes (a job's,
	// an invalidation's) are told, and no timer of theirs outlives Close.
	s.closers = append(s.closers, func() error {
		if s.api != nil {
			s.api.closeLogs()
		}
		return nil
	})
	db, postgres, err := openDatabase(cfg, log)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, db.Close)
	s.Store = NewStore(db, postgres)
	if cfg.now != nil {
		s.Store.now = cfg.now
	}
	// River's tables are migrated with the catalog's, one process at a
	// time (see Store.MigrateWith).
	jobDB, err := openJobDatabase(ctx, cfg, db)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() error { jobDB.close(); return nil })
	if err := s.Store.MigrateWith(ctx, cfg.Seed, func(ctx context.Context, tx *sql.Tx) error {
		return jobDB.migrate(ctx, tx, log)
	}); err != nil {
		return nil, err
	}

	if cfg.CacheURL == "" {
		cfg.CacheURL = "simple://"
	}
	opts, err := cacheurl.Options(cfg.CacheURL)
	if err != nil {
		return nil, fmt.Errorf("CACHE_URL: %w", err)
	}
	opts.Logger = log
	if err := addNear(cfg, opts); err != nil {
		_ = opts.Backend.Close()
		return nil, err
	}
	opts.Breaker = cfg.Breaker
	if cfg.Lease {
		opts.Lease = cacheLease
	}
	// The latency of every backend call, for GET /metrics.
	latency := metrics.NewLatency()
	opts.Observer = latency
	s.closers = append(s.closers, opts.Backend.Close)
	if s.Cache, err = caching.New(opts); err != nil {
		return nil, err
	}
	s.closers[len(s.closers)-1] = s.Cache.Close // the Cache closes its backend
	log.Info("catalog: cache backend", "url", cacheurl.Redact(cfg.CacheURL), "lease", opts.Lease)

	// Flask-Compress's defaults: zstd, br, gzip or deflate as the client
	// accepts, for JSON and text bodies of 500 bytes or more.
	compression, err := compress.New(compress.Options{})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	s.api = newAPI(s.Store, s.Cache, log)
	s.api.retention = cfg.Retention
	s.api.reportRead = cfg.reportRead
	s.api.maxVariants = cfg.maxVariants
	s.api.routes(mux, compression)
	if s.api.queue, err = jobDB.open(s.api.riverConfig(cfg, log)); err != nil {
		return nil, err
	}

	// The pool's stats handler reports every source registered with it:
	// the database pool, the SQL queries run, and the Cache's counters.
	var reg pool.Registry
	if err := errors.Join(
		reg.RegisterSQL("database", db),
		reg.Register("sql_queries", func() any { return s.Store.Queries() }),
		reg.Register("cache", func() any { return s.Cache.Stats() }),
	); err != nil {
		return nil, err
	}
	admin, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	if err != nil {
		return nil, err
	}
	// GET /metrics: the Cache's counters (per route and per memoized
	// function), its backend's latency and the database pool, for
	// Prometheus; loopback clients only, as the pool statistics.
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(metrics.New(s.Cache, metrics.Options{Latency: latency, Pools: &reg}))
	promHandler := promhttp.HandlerFor(promReg, promhttp.HandlerOpts{})
	// Both are mounted for every method, and check the client before the
	// method: a "GET " pattern would have the mux answer another method's
	// request with 405 and Allow before the check, telling any client
	// what is there.
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if !pool.LoopbackOnly(r) {
			writeError(w, http.StatusForbidden, "the metrics are shown to loopback clients only, never through a proxy")
			return
		}
		if onlyGet(w, r) {
			promHandler.ServeHTTP(w, r)
		}
	})
	mux.HandleFunc("/admin/pool-stats", func(w http.ResponseWriter, r *http.Request) {
		// The same check as the handler's Authorize, answered in JSON.
		if !pool.LoopbackOnly(r) {
			writeError(w, http.StatusForbidden, "the pool statistics are shown to loopback clients only, never through a proxy")
			return
		}
		if onlyGet(w, r) {
			admin.ServeHTTP(w, r)
		}
	})
	// Server-Timing (cache;desc=hit, db;dur=1.2;desc="2 queries", ...)
	// tells a lot about the service: it is sent to loopback clients only,
	// as the pool statistics are.
	timed, err := timing.New(timing.Options{Logger: log, Slow: slowRequest, Expose: pool.LoopbackOnly})
	if err != nil {
		return nil, err
	}

	// Outermost first: timing sees the whole request; compression encodes
	// the responses of the routes that are not cached (the cached routes are
	// compressed inside the response cache, and compress leaves a response
	// that already has a Content-Encoding alone); hostGuard turns away the
	// writes sent to a name that is not the service's (DNS rebinding);
	// jsonErrors gives the mux's own 404 and 405 the JSON body of every
	// other error.
	s.Handler = timed(compression.Handler(hostGuard(cfg.Hosts, jsonErrors(mux))))

	if cfg.Workers > 0 {
		// The jobs outlive the context of the start-up; Close stops them.
		if err := s.api.queue.client.Start(context.WithoutCancel(ctx)); err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error {
			wait := 2 * cmp.Or(cfg.stopWait, stopTimeout)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			err := s.api.queue.client.Stop(ctx)
			if errors.Is(err, context.DeadlineExceeded) {
				// A job that ignores its cancelled context (an attempt
				// may run a minute) is not the service's failure either,
				// as a stalled client is not for serve: the stop ends
				// well, exit status 0, and the job, still "running" in
				// its row, goes to another worker once River's rescuer
				// finds it (rescueStuckAfter). Close returned the error:
				// a -worker process ended "catalog: context deadline
				// exceeded", exit status 1, and serve said nothing.
				log.Warn("catalog: jobs still running after the stop's wait; leaving them to another worker", "wait", wait, "rescued_after", rescueStuckAfter)
				return nil
			}
			return err
		})
	}
	return s, nil
}

// addNear puts a near cache in front of opts.Backend when cfg.Near asks for
// one and CacheURL did not already (near=1). The URL is not rewritten to add
// near=1: net/url reads neither cacheurl's host lists nor its rules for a
// password, and its errors quote the whole URL, password included.
func addNear(cfg Config, opts *caching.Options) error {
	if !cfg.Near {
		return nil
	}
	if _, ok := opts.Backend.(*near.Store); ok {
		return nil
	}
	// As cacheurl's near=1: not in front of a store in process memory.
	if scheme, _, _ := strings.Cut(cfg.CacheURL, "://"); strings.EqualFold(scheme, "simple") || strings.EqualFold(scheme, "null") {
		return fmt.Errorf("CACHE_NEAR=1: a near cache goes in front of a Redis, memcached or file store, not %s://", strings.ToLower(scheme))
	}
	n, err := near.New(opts.Backend, near.Options{Logger: opts.Logger}) // a watch refused or lost, once per change
	if err != nil {
		return fmt.Errorf("CACHE_NEAR=1: %w", err)
	}
	opts.Backend = n
	return nil
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
		// WAL lets readers run beside the writer (the file keeps the
		// mode: see walMode); busy_timeout makes a writer wait for the
		// lock instead of failing at once; and _txlock=immediate makes a
		// transaction take the write lock when it begins, so that it
		// waits for it there rather than failing (SQLITE_BUSY) when its
		// first write finds another writer came first: the job queue's
		// transactions and the service's alike.
		const params = "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
		if dc, err = sqlite.NewConnector("file:" + path + params); err == nil {
			err = walMode(dc, walModeWait)
		}
		if err != nil {
			return nil, false, fmt.Errorf("sqlite %s: %w", path, err)
		}
	}
	db, err = pool.OpenDB(dc, pool.Config{Size: poolSize, MaxOverflow: poolOverflow},
		pool.SQLOptions{Logger: log, SlowQuery: slowQuery})
	return db, postgres, err
}

// walModeWait is how long walMode tries before it gives up.
const walModeWait = 10 * time.Second

// walMode puts the SQLite database of dc in WAL mode, which the file keeps
// for every later connection. It is done once, before the pool opens, and
// tried again for up to wait while another process holds the lock: SQLite
// does not call the busy handler for the switch of a new database to WAL, so
// processes starting together on an empty file (a web process and its
// workers) failed at once with SQLITE_BUSY, whatever busy_timeout said.
func walMode(dc driver.Connector, wait time.Duration) error {
	db := sql.OpenDB(dc)
	defer db.Close()
	deadline := time.Now().Add(wait)
	for {
		var mode string
		err := db.QueryRow(`PRAGMA journal_mode=WAL`).Scan(&mode)
		if err == nil {
			if mode != "wal" {
				return fmt.Errorf("journal_mode is %q, want wal", mode)
			}
			return nil
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return fmt.Errorf("journal_mode=WAL: %w", err)
		}
		time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	seed := flag.Int("seed", 5000, "number of products to seed a new database with (4 sales each)")
	dbPath := flag.String("db", defaultSQLitePath(), "SQLite database file, when DATABASE_URL is not set")
	compare := flag.Bool("compare", false, "run the before/after workload (caching off, on, and on after a warm-up) and print a table")
	outage := flag.Bool("outage", false, "start redis-server and memcached, kill and restart them under the workload, and print a table")
	rounds := flag.Int("rounds", 1, "with -outage: how many times to run every mode (the table shows medians)")
	worker := flag.Bool("worker", false, "work jobs only, with no HTTP server, beside web processes sharing DATABASE_URL and CACHE_URL")
	workers := flag.Int("workers", 10, "jobs this process works at once; 0: none, it only enqueues them (web processes beside -worker ones)")
	warmEvery := flag.Duration("warm-every", time.Hour, "interval of the job that warms the cache (first pages of /products, statistics of the most active users); 0: never")
	purgeEvery := flag.Duration("purge-every", 24*time.Hour, "interval of the job that deletes the sales older than -retention-days; 0: never")
	retentionDays := flag.Int("retention-days", 730, fmt.Sprintf("days of sales the purge job keeps, at most %d (to keep every sale: -purge-every 0)", maxRetentionDays))
	flag.Parse()
	retention, err := retentionOf(*retentionDays)
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(2) // as flag's own errors
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	redis.SetLogger(newRedisLog(log)) // go-redis's own lines, bounded
	signalled, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first SIGINT or SIGTERM starts a graceful shutdown, which may
	// wait 10 s for the requests in flight and 20 s more for the running
	// jobs; from then on the signals have their default effect again, so
	// that a second Ctrl-C ends the process at once. Registered until
	// main returned, they were swallowed: the process could only be
	// killed from elsewhere (TestSecondInterruptStops). The shutdown
	// starts (ctx ends) only once they are reset: begun beside the reset,
	// it could close the listener first, and a second Ctrl-C that came
	// between was swallowed still.
	ctx, shut := context.WithCancel(context.Background())
	defer shut()
	go func() {
		<-signalled.Done()
		stop()
		shut()
	}()
	cfg := Config{
		DatabaseURL: os.Getenv("DATABASE_URL"),
		SQLitePath:  *dbPath,
		CacheURL:    os.Getenv("CACHE_URL"),
		Hosts:       splitHosts(os.Getenv("CATALOG_HOSTS")),
		Lease:       os.Getenv("CACHE_LEASE") == "1",
		Near:        os.Getenv("CACHE_NEAR") == "1",
		Seed:        *seed,
		Logger:      log,
		Workers:     *workers,
		WarmEvery:   *warmEvery,
		PurgeEvery:  *purgeEvery,
		Retention:   retention,
	}
	if configHook != nil {
		configHook(&cfg)
	}
	switch {
	case *compare:
		err = runCompare(ctx, os.Stdout, *seed)
	case *outage:
		err = runOutage(ctx, os.Stdout, *seed, *rounds)
	case *worker:
		err = work(ctx, cfg)
	default:
		err = checkLayout(cfg, false)
		if err == nil {
			err = serve(ctx, *addr, cfg)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(1)
	}
}

// maxRetentionDays is the largest -retention-days: the most days a
// time.Duration holds (about 292 years).
const maxRetentionDays = math.MaxInt64 / int64(24*time.Hour)

// retentionOf returns the retention of -retention-days days, or an error
// for a number of days outside 0 to maxRetentionDays. Past it, days times
// 24 hours wrapped around: -retention-days 213504 (585 years) was a
// retention of about 25 minutes, and the purge that runs at start deleted
// every older sale.
func retentionOf(days int) (time.Duration, error) {
	if days < 0 || int64(days) > maxRetentionDays {
		return 0, fmt.Errorf("-retention-days %d: want 1 to %d (about 292 years); to keep every sale, set -purge-every 0", days, maxRetentionDays)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// serve runs the service on addr until ctx is done. It binds the port
// first, so that a port in use is one error before any other work, and logs
// "listening" only once connections to it are accepted.
func serve(ctx context.Context, addr string, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err // "listen tcp 127.0.0.1:8080: bind: address already in use"
	}
	defer ln.Close()
	svc, err := NewService(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeService(svc, cfg.Logger)
	if cfg.serviceHook != nil {
		cfg.serviceHook(svc)
	}
	srv := newServer(svc.Handler)
	if cfg.serverHook != nil {
		cfg.serverHook(srv)
	}
	cfg.Logger.Info("catalog: listening", "url", "http://"+ln.Addr().String()+"/")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	wait := cmp.Or(cfg.shutdownWait, shutdownWait)
	shutdown, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		// A client that stalled (a body never sent, a response never
		// read) is not the service's failure: its connection is closed
		// and the shutdown ends well, exit status 0, as systemd and
		// Kubernetes expect of a stop they asked for. It returned the
		// error, exit status 1, and left such connections open.
		cfg.Logger.Warn("catalog: requests still in flight after the shutdown's wait; closing their connections", "wait", wait)
		return srv.Close()
	}
	return err
}

// closeService closes svc on the way out of serve or work, and logs what
// Close returned instead of returning it. The process's result is that of
// its work: once the server or the jobs have stopped, a failure to release
// the cache or the database is told (level ERROR), and the stop that was
// asked for still ends with exit status 0, as systemd and Kubernetes expect
// of it; a non-zero status would read as a crash (systemd marks the unit
// failed, Restart=on-failure starts it again) where nothing was lost that
// a restart brings back. serve dropped the error, and a -worker process
// returned it (exit status 1): the same failure ended two ways.
func closeService(svc *Service, log *slog.Logger) {
	if err := svc.Close(); err != nil {
		log.Error("catalog: closing the service", "err", err)
	}
}

// shutdownWait is how long a graceful shutdown waits for the requests in
// flight before it closes their connections.
const shutdownWait = 10 * time.Second

// Timeouts of the HTTP server (newServer).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// newServer returns the server of h, whose clients cannot hold a
// connection longer than its timeouts allow: ReadHeaderTimeout for the
// request line and header, ReadTimeout for the whole request, body
// included (1 MiB at most: maxBody), WriteTimeout for the response, and
// IdleTimeout between the requests of a keep-alive connection. With
// ReadHeaderTimeout alone, a client that sent a write's header and never
// its body, or that kept a connection idle, held it (a goroutine and a
// file descriptor) for as long as it liked, and any client could pile such
// connections up. The catalog streams nothing (every response is a page of
// JSON or HTML, written at once), so WriteTimeout is one bound for a
// client that stops reading; the proxy example, whose responses may
// stream, bounds each write instead. WriteTimeout does not stop a handler
// or end its context: only its writes fail once it has passed.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
}
