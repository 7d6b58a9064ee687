// Package pool gives connection pools SQLAlchemy's vocabulary with Go's
// semantics, for users coming from Flask-SQLAlchemy: one Config (Size,
// MaxOverflow, Timeout, Recycle with jitter, PrePing, IdleTimeout, MinIdle),
// validated once, applied to a *sql.DB (ApplySQL), to go-redis options
// (ApplyRedis, ApplyRedisUniversal, ApplyRedisCluster) and to a gomemcache
// client (ApplyMemcache).
//
// # What database/sql lacks
//
// OpenDB wraps a driver.Connector to add what database/sql does not have:
// PrePing (a pooled connection is pinged before it is handed out, and a dead
// one is replaced transparently: the wrapper's ResetSession reports
// driver.ErrBadConn, so database/sql closes it and retries on another),
// per-connection recycle jitter (each connection gets its own deadline,
// enforced by driver.Validator when it is returned and by ResetSession when
// it is handed out), an acquire timeout (DB.Conn acquires under a context
// whose deadline is Timeout, and the caller's query then runs on the acquired
// connection under the caller's context; a timeout is ErrPoolTimeout, and is
// counted), and query accounting: every query is timed until its Rows are
// closed, counted (Stats.Queries, QueriesRun), reported to the request's
// Server-Timing through timing.Count (db;dur=12.5;desc="7 queries"), and
// logged through a *slog.Logger when it is slow, with its literals stripped
// (Strip) and its arguments left out unless asked.
//
// Package pool imports package timing (not the reverse): a query run with a
// request's context lands in that request's Server-Timing header when the
// timing middleware is in the chain, at no cost otherwise.
//
// # Statistics
//
// A Registry names the pools (and any other source, such as a cache's
// hit/miss counts, registered as a func() any) that NewHandler reports as
// JSON: open, in use, idle, overflow, waits, wait time, timeouts, closed by
// reason, and SQLAlchemy's size/checkedin/checkedout/overflow (Unregister
// removes a pool that is replaced, freeing its name). NewHandler
// requires an Authorize hook (LoopbackOnly is one: a loopback peer asking
// for a loopback Host, not through a proxy; LoopbackHost is its Host
// check alone, against DNS rebinding), which runs before the
// method is checked, so a refused client gets 403 whatever it sends; pools
// report counts, never DSNs, addresses or passwords. A source that panics,
// whose result does not encode as JSON, or that has not answered within
// 2 s is reported as an error, the others as usual.
//
// Everything in the package is safe for concurrent use.
package pool
