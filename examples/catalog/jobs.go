package main

// jobs.go: background work. The job queue is River (riverqueue.com), which
// keeps its jobs in the service's own database: SQLite by default, so that
// the one-command demo needs no other server, or PostgreSQL with
// DATABASE_URL. An order is stored and its job enqueued in one transaction
// (no order without its job, no job without its order, which Celery's
// .delay() after a commit cannot promise); the jobs record sales, build
// reports, warm the cache and purge old sales, and then invalidate what they
// made stale.

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/pool"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// Settings of the jobs.
const (
	// warmPages is how many pages of /products the warm job fills.
	warmPages = 10
	// activeUsers is how many of the most active users (by sales over
	// activeWindow) have their statistics recomputed by the warm job.
	activeUsers  = 20
	activeWindow = 30 * 24 * time.Hour
	// reportTTL is how long a finished report is kept.
	reportTTL = 24 * time.Hour
	// stopTimeout is how long Close lets running jobs finish before their
	// contexts are cancelled; it waits as long again for those that go on
	// (River's Stop), then leaves them running.
	stopTimeout = 10 * time.Second
	// jobTimeout is how long an attempt of a job may run before its
	// context is cancelled (River's default, said here because
	// rescueStuckAfter must exceed it).
	jobTimeout = time.Minute
	// rescueStuckAfter is how long a job may be "running" before River
	// gives it to another worker: the job of a worker process that was
	// killed (SIGKILL, out of memory, a deploy without a graceful stop)
	// stays "running" until then, its sale unrecorded or its invalidation
	// not done. River's default is an hour. It must exceed jobTimeout, so
	// that an attempt still working is not run twice at once; were one
	// (a job that ignores its context), the order job records its sale
	// once all the same (Store.ProcessOrder), and the others repeat
	// harmlessly.
	rescueStuckAfter = 5 * time.Minute
	// monthLayout is the format of a report's month.
	monthLayout = "2006-01"
)

// warmEncodings are the Accept-Encoding values the warm job asks with: those
// common clients send, none (curl, most API clients), Go's http.Client,
// Python's requests, and browsers (and curl --compressed). The views keep a
// variant per canonical form (canonicalEncoding: what compress chooses), so
// the two that get gzip fill one variant.
var warmEncodings = []string{"", "gzip", "gzip, deflate", "gzip, deflate, br, zstd"}

// unfinished are the states in which a job is not done: a periodic job is
// not inserted again while one like it is in one of them, and is once it
// has ended.
var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// orderArgs is the job of POST /api/orders: record the order's sale, then
// invalidate what it made stale. What the customer agreed to (product,
// quantity, and the price when the order was placed) is in the order's row,
// stored in the transaction that inserts this job; jobs of the previous
// version are the same, of orders with no price (see Store.ProcessOrder).
type orderArgs struct {
	OrderID int64 `json:"order_id"`
}

func (orderArgs) Kind() string { return "catalog.order" }

// reportArgs names a report: a user's month (UTC). It is the key of the
// kept reports.
type reportArgs struct {
	UserID int64  `json:"user_id"`
	Month  string `json:"month"`
}

// reportJobArgs is the job of POST /api/reports: make the report of
// reportArgs. Sales and LastSale are the month's sales when it was asked
// for (a reportMark: their number and the largest id). Identical reports
// asked for while one is waiting or being made share its job only if no
// sale of the month was made in between: River's unique jobs are unique by
// all of these arguments. A job that is running may have read the sales
// before a sale that a later request saw (answered 201 before the request),
// and its report would miss it; a request after that sale has another mark,
// so it gets a job of its own, which reads after the sale. (River cannot
// leave running jobs out of the uniqueness check: UniqueOpts.ByState must
// hold JobStateRunning.) A job of the previous version, with no mark, is
// made the same way: the mark only keeps requests apart.
//
// A completed job (River keeps it 24 hours) is unique too: a request
// identical to it, same user, month and mark, is answered with its result
// (createReport), not with a new job. The month's sales are then those
// the job read: they only grow (a sale adds to the count and has the
// largest id), so the mark the job's request saw, which the job read after,
// is still the mark only if no sale came since. The report kept in the
// cache answers first; without this, every request for a report the cache
// no longer has (the cache is down, the entry evicted or ended by the
// purge's tag) was a job and a row for 24 hours, identical reports made
// again and again.
type reportJobArgs struct {
	reportArgs
	Sales    int   `json:"sales"`
	LastSale int64 `json:"last_sale"`
}

func (reportJobArgs) Kind() string { return "catalog.report" }

func (reportJobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: rivertype.UniqueOptsByStateDefault()}}
}

// warmArgs is the periodic job that warms the cache.
type warmArgs struct{}

func (warmArgs) Kind() string { return "catalog.warm" }

func (warmArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// purgeArgs is the periodic job that deletes the sales older than the
// retention window.
type purgeArgs struct{}

func (purgeArgs) Kind() string { return "catalog.purge" }

func (purgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// riverClient is what the service uses of a *river.Client, whatever its
// driver's transaction type.
type riverClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// jobQueue is River on the service's database.
type jobQueue struct {
	client riverClient
	// insertWith runs fn in a transaction of the queue's database and
	// inserts the job fn returns in the same transaction.
	insertWith func(ctx context.Context, fn func(q rowQuery) (river.JobArgs, error)) (*rivertype.JobInsertResult, error)
}

// txOps are the operations of a transaction of type TTx.
type txOps[TTx any] struct {
	begin    func(ctx context.Context) (TTx, error)
	row      func(tx TTx) rowQuery
	commit   func(ctx context.Context, tx TTx) error
	rollback func(ctx context.Context, tx TTx) error
}

// newJobQueue returns a queue over a client on drv.
func newJobQueue[TTx any](drv riverdriver.Driver[TTx], rc *river.Config, ops txOps[TTx]) (*jobQueue, error) {
	client, err := river.NewClient(drv, rc)
	if err != nil {
		return nil, err
	}
	return &jobQueue{client: client, insertWith: func(ctx context.Context, fn func(rowQuery) (river.JobArgs, error)) (*rivertype.JobInsertResult, error) {
		tx, err := ops.begin(ctx)
		if err != nil {
			return nil, err
		}
		defer func() { _ = ops.rollback(context.WithoutCancel(ctx), tx) }() // after Commit: a no-op
		args, err := fn(ops.row(tx))
		if err != nil {
			return nil, err
		}
		res, err := client.InsertTx(ctx, tx, args, nil)
		if err != nil {
			return nil, err
		}
		return res, ops.commit(ctx, tx)
	}}, nil
}

// jobDatabase is River's way to the service's database: on SQLite, the
// service's pool itself (River's SQLite driver takes a *sql.DB); on
// PostgreSQL, a pgx pool of its own (River's pgx driver, which also listens
// for new jobs instead of polling).
type jobDatabase struct {
	sqlite *sql.DB
	pgx    *pgxpool.Pool
}

// openJobDatabase opens River's way to the database of cfg, whose pool is db.
func openJobDatabase(ctx context.Context, cfg Config, db *pool.DB) (jobDatabase, error) {
	if cfg.DatabaseURL == "" {
		return jobDatabase{sqlite: db.DB}, nil
	}
	pgxPool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return jobDatabase{}, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return jobDatabase{pgx: pgxPool}, nil
}

// close releases the connections of its own, if it has any.
func (d jobDatabase) close() {
	if d.pgx != nil {
		d.pgx.Close()
	}
}

// migrate migrates River's tables (a no-op when they are current) while tx,
// the catalog's migration (Store.MigrateWith), holds the migration lock:
// River's migrator takes no lock of its own, and processes starting at
// once on an empty database each created river_migration ("already
// exists", or on PostgreSQL "pg_type_typname_nsp_index"). On PostgreSQL,
// River migrates through its own pool, each migration in a transaction of
// its own, while tx holds the advisory lock. On SQLite, tx holds the
// database's write lock, for which River's own transactions would wait: it
// migrates in tx.
func (d jobDatabase) migrate(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	var err error
	if d.pgx != nil {
		var m *rivermigrate.Migrator[pgx.Tx]
		if m, err = rivermigrate.New(riverpgxv5.New(d.pgx), &rivermigrate.Config{Logger: log}); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	} else {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(d.sqlite), &rivermigrate.Config{Logger: log}); err == nil {
			// MigrateTx is deprecated because some of River's PostgreSQL
			// migrations (an enum value, then its use) cannot share a
			// transaction; SQLite has no enums, and River's SQLite
			// migrations each run in a transaction (a savepoint here) anyway.
			//lint:ignore SA1019 see above: on SQLite only, in the transaction that holds the lock
			_, err = m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	return nil
}

// open returns the queue over a client configured by rc.
func (d jobDatabase) open(rc *river.Config) (*jobQueue, error) {
	if d.pgx == nil {
		db := d.sqlite
		return newJobQueue(riversqlite.New(db), rc, txOps[*sql.Tx]{
			begin: func(ctx context.Context) (*sql.Tx, error) { return db.BeginTx(ctx, nil) },
			row: func(tx *sql.Tx) rowQuery {
				return func(ctx context.Context, q string, args []any, dest ...any) error {
					return tx.QueryRowContext(ctx, q, args...).Scan(dest...)
				}
			},
			commit:   func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
			rollback: func(_ context.Context, tx *sql.Tx) error { return tx.Rollback() },
		})
	}
	pgxPool := d.pgx
	return newJobQueue(riverpgxv5.New(pgxPool), rc, txOps[pgx.Tx]{
		begin: func(ctx context.Context) (pgx.Tx, error) { return pgxPool.Begin(ctx) },
		row: func(tx pgx.Tx) rowQuery {
			return func(ctx context.Context, q string, args []any, dest ...any) error {
				return tx.QueryRow(ctx, q, args...).Scan(dest...)
			}
		},
		commit:   func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
	})
}

// riverConfig returns River's configuration for cfg: the workers and the
// periodic jobs (River's beat schedule) when this process works jobs, none
// when it only enqueues them.
func (a *api) riverConfig(cfg Config, log *slog.Logger) *river.Config {
	a.jobErrors = newJobErrorLog(log)
	rc := &river.Config{Logger: slog.New(warnOnly{log.Handler()}), FetchPollInterval: cfg.pollInterval, SoftStopTimeout: cmp.Or(cfg.stopWait, stopTimeout),
		JobTimeout: jobTimeout, RescueStuckJobsAfter: rescueStuckAfter, ErrorHandler: a.jobErrors}
	if cfg.pollInterval > 0 {
		rc.FetchCooldown = min(cfg.pollInterval, 100*time.Millisecond)
	}
	if cfg.Workers == 0 {
		return rc
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(a.processOrder))
	river.AddWorker(workers, river.WorkFunc(a.makeReport))
	river.AddWorker(workers, river.WorkFunc(a.warmJob))
	river.AddWorker(workers, river.WorkFunc(a.purgeJob))
	if cfg.addWorkers != nil {
		cfg.addWorkers(workers)
	}
	rc.Workers = workers
	rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	// Only the elected leader of the processes that work jobs enqueues the
	// periodic jobs, once per interval whatever their number; RunOnStart
	// also runs them when a leader starts (the cache may be cold, and a
	// service restarted more often than the interval would never purge).
	periodic := func(every time.Duration, id string, args river.JobArgs) {
		if every > 0 {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(every),
				func() (river.JobArgs, *river.InsertOpts) { return args, nil },
				&river.PeriodicJobOpts{ID: id, RunOnStart: true}))
		}
	}
	periodic(cfg.WarmEvery, "warm", warmArgs{})
	periodic(cfg.PurgeEvery, "purge", purgeArgs{})
	return rc
}

// jobErrorLog logs the error of each failed attempt of a job, whole: River
// logs them at Info, which warnOnly leaves out, and a task shows only a
// fixed message (publicTaskError). An attempt that fails an order for
// good (river.JobCancel) is not an error of the service, and River does
// not pass it here. The failures are logged at a bounded rate (attempts: a
// failureLog): while the cache is down, each order's job fails its
// invalidation, and each order is a client's request. The job's row keeps
// the error of each attempt. The panics are logged the same way (panics):
// a panic is a bug, but one that an order's input triggers panics each
// order's job, and each of its attempts.
type jobErrorLog struct {
	attempts, panics *failureLog
}

// newJobErrorLog returns the jobErrorLog writing to log.
func newJobErrorLog(log *slog.Logger) jobErrorLog {
	return jobErrorLog{newQuietFailureLog(log, slog.LevelError, "catalog: job attempt failed"),
		newQuietFailureLog(log, slog.LevelError, "catalog: job attempt panicked")}
}

// HandleError implements river.ErrorHandler: it logs err, the error of
// an attempt of job, through attempts.
func (h jobErrorLog) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.attempts.failed(ctx, err, "job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt)
	return nil
}

// HandlePanic implements river.ErrorHandler: it logs panicVal, the panic
// of an attempt of job, with its trace, through panics.
func (h jobErrorLog) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.panics.failed(ctx, fmt.Errorf("panic: %v", panicVal), "job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt, "trace", trace)
	return nil
}

// warnOnly passes on the records of level Warn and above: River logs its
// routine (job counts every few seconds) at Info.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}
func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }

// processOrder records the sale of an order and then invalidates the user's
// statistics and the report of the sale's month. The sale is recorded once
// however many times the job runs, so a failed invalidation (the cache is
// down) fails the job and River retries it: the retry invalidates again
// without recording the sale again.
func (a *api) processOrder(ctx context.Context, job *river.Job[orderArgs]) error {
	res, err := a.store.ProcessOrder(ctx, job.Args.OrderID)
	switch {
	case errors.Is(err, errProductGone), errors.Is(err, errPriceUnknown), errors.Is(err, errOrderTooLarge):
		// Retrying cannot help. The task shows the error, which says what
		// the customer must know (publicTaskError).
		return river.JobCancel(fmt.Errorf("%w: order %d", err, job.Args.OrderID))
	case errors.Is(err, errNotFound):
		return river.JobCancel(fmt.Errorf("order %d: %w", job.Args.OrderID, err))
	case err != nil:
		return taskError(taskErrDatabase, fmt.Errorf("order %d: %w", job.Args.OrderID, err))
	}
	if err := a.invalidateSale(ctx, res.UserID, res.CreatedAt); err != nil {
		return taskError(taskErrInvalidation, fmt.Errorf("order %d: sale %d recorded, invalidation failed: %w", res.OrderID, res.SaleID, err))
	}
	return river.RecordOutput(ctx, res)
}

// invalidateSale makes what a sale of user at at made stale a miss: the
// user's statistics, every period (their tag, userSalesTag), and the report
// of the sale's month (its tag, monthSalesTag), in one write, in every
// process, the report being made at that moment included (see
// memoizeReports). The report's entry is also deleted (Forget): a process
// of the version before keeps reports without the tag.
func (a *api) invalidateSale(ctx context.Context, user int64, at time.Time) error {
	args := reportArgs{UserID: user, Month: at.UTC().Format(monthLayout)}
	return errors.Join(a.cache.InvalidateTags(ctx, userSalesTag(user), monthSalesTag(args)),
		a.forgetReport(ctx, args))
}

// monthSalesTag is the tag of the report of args (ArgTags), which a sale
// of that user and month invalidates.
func monthSalesTag(args reportArgs) string {
	return userSalesTag(args.UserID) + ":" + args.Month
}

// makeReport aggregates a user's sales over a month, records the report as
// the job's result and keeps it in the cache (Refresh), so that asking
// again answers at once. A cache that is down loses the kept copy, not the
// report.
func (a *api) makeReport(ctx context.Context, job *river.Job[reportJobArgs]) error {
	args := job.Args.reportArgs
	if _, err := parseMonth(args.Month); err != nil {
		return river.JobCancel(err)
	}
	r, err := a.reports.Refresh(ctx, args)
	var notMade reportNotMade
	switch {
	case err == nil:
		a.keptReports.ok(ctx)
	case errors.As(err, &notMade) || ctx.Err() != nil:
		return taskError(taskErrReport, fmt.Errorf("report of user %d, %s: %w", args.UserID, args.Month, err))
	default:
		// Made, but the cache could not replace the copy it kept (it is
		// down): Refresh returns the report with the cache's error. The
		// report is the job's result all the same. Logged at a bounded
		// rate: a client asking for reports of many months makes a job
		// of each (failureLog).
		a.keptReports.failed(ctx, err, "user", args.UserID, "month", args.Month)
	}
	return river.RecordOutput(ctx, r)
}

// reportNotMade is the error of a report that could not be made (its
// query failed), as the memoized function returns it: Refresh's other
// errors are the cache's, with the report made.
type reportNotMade struct{ err error }

func (e reportNotMade) Error() string { return e.err.Error() }
func (e reportNotMade) Unwrap() error { return e.err }

// memoizeReports returns the reports as a memoized function of their
// arguments: one entry per (user, month) with sales (storeReport), for
// reportTTL, with the tag "sales", which the purge job invalidates, and the
// tag of the user's month (monthSalesTag), which a sale of it invalidates.
// The report job makes and stores one with Refresh, POST /api/reports
// reads it with Peek: Get, which would make a report while the client
// waits, is not used.
//
// A report must not be kept without a sale answered before it is asked
// for. Refresh reads the versions of the report's tags before the sales
// are read, and the report is stored under them: a sale committed after
// the read invalidates the month's tag before its answer, so the report
// made without it is a miss from then on, in every process, however late
// it is stored. (The job stored the report with Set, which reads the
// versions when it stores, and then read the sales again to delete a
// report that a sale had made stale: until that delete, a request made
// after the sale was answered the report without it.)
func (a *api) memoizeReports() *caching.Memoized[reportArgs, SalesReport] {
	return caching.Memoize(a.cache, "sales-report", func(ctx context.Context, args reportArgs) (SalesReport, error) {
		month, err := parseMonth(args.Month)
		if err != nil {
			return SalesReport{}, reportNotMade{err}
		}
		r, err := a.store.SalesReport(ctx, args.UserID, month)
		if err != nil {
			return r, reportNotMade{err}
		}
		if a.reportRead != nil {
			a.reportRead(ctx, args)
		}
		return r, nil
	}, caching.TTL(reportTTL), caching.Tags("sales"), caching.StoreIf(storeReport),
		caching.ArgTags(func(args reportArgs) []string { return []string{monthSalesTag(args)} }))
}

// storeReport reports whether r is kept: only if it counts sales. There is
// no table of users to check an id against, so a report of zeros is that
// of any id a client makes up (or of any of the ~96,000 months of a real
// user), which would otherwise each be an entry for reportTTL and evict the
// pages the cache serves. POST /api/reports answers those at once, without
// a job; a job that finds no sales (they were purged since it was asked
// for) keeps nothing: Refresh deletes the entry instead.
func storeReport(r SalesReport) bool { return r.Orders > 0 }

// keptReport returns the report kept for args; an error wrapping
// caching.ErrNotFound when there is none.
func (a *api) keptReport(ctx context.Context, args reportArgs) (SalesReport, error) {
	r, _, err := a.reports.Peek(ctx, args) // kept reports are never served stale
	return r, err
}

// forgetReport deletes the report kept for args.
func (a *api) forgetReport(ctx context.Context, args reportArgs) error {
	return a.reports.Forget(ctx, args)
}

// warmResult is the result of a warm job.
type warmResult struct {
	Stored  int `json:"stored"`  // responses stored (replacing any)
	Refused int `json:"refused"` // responses not stored (not a 200, or not cacheable), Skipped included
	// Skipped counts the responses not stored because their page already
	// holds as many variants as its view keeps (MaxVariants): clients
	// asked for it in other encodings, and their entries are served until
	// they expire. Not an error of the job.
	Skipped int `json:"skipped"`
	Users   int `json:"users"` // users whose statistics were recomputed
}

// warmJob is warm, as the periodic job.
func (a *api) warmJob(ctx context.Context, _ *river.Job[warmArgs]) error {
	res, err := a.warm(ctx)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, res)
}

// warmOrigin is the scheme and host of the warm job's requests. The views
// leave them out of their keys (IgnoreHost), so what the job stores is
// what every name of the service reads.
const warmOrigin = "http://catalog.internal"

// warm fills the cache as clients would: the storefront's first page and
// the first pages of /products (those there are), in each of
// warmEncodings, through the routes (Cache.Warm), and the statistics of
// the most active users, recomputed (Memoized.Refresh: a user who buys a
// lot is the one whose statistics change). A response that was not stored or a request that
// failed is an error of the job, which River retries, except a response
// refused because its page holds all the variants its view keeps: retrying
// would not help until they expire, and that page is cached (for the
// encodings clients asked for), so it is counted as skipped and logged.
func (a *api) warm(ctx context.Context) (warmResult, error) {
	var res warmResult
	// Only the pages there are: one past the last is a 404, which is not
	// stored, and would fail the job.
	first, err := a.store.ListProducts(ctx, 1, defaultPerPage)
	if err != nil {
		return res, err
	}
	paths := []string{"/", "/products"}
	for page := 2; page <= min(warmPages, first.Pages); page++ {
		paths = append(paths, "/products?page="+strconv.Itoa(page))
	}
	var targets []caching.WarmTarget
	for _, path := range paths {
		for _, enc := range warmEncodings {
			t := caching.WarmTarget{URL: warmOrigin + path}
			if enc != "" {
				t.Header = http.Header{"Accept-Encoding": {enc}}
			}
			targets = append(targets, t)
		}
	}
	rep := a.cache.Warm(ctx, a.mux, targets...)
	res.Stored, res.Refused = rep.Stored, rep.Refused
	var errs []error
	var skipped []string
	for i, r := range rep.Results {
		switch {
		case r.Err != nil:
			errs = append(errs, r.Err)
		case r.Stored:
		case r.Reason == "variants":
			skipped = append(skipped, r.URL+" (Accept-Encoding: "+targets[i].Header.Get("Accept-Encoding")+")")
		default:
			errs = append(errs, fmt.Errorf("warm %s: not stored: status %d, %s", r.URL, r.Status, r.Reason))
		}
	}
	if res.Skipped = len(skipped); res.Skipped > 0 {
		a.log.Warn("warm: pages skipped: they hold all the variants their view keeps", "targets", skipped)
	}
	users, err := a.store.MostActiveUsers(ctx, a.store.now().Add(-activeWindow), activeUsers)
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	for _, u := range users {
		for p := range periods {
			_, err := a.stats.Refresh(ctx, statsArgs{UserID: u, Period: p})
			errs = append(errs, err)
		}
		res.Users++
	}
	return res, errors.Join(errs...)
}

// purgeResult is the result of a purge job.
type purgeResult struct {
	Deleted int64     `json:"deleted"`
	Before  time.Time `json:"before"`
}

// purgeJob is purge, as the periodic job.
func (a *api) purgeJob(ctx context.Context, job *river.Job[purgeArgs]) error {
	res, err := a.purge(ctx, job.Attempt > 1)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, res)
}

// purge deletes the sales older than the retention window and, if there were
// any, invalidates the tag "sales": every statistic and report made of them,
// in one write. A retry invalidates whatever it deletes: the attempt that
// failed may have deleted sales and not invalidated.
func (a *api) purge(ctx context.Context, retry bool) (purgeResult, error) {
	res := purgeResult{Before: a.store.now().Add(-a.retention).UTC().Truncate(time.Second)}
	n, err := a.store.PurgeSales(ctx, res.Before)
	if err != nil {
		return res, err
	}
	res.Deleted = n
	if n > 0 || retry {
		if err := a.cache.InvalidateTags(ctx, "sales"); err != nil {
			return res, fmt.Errorf("%d sales deleted, invalidation failed: %w", n, err)
		}
	}
	return res, nil
}

// parseMonth parses a report's month, YYYY-MM from 1970-01 to 9999-12, as
// its first instant in UTC.
func parseMonth(s string) (time.Time, error) {
	m, err := time.Parse(monthLayout, s)
	if err != nil || m.Format(monthLayout) != s || m.Year() < 1970 {
		return time.Time{}, fmt.Errorf("month must be YYYY-MM, from 1970-01 to 9999-12")
	}
	return m, nil
}
