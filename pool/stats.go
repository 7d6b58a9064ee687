package pool

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

// Stats is one pool's state and history, as the stats handler prints it.
// Counters are totals since the pool was opened. Fields a kind of pool
// cannot report are left out of the JSON.
type Stats struct {
	// Kind is "sql", "redis" or "memcache".
	Kind string `json:"kind"`
	// Size and MaxOverflow are the configured limits (after defaults);
	// MaxOpen is their sum, or -1 where nothing bounds the open
	// connections: a gomemcache client (Kind "memcache") dials one for every
	// call that finds none idle and counts none of them, so its Size is its
	// MaxIdleConns per server and its MaxOpen is -1, whatever Config was
	// given to ApplyMemcache.
	Size        int `json:"size"`
	MaxOverflow int `json:"max_overflow"`
	MaxOpen     int `json:"max_open"`
	// Open, InUse and Idle count connections now (InUse + Idle = Open, none
	// negative); Overflow is how many of the open ones exceed Size (never
	// negative).
	Open     int `json:"open"`
	InUse    int `json:"in_use"`
	Idle     int `json:"idle"`
	Overflow int `json:"overflow"`
	// Waits counts acquisitions that had to wait, WaitTimeMS their total
	// wait, and Timeouts those that gave up (ErrPoolTimeout). They only grow,
	// also for a Redis cluster whose nodes change (see RegisterRedis).
	Waits      int64   `json:"waits"`
	WaitTimeMS float64 `json:"wait_time_ms"`
	Timeouts   int64   `json:"timeouts"`
	// Opened counts connections dialed, ConnectErrors the dials that failed.
	Opened        int64 `json:"opened,omitempty"`
	ConnectErrors int64 `json:"connect_errors,omitempty"`
	// Closed counts connections closed, by reason: "max_idle" (returned
	// while Size were idle: overflow), "idle_timeout", "lifetime"
	// (database/sql's own limit), "recycle" (the jittered Recycle),
	// "pre_ping" (found dead by PrePing), "other" (broken, or the pool was
	// closed); Redis reports "stale". Each count only grows (they are
	// exported as Prometheus counters), also for a Redis cluster whose nodes
	// change (see RegisterRedis); "other" may lag a close still in progress.
	Closed map[string]int64 `json:"closed,omitempty"`
	// PrePings counts the pings PrePing sent.
	PrePings int64 `json:"pre_pings,omitempty"`
	// Queries counts the queries run, SlowQueries those at or over
	// SQLOptions.SlowQuery (logged or suppressed by the rate limit).
	Queries     int64 `json:"queries,omitempty"`
	SlowQueries int64 `json:"slow_queries,omitempty"`
	// TimeoutMS is the configured socket or acquire timeout.
	TimeoutMS float64 `json:"timeout_ms,omitempty"`
	// SQLAlchemy repeats the state in QueuePool's words.
	SQLAlchemy SQLAlchemyStatus `json:"sqlalchemy"`
}

// SQLAlchemyStatus is a pool's state in the names of SQLAlchemy's
// QueuePool.status(), for users coming from Flask: Overflow is open minus
// size, negative while the pool has fewer than Size connections, as there
// ("overflow": -8 is a pool of 10 with 2 connections open). Note says so in
// the JSON itself, for whoever reads the stats endpoint without this doc.
type SQLAlchemyStatus struct {
	Size       int    `json:"size"`
	CheckedIn  int    `json:"checkedin"`
	CheckedOut int    `json:"checkedout"`
	Overflow   int    `json:"overflow"`
	Note       string `json:"note"`
}

// overflowNote is SQLAlchemyStatus.Note: what a negative overflow
// means.
const overflowNote = "overflow is open minus size, as SQLAlchemy's QueuePool counts it: " +
	"negative while fewer than size connections are open (-8: 2 open of 10); " +
	"the top-level overflow counts the connections open beyond size and is never negative"

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fill derives Overflow and the SQLAlchemy names from the other fields.
func (s *Stats) fill() {
	s.Overflow = max(0, s.Open-s.Size)
	s.SQLAlchemy = SQLAlchemyStatus{Size: s.Size, CheckedIn: s.Idle, CheckedOut: s.InUse, Overflow: s.Open - s.Size,
		Note: overflowNote}
}

func limits(s *Stats, c Config) {
	r := c.Resolved()
	s.Size, s.MaxOpen = r.Size, c.MaxOpen()
	s.MaxOverflow = s.MaxOpen - s.Size
	s.TimeoutMS = ms(r.Timeout)
}

// Stats returns the pool's state and history. It is safe for concurrent use.
// It shadows (*sql.DB).Stats, still available as db.DB.Stats().
func (db *DB) Stats() Stats {
	// closedOther is read before database/sql's counters: see otherClosed.
	closedOther := db.closedOther.Load()
	d := db.DB.Stats()
	s := Stats{Kind: "sql", Open: d.OpenConnections, InUse: d.InUse, Idle: d.Idle,
		Waits: d.WaitCount, WaitTimeMS: ms(d.WaitDuration), Timeouts: db.timeouts.Load(),
		Opened: db.opened.Load(), ConnectErrors: db.connectErrors.Load(), PrePings: db.prePings.Load(),
		Queries: db.queries.Load(), SlowQueries: db.slowQueries.Load()}
	limits(&s, db.cfg)
	s.Closed = map[string]int64{
		"max_idle":     d.MaxIdleClosed,
		"idle_timeout": d.MaxIdleTimeClosed,
		"lifetime":     d.MaxLifetimeClosed,
		"recycle":      db.closedRecycle.Load(),
		"pre_ping":     db.closedPrePing.Load(),
		"other":        db.otherClosed(closedOther, d),
	}
	s.fill()
	return s
}

// otherClosed returns closed{reason="other"}: the closes our conn counted
// in closedOther that database/sql does not count under a reason of its own.
// Only database/sql knows why it closes a connection, so "other" is a
// difference, and one that lags: database/sql raises its counter under its
// lock and closes the connection after, and only then does closedOther
// rise. A snapshot between the two reads "other" too low and the next one
// reads it right again: reported as is, the counter went back and forth,
// which Prometheus takes for resets.
//
// Read before d, closedOther holds no close for one of database/sql's
// reasons that d does not count already, so the difference never exceeds
// the true count; it falls short by the closes in flight. The highest
// difference seen is reported: it never decreases, never exceeds the truth,
// and is exact once no close is in flight.
func (db *DB) otherClosed(closedOther int64, d sql.DBStats) int64 {
	seen := closedOther - d.MaxIdleClosed - d.MaxIdleTimeClosed - d.MaxLifetimeClosed
	for {
		high := db.reportedOther.Load()
		if seen <= high || db.reportedOther.CompareAndSwap(high, seen) {
			return max(high, seen)
		}
	}
}

// RedisPooler is what go-redis clients (*redis.Client, *redis.ClusterClient,
// redis.UniversalClient) offer for pool statistics.
type RedisPooler interface {
	PoolStats() *redis.PoolStats
}

// redisStats is a go-redis pool's Stats: the gauges from p, its latest
// statistics, and the counters from t. go-redis counts a MinIdle
// connection as idle from the moment it starts dialing it, and among its
// connections only once it is dialed (and reads the two apart), so its
// IdleConns may exceed its TotalConns: Idle is kept to at most Open, and
// InUse is never negative.
func redisStats(p *redis.PoolStats, t redisTotals, cfg Config) Stats {
	open := int(p.TotalConns)
	idle := min(int(p.IdleConns), open)
	s := Stats{Kind: "redis", Open: open, Idle: idle,
		InUse: open - idle, Waits: t.waits,
		WaitTimeMS: ms(time.Duration(t.waitNs)), Timeouts: t.timeouts,
		Closed: map[string]int64{"stale": t.stale}}
	limits(&s, cfg)
	s.fill()
	return s
}

func memcacheStats(mc *memcache.Client) Stats {
	// gomemcache keeps no statistics: only its limits can be shown.
	s := Stats{Kind: "memcache", Size: mc.MaxIdleConns, TimeoutMS: ms(mc.Timeout)}
	if s.Size < 1 {
		s.Size = memcache.DefaultMaxIdleConns
	}
	if mc.Timeout == 0 {
		s.TimeoutMS = ms(memcache.DefaultTimeout)
	}
	s.MaxOpen = -1 // gomemcache's getConn dials whenever no connection is idle: no bound
	s.fill()
	return s
}

// Registry holds the pools and other sources the stats handler reports, by
// name. The zero value is ready to use; it is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	sources map[string]*source
}

// sourceWait is how long a report waits for a source's result.
const sourceWait = 2 * time.Second

// source is a registered function and its call in flight, if one is: a
// source is called once at a time, and the reports made meanwhile share
// the call's result.
type source struct {
	fn       func() any
	mu       sync.Mutex
	inflight *sourceCall
}

// sourceCall is one call of a source: v is its result once done is
// closed.
type sourceCall struct {
	done chan struct{}
	v    any
}

// start returns the source's call in flight, and starts one on a goroutine
// of its own if none is, so that a report can give up waiting for it.
func (s *source) start() *sourceCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.inflight; c != nil {
		return c
	}
	c := &sourceCall{done: make(chan struct{})}
	s.inflight = c
	go func() {
		// Deferred, so that a source that ends its goroutine
		// (runtime.Goexit) does not leave its reports waiting: its result
		// is nil.
		defer func() {
			s.mu.Lock()
			s.inflight = nil
			s.mu.Unlock()
			close(c.done)
		}()
		c.v = call(s.fn)
	}()
	return c
}

// ErrDuplicate reports a second registration under one name.
var ErrDuplicate = errors.New("pool: name already registered")

// Register adds a source under name: fn is called for each report (a
// request to the stats handler, Snapshot) and its result is encoded as JSON
// (the caching.Cache's hit/miss statistics are registered this way, since
// pool does not import the root package), concurrently with the other
// sources but never with itself: reports made while a call runs share its
// result. fn must be safe to call from any goroutine, must not return
// secrets, and must not change a result it returned. It is also called at
// every scrape of a metrics Collector given the Registry (package metrics,
// Options.Pools), which calls every source to find those that return
// Stats: fn must be cheap and must not wait on a
// server (read counters the program keeps, not a backend that may be down).
// A report waits for fn at most 2 s, then reports it as an error in its
// place, and fn is not called again before that call returns: meanwhile
// every report waits on that call. A panic of fn is recovered and
// reported as an error in fn's place (see Snapshot). A name used twice is
// an error wrapping ErrDuplicate (Unregister frees a name).
func (r *Registry) Register(name string, fn func() any) error {
	if fn == nil {
		return errors.New("pool: Register: nil source")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sources[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	if r.sources == nil {
		r.sources = make(map[string]*source)
	}
	r.sources[name] = &source{fn: fn}
	return nil
}

// errNilPool reports a Register function given a nil pool: its source would
// dereference it at the first report, in a Prometheus scrape a panic that
// takes the program down.
var errNilPool = errors.New("pool: Register: nil pool")

// Unregister removes the source registered under name and reports whether
// there was one; the name can then be registered again. Use it to replace
// a pool that is closed and opened anew (a client rebuilt after a
// credentials rotation or a configuration reload): otherwise the Registry
// goes on reporting the closed pool, and a replacement registered under a
// new name at each reload grows the report and a metrics Collector's
// series without bound. A report already under way may still call the
// removed source once: unregister a pool before closing it, or keep its
// source safe to call once it is closed (those of RegisterSQL,
// RegisterRedis and RegisterMemcache are).
func (r *Registry) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sources[name]; !ok {
		return false
	}
	delete(r.sources, name)
	return true
}

// RegisterSQL registers a DB opened by OpenDB. A nil db is an error.
func (r *Registry) RegisterSQL(name string, db *DB) error {
	if db == nil || db.DB == nil {
		return fmt.Errorf("%w (RegisterSQL %q)", errNilPool, name)
	}
	return r.Register(name, func() any { return db.Stats() })
}

// RegisterRedis registers a go-redis client; cfg is the Config applied to
// its options (for the limits the report shows). A request for the
// statistics waits at most 100 ms for the client's: a
// *redis.ClusterClient that has not loaded the cluster's state dials the
// cluster to read them, so with the cluster down the report shows the last
// statistics read (zeros before the first) instead of waiting for the
// client's timeouts. One read at a time is in flight, and the waits of the
// Registry's clients overlap: a report with every cluster down takes
// about 100 ms, however many clients it has.
//
// The counters (Waits, WaitTimeMS, Timeouts, Closed["stale"]) add up the
// growth from each read of the client's statistics to the next, so they
// only grow, also when a cluster's node set changes. go-redis reports a
// *redis.ClusterClient's (or a *redis.Ring's) statistics as the sum over the
// nodes it knows now, and a node that leaves (a failover, a node removed)
// takes its counts out of the sum. Reported here, the activity of the node
// that left stays counted, the drop is not counted (it is no new activity),
// and the growth after it is. go-redis gives sums only, so two cases are
// approximate: the growth between the two reads around a node's leaving is
// lost (it is netted against the drop), and a node that comes back before
// go-redis discards its client (about a minute) brings its old counts back
// into the sum, where they are counted again.
// go-redis counts in uint32s, which wrap after 2^32: for a *redis.Client
// (one pool for its life) a decrease is a wrap and is counted exactly; for
// any other client it cannot be told from a node leaving and is not
// counted. The gauges (Open, Idle, InUse) are the latest read's: they go
// down with the node set. A nil c (a nil interface, or one holding a nil
// pointer) is an error; a read of the client's statistics that panics is
// taken for no read (the report shows the last one).
func (r *Registry) RegisterRedis(name string, c RedisPooler, cfg Config) error {
	if isNil(c) {
		return fmt.Errorf("%w (RegisterRedis %q)", errNilPool, name)
	}
	return r.Register(name, newRedisSource(c, cfg).stats)
}

// isNil reports whether v is nil or holds a nil pointer, map, slice, func,
// channel or interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// redisStatsWait is how long a request for the statistics of a client
// registered by RegisterRedis waits for the client's.
const redisStatsWait = 100 * time.Millisecond

// redisSource reads a go-redis client's statistics on a goroutine of its
// own, one read at a time, keeps the last one (for the gauges) and adds the
// growth of its counters to totals that only grow.
type redisSource struct {
	c   RedisPooler
	cfg Config
	// single: c is a *redis.Client, one pool for its life, whose counters
	// can decrease only by wrapping around 2^32.
	single bool

	mu       sync.Mutex
	inflight chan struct{} // closed when the read in flight ends; nil: none
	last     *redis.PoolStats
	total    redisTotals
}

// redisTotals are the counters a redisSource reports.
type redisTotals struct {
	waits, timeouts, stale, waitNs int64
}

func newRedisSource(c RedisPooler, cfg Config) *redisSource {
	_, single := c.(*redis.Client)
	return &redisSource{c: c, cfg: cfg, single: single}
}

// add records p, the client's statistics just read, with s.mu held: its
// counters' growth since the last read is added to the totals. Reads are
// added one at a time, in the order they were made.
func (s *redisSource) add(p *redis.PoolStats) {
	if p == nil {
		return // not a go-redis client's: keep the last read
	}
	prev := s.last
	if prev == nil {
		prev = &redis.PoolStats{} // the first read counts from zero
	}
	s.total.waits += s.grew32(prev.WaitCount, p.WaitCount)
	s.total.timeouts += s.grew32(prev.Timeouts, p.Timeouts)
	s.total.stale += s.grew32(prev.StaleConns, p.StaleConns)
	// An int64 of nanoseconds does not wrap (292 years of waiting): a
	// decrease is a node leaving.
	s.total.waitNs += max(0, p.WaitDurationNs-prev.WaitDurationNs)
	s.last = p
}

// grew32 is how much a uint32 counter of go-redis grew from prev to cur.
// For a single client a decrease is a wrap, and uint32 arithmetic gives the
// growth across it. For a sum over nodes (a cluster, a ring, or any other
// RedisPooler) a decrease is taken for a node leaving: it is not counted,
// and the next read's growth is counted from cur. A wrap of the sum is then
// handled as one too, losing the growth between two reads once every 2^32,
// rather than risking the count of up to 2^32 events that never happened
// whenever a node with a large count leaves.
func (s *redisSource) grew32(prev, cur uint32) int64 {
	if cur >= prev || s.single {
		return int64(cur - prev)
	}
	return 0
}

// read returns the client's statistics, or nil when reading them panics:
// read runs on a goroutine of the source's own, where no caller could
// recover the panic, and it would end the program.
func (s *redisSource) read() (p *redis.PoolStats) {
	defer func() {
		if recover() != nil {
			p = nil
		}
	}()
	return s.c.PoolStats()
}

func (s *redisSource) stats() any {
	s.mu.Lock()
	if s.inflight == nil {
		done := make(chan struct{})
		s.inflight = done
		go func() {
			defer close(done)
			p := s.read()
			s.mu.Lock()
			s.add(p)
			s.inflight = nil
			s.mu.Unlock()
		}()
	}
	done := s.inflight
	s.mu.Unlock()
	t := time.NewTimer(redisStatsWait)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	s.mu.Lock()
	p, total := s.last, s.total
	s.mu.Unlock()
	if p == nil {
		p = &redis.PoolStats{}
	}
	return redisStats(p, total, s.cfg)
}

// RegisterMemcache registers a gomemcache client. gomemcache keeps no pool
// statistics: the report shows its limits only, Size (its MaxIdleConns per
// server) and TimeoutMS. Its MaxOpen is -1: gomemcache has no bound on open
// connections (it dials one for each call beyond the idle ones), so neither
// ApplyMemcache nor anything else can set one. A nil mc is an error.
func (r *Registry) RegisterMemcache(name string, mc *memcache.Client) error {
	if mc == nil {
		return fmt.Errorf("%w (RegisterMemcache %q)", errNilPool, name)
	}
	return r.Register(name, func() any { return memcacheStats(mc) })
}

// sourcePanicked and sourceHung are the errors Snapshot reports for a
// source that panicked and for one that did not return in time.
const (
	sourcePanicked = "pool: the source panicked"
	sourceHung     = "pool: the source did not answer in time"
)

// Snapshot calls every source and returns their results by name. A source
// that panics is reported as {"error": "pool: the source panicked"} (the
// panic's value is not: it may hold what the program would not print), and
// the others as usual: the stats handler, where net/http would have
// recovered the panic and answered nothing, still reports every other
// pool, and a metrics Collector, whose panic inside a Prometheus scrape
// ends the program (Gather collects on goroutines of its own), exports
// the others. The sources are called concurrently, so that their waits
// (each Redis client's, with its cluster down) overlap.
//
// Snapshot waits for the sources at most 2 s in all: one that has not
// returned by then is reported as {"error": "pool: the source did not
// answer in time"}, and its call is left to end by itself. A source is
// called once at a time: a Snapshot made while a call of it is in flight
// (another Snapshot's, or one that outlasted an earlier Snapshot) waits
// for that call and reports its result, so that a source that never
// returns holds one goroutine, not one more at every report. Results may
// thus be shared by concurrent Snapshots: do not modify them.
func (r *Registry) Snapshot() map[string]any {
	r.mu.RLock()
	names := make([]string, 0, len(r.sources))
	for n := range r.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	// Started together: a source may wait (a Redis client's, up to 100 ms
	// with its cluster down), and one after the other the waits would add
	// up.
	calls := make([]*sourceCall, len(names))
	for i, n := range names {
		calls[i] = r.sources[n].start()
	}
	r.mu.RUnlock()
	deadline := time.NewTimer(sourceWait)
	defer deadline.Stop()
	late := false
	out := make(map[string]any, len(names))
	for i, c := range calls {
		if !late {
			select {
			case <-c.done:
			case <-deadline.C:
				late = true
			}
		}
		select {
		case <-c.done:
			out[names[i]] = c.v
		default:
			out[names[i]] = map[string]string{"error": sourceHung}
		}
	}
	return out
}

// call returns fn's result, or an error object (a map of its own) when it
// panics.
func call(fn func() any) (v any) {
	defer func() {
		if recover() != nil {
			v = map[string]string{"error": sourcePanicked}
		}
	}()
	return fn()
}

// sourceUnencodable is what the stats handler reports for a source whose
// result does not encode as JSON.
var sourceUnencodable = json.RawMessage(`{"error":"pool: the source's result does not encode as JSON"}`)

// encodeEach encodes each source's result apart, so that one that does
// not encode (a NaN or an infinity, a channel, a MarshalJSON that fails or
// panics) is reported as an error, without the encoder's message (it may
// quote the value), and the others as usual.
func encodeEach(snap map[string]any) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(snap))
	for name, v := range snap {
		out[name] = encode(v)
	}
	return out
}

// encode returns v as JSON, or sourceUnencodable.
func encode(v any) (b json.RawMessage) {
	defer func() {
		if recover() != nil {
			b = sourceUnencodable
		}
	}()
	b, err := json.Marshal(v)
	if err != nil {
		return sourceUnencodable
	}
	return b
}

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Authorize decides whether a request may see the statistics. Required:
	// pool statistics tell an attacker how close a service is to falling
	// over. LoopbackOnly is a ready-made one.
	Authorize func(*http.Request) bool
}

// ErrNoAuthorize reports a stats handler built without an Authorize hook.
var ErrNoAuthorize = errors.New("pool: NewHandler: Authorize is required (use pool.LoopbackOnly or a check of your own)")

// NewHandler returns the stats endpoint (mounted at /admin/pool-stats in the
// examples): GET or HEAD answers the JSON object of reg.Snapshot() (one
// Stats per pool, whatever extra sources return; one whose result does not
// encode as JSON, such as a NaN, is reported as {"error": "pool: the
// source's result does not encode as JSON"}). Authorize runs first,
// whatever the method: a request it refuses gets 403, so an unauthorized
// client learns nothing about the endpoint; an authorized request with a
// method other than GET or HEAD gets 405 with "Allow: GET, HEAD". Mount it
// under a pattern without a method ("/admin/pool-stats"): under
// "GET /admin/pool-stats", http.ServeMux answers other methods with 405
// before the handler runs. It never prints DSNs, addresses or passwords:
// pools report counts only.
func NewHandler(reg *Registry, opts HandlerOptions) (http.Handler, error) {
	if reg == nil {
		return nil, errors.New("pool: NewHandler: nil Registry")
	}
	if opts.Authorize == nil {
		return nil, ErrNoAuthorize
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No answer is to be kept by a cache in front: not the report,
		// nor a 405, which RFC 9110 makes cacheable by default.
		w.Header().Set("Cache-Control", "no-store")
		// Authorize runs first, so that a refused client cannot tell the
		// endpoint or its methods apart from any other forbidden path.
		if !opts.Authorize(r) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := json.MarshalIndent(encodeEach(reg.Snapshot()), "", "  ")
		if err != nil {
			http.Error(w, "pool: stats do not encode as JSON", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	}), nil
}

// proxyHeaders are the request headers, lower-cased with '_' read as '-',
// by which a proxy says that it forwarded a request: RFC 9110's Via and
// RFC 7239's Forwarded, the de facto X-Forwarded-* family (proxyPrefixes)
// and its legacy bare X-Forwarded, and the client address headers of
// common proxies, sidecars and CDNs.
var proxyHeaders = map[string]bool{
	"via":                      true,
	"forwarded":                true,
	"x-forwarded":              true,
	"x-real-ip":                true,
	"x-client-ip":              true,
	"x-cluster-client-ip":      true,
	"true-client-ip":           true,
	"cf-connecting-ip":         true,
	"fastly-client-ip":         true,
	"x-envoy-external-address": true,
	"x-azure-clientip":         true,
	"x-azure-socketip":         true,
	"x-appengine-user-ip":      true,
	"x-proxyuser-ip":           true,
	"fly-client-ip":            true,
	"x-vercel-forwarded-for":   true,
	"wl-proxy-client-ip":       true,
	"incap-client-ip":          true,
	"cf-connecting-ipv6":       true,
}

// proxyPrefixes name families of proxy headers: X-Forwarded-For, -Host,
// -Proto...; the X-Original-* copies of them (and of the URL) that
// ingress controllers and rewriting proxies keep; Envoy's X-Envoy-*, which
// an Envoy or Istio sidecar adds to the requests it forwards (the client's
// address in X-Envoy-External-Address, but X-Envoy-Attempt-Count,
// -Original-Path, -Internal... as well); and Tailscale's Tailscale-*, which
// tailscale serve adds when it forwards a tailnet client's request to a
// loopback port (Tailscale-User-Login, ...). A whole family is refused
// rather than the fields of it that name a client: any of them says that
// the proxy forwarded the request, and the family grows.
var proxyPrefixes = []string{"x-forwarded-", "x-original-", "x-envoy-", "tailscale-"}

// proxied reports whether h carries a header a proxy adds, under any
// spelling of its name: net/http canonicalizes the names it reads from the
// wire, but a handler earlier in the chain may have set a map key in any case,
// and some gateways spell '-' as '_'.
func proxied(h http.Header) bool {
	for name := range h {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if proxyHeaders[n] {
			return true
		}
		for _, p := range proxyPrefixes {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
	}
	return false
}

// LoopbackOnly is an Authorize hook that admits a request only when its
// peer is a loopback address, its Host names the local machine, and it
// carries no header a proxy adds: Via, Forwarded, X-Forwarded, any
// X-Forwarded-* (X-Forwarded-For, -Host, -Proto, ...) or X-Original-*
// (X-Original-Forwarded-For, X-Original-URL, ...), X-Real-IP,
// X-Client-IP, X-Cluster-Client-IP, True-Client-IP, CF-Connecting-IP,
// CF-Connecting-IPv6, Fastly-Client-IP, Fly-Client-IP,
// X-Vercel-Forwarded-For, WL-Proxy-Client-IP, Incap-Client-IP,
// X-Azure-ClientIP, X-Azure-SocketIP, X-Appengine-User-Ip, X-ProxyUser-Ip,
// any X-Envoy-* (Envoy and Istio sidecars) or any Tailscale-* (tailscale
// serve), in any case and with '_' for '-'.
// Behind a reverse proxy on the same machine every request comes from
// loopback, and those headers are how the proxy says that the client is
// elsewhere. A header's mere presence refuses the request, whatever its
// value: a proxy's value cannot be told from a client's.
//
// The Host (r.Host, with or without a port of digits) must be "localhost",
// a name under ".localhost" (RFC 6761 reserves them for loopback: browsers
// answer them with loopback themselves, and no one can register one in
// DNS), in any case, or an IP literal that parses strictly (net/netip) as a
// loopback address: 127.0.0.0/8, or [::1] in brackets, with a zone only if
// it names this machine's loopback interface ([::1%25lo], RFC 6874; by name
// or index), the one link ::1 is on (RFC 4291 gives it link-local scope).
// Any other Host ([::1%25evil.com], [::1%25eth0], [127.0.0.1], an
// unbracketed ::1), or none, is refused: a browser on the machine sends
// loopback requests with the Host of the page that made them, and DNS
// rebinding (a name of the attacker's that first resolves to its server,
// then to 127.0.0.1) makes a page of any site same-origin with a loopback
// service, so that it can read the answers. Reach the endpoint as localhost
// or 127.0.0.1: by the machine's own name it is refused, whatever the peer.
//
// So a service behind a proxy cannot reach the statistics through it with
// LoopbackOnly. To allow that, write an Authorize of your own (a token or
// client certificate the proxy cannot forge, or a check of the addresses
// your proxy sets); LoopbackOnly is deliberately the conservative choice.
// It relies on a proxy adding one of those headers: behind a proxy on the
// same machine that adds none (a TCP-mode proxy, or nginx's proxy_pass
// without proxy_set_header), every client looks local: do not use it there.
// It is safe for concurrent use.
func LoopbackOnly(r *http.Request) bool {
	if proxied(r.Header) {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	// The peer first: only a local one may make LoopbackHost look up an
	// interface.
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && LoopbackHost(r.Host)
}

// LoopbackHost reports whether host, a request's Host (r.Host) with or
// without a port (":" and digits), names the local machine as LoopbackOnly
// requires: "localhost" or a name under ".localhost" (either with a final
// dot, in any case), an IPv4 loopback literal that parses strictly, or an
// IPv6 loopback literal in brackets ([::1], or an IPv4 loopback address
// mapped, [::ffff:127.0.0.1]), with no zone or one naming the loopback
// interface, as RFC 6874 writes it in a URL ("[::1%25lo]", which
// net/http hands through in r.Host) or plainly ("[::1%lo]"). Anything else
// ("", a name of another domain that may resolve to 127.0.0.1, an
// unbracketed ::1) is false. It checks the Host alone, not the peer: it is
// the check against DNS rebinding for an Authorize of your own, or for a
// service on loopback that takes writes only for its loopback names. A
// zone makes it look the interface up (a system call). It is safe for
// concurrent use.
func LoopbackHost(host string) bool {
	if lit, ok := strings.CutPrefix(host, "["); ok {
		lit, port, ok := strings.Cut(lit, "]")
		if !ok || !portOnly(port) {
			return false
		}
		addr, zone, zoned := strings.Cut(lit, "%25")
		if !zoned {
			addr, zone, zoned = strings.Cut(lit, "%")
		}
		ip, err := netip.ParseAddr(addr)
		return err == nil && ip.Is6() && ip.IsLoopback() && (!zoned || loopbackZone(zone))
	}
	name := host
	if i := strings.IndexByte(host, ':'); i >= 0 {
		if !portOnly(host[i:]) {
			return false // another colon: an IPv6 literal must be in brackets
		}
		name = host[:i]
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		return ip.Is4() && ip.IsLoopback()
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	return name == "localhost" || (strings.HasSuffix(name, ".localhost") && len(name) > len(".localhost"))
}

// portOnly reports whether s, what follows a Host's name or literal, is
// nothing or a port: ":" and digits (RFC 3986 lets them be none).
func portOnly(s string) bool {
	if s == "" {
		return true
	}
	return s[0] == ':' && digits(s[1:])
}

// digits reports whether s is made of ASCII digits only (true for "").
func digits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// loopbackZone reports whether zone, an IPv6 zone, names this machine's
// loopback interface, by name or by index: the only zone that means
// something for ::1. It looks the interface up (a system call): LoopbackOnly
// calls it only for a loopback peer, LoopbackHost for any caller's Host.
func loopbackZone(zone string) bool {
	var (
		ifi *net.Interface
		err error
	)
	if digits(zone) {
		n, aerr := strconv.Atoi(zone)
		if aerr != nil || n <= 0 {
			return false
		}
		ifi, err = net.InterfaceByIndex(n)
	} else {
		ifi, err = net.InterfaceByName(zone)
	}
	return err == nil && ifi.Flags&net.FlagLoopback != 0
}
