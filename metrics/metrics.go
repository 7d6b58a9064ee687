// Package metrics exports what a caching.Cache counts as Prometheus metrics
// (github.com/prometheus/client_golang): the outcomes of every view (by
// route pattern or Name) and memoized function (by name), backend errors
// and corrupt entries, the latency of backend calls by operation, the
// circuit breaker's state, the lease's waits and timeouts, the near cache's
// figures, and the connection pools of package pool.
//
// It is a module of its own, so that a program that does not import it
// never compiles the Prometheus client:
//
//	lat := metrics.NewLatency()
//	c := caching.Must(&caching.Options{Backend: b, Observer: lat})
//	prometheus.MustRegister(metrics.New(c, metrics.Options{Latency: lat, Pools: &reg}))
//	mux.Handle("GET /metrics", promhttp.Handler())
//
// Every counter is read from the Cache when the collector is scraped (the
// Cache keeps them whether or not it is collected): a scrape costs a few
// atomic loads per view and function. Only the latency histogram is
// recorded as the Cache works, by the Latency observer.
//
// # Metrics
//
// Cache-wide: caching_hits_total, caching_stale_hits_total,
// caching_misses_total, caching_bypasses_total (every view, function and
// direct read), caching_sets_total, caching_errors_total,
// caching_unavailable_total (backend calls not made while the circuit
// breaker was open, or refused at once because their memcached server is
// marked down), caching_corrupt_total, caching_entries, caching_bytes and
// caching_evictions_total (when the backend knows them),
// caching_breaker_state{state} (1 for the current state of "closed",
// "half-open", "open"; absent for an in-process store),
// caching_leases_total, caching_lease_waits_total,
// caching_lease_timeouts_total, caching_collapse_timeouts_total (view
// requests that gave up waiting CollapseTimeout for another's run of their
// key and ran the handler themselves), caching_collapse_takeovers_total
// (those of them that took that run over, their response stored in its
// place: counted in both), caching_pending_invalidations
// (failed invalidations waiting to be retried).
//
// Per view: caching_view_requests_total{view,outcome} (outcome "hit",
// "stale", "miss", "bypass"), caching_view_errors_total{view},
// caching_view_corrupt_total{view}. Per memoized function:
// caching_memoize_calls_total{function,outcome},
// caching_memoize_errors_total{function},
// caching_memoize_corrupt_total{function}.
//
// Backend calls (with Options.Latency):
// caching_backend_call_duration_seconds{op} (a histogram; op as
// caching.OpGet and friends), caching_backend_call_errors_total{op}.
//
// Near cache (when the Cache's backend is a backend/near Store):
// caching_near_hits_total, caching_near_misses_total (keys looked up in
// process memory: an entry and each of its versions count one each),
// caching_near_invalidations_total (keys dropped on news from other
// processes), caching_near_emptied_total, caching_near_watching (1 while
// invalidations arrive and the near cache is used),
// caching_near_watch_refused (1 while the server refuses the watch: its
// Stats.WatchError wraps near.ErrWatchRefused, as for an ACL without
// CLIENT TRACKING; the near cache is then never used, where
// caching_near_watching 0 with caching_near_watch_refused 0 is an outage
// or a watch being established), caching_near_entries,
// caching_near_bytes.
//
// Pools (with Options.Pools, for each pool.Stats source of the registry):
// caching_pool_connections{pool,state} (state "open", "in_use", "idle"),
// caching_pool_max_open{pool} (-1: unbounded, as a gomemcache client is:
// it dials a connection for every call that finds none idle, whatever its
// pool.Config; its caching_pool_connections read 0, as it counts none),
// caching_pool_waits_total, caching_pool_wait_seconds_total,
// caching_pool_timeouts_total, caching_pool_opened_total,
// caching_pool_connect_errors_total, caching_pool_closed_total{pool,reason},
// caching_pool_queries_total and caching_pool_slow_queries_total, each
// labelled by pool.
//
// A view's, function's or pool's name that is not valid UTF-8 is labelled
// with each bad byte written as \xNN; two names that then come out alike
// (one with the byte, one with the text \xNN) are summed into one series
// (for pools, caching_pool_max_open is -1 if either is unbounded).
package metrics

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/pool"
	"github.com/prometheus/client_golang/prometheus"
)

// NearStatser is what a near cache (backend/near's Store) offers: when the
// Cache's backend implements it, its figures are exported as the
// caching_near_* metrics; otherwise there are none.
type NearStatser interface {
	NearStats() near.Stats
}

// DefaultBuckets are the latency buckets of NewLatency, in seconds: from
// 100 µs (an in-process or loopback call) to 2.5 s (past the Cache's
// default 500 ms Timeout).
var DefaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Latency is a caching.Observer that keeps the latency histogram of the
// backend calls of the Caches it is given to (Options.Observer), by
// operation, and counts their failures (a miss is not one). Give it to New
// to export it, with one Collector: to export several Caches' latencies
// apart, give each Cache a Latency of its own (one Latency shared by two
// Caches holds their calls together, and is exported once). Which calls
// it hears, and which it does not (an in-process store's Go-value calls,
// a near cache's reads of its memory), is caching.Observer's doc. It is safe for
// concurrent use.
type Latency struct {
	hist   *prometheus.HistogramVec
	errors *prometheus.CounterVec
	byOp   map[string]prometheus.Observer // the known operations, resolved once
	errsBy map[string]prometheus.Counter
	// exported: given to a Collector (New refuses a second: both would
	// export the same calls, each under its own labels).
	exported atomic.Bool
}

var _ caching.Observer = (*Latency)(nil)

var knownOps = []string{caching.OpGet, caching.OpGetMany, caching.OpSet, caching.OpSetMany,
	caching.OpAdd, caching.OpDelete, caching.OpClear, caching.OpIncr}

// NewLatency returns a Latency with DefaultBuckets.
func NewLatency() *Latency {
	l := &Latency{
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "caching_backend_call_duration_seconds",
			Help:    "Duration of the byte calls the Cache made to its backend, by operation (not an in-process store's Go-value calls nor a near cache's memory reads).",
			Buckets: DefaultBuckets,
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caching_backend_call_errors_total",
			Help: "Backend calls that failed (misses excluded), by operation.",
		}, []string{"op"}),
		byOp:   map[string]prometheus.Observer{},
		errsBy: map[string]prometheus.Counter{},
	}
	for _, op := range knownOps {
		l.byOp[op] = l.hist.WithLabelValues(op)
		l.errsBy[op] = l.errors.WithLabelValues(op)
	}
	return l
}

// ObserveBackend records one backend call.
func (l *Latency) ObserveBackend(op string, d time.Duration, err error) {
	o, ok := l.byOp[op]
	if !ok {
		o = l.hist.WithLabelValues(op)
	}
	o.Observe(d.Seconds())
	if err != nil && !errors.Is(err, caching.ErrNotFound) {
		if c, ok := l.errsBy[op]; ok {
			c.Inc()
		} else {
			l.errors.WithLabelValues(op).Inc()
		}
	}
}

// Options configures New. The zero value exports the Cache's counters only.
type Options struct {
	// Latency is the Observer given to the Cache's Options.Observer: its
	// histogram is exported with the rest. Nil: no latency metrics.
	Latency *Latency
	// Pools is the registry of connection pools (package pool) whose
	// pool.Stats sources are exported, labelled by their names; sources of
	// other types (and those that panic or do not answer within 2 s: see
	// pool.Registry.Snapshot) are left out, but called all the same at
	// each scrape (a source's type is known once it has answered):
	// register nothing there that waits on a server. Nil: no pool metrics.
	Pools *pool.Registry
}

// Collector is a prometheus.Collector of one Cache. Create it with New and
// register it; it is safe for concurrent use. To export several Caches of
// one process, register each Collector through
// prometheus.WrapRegistererWith with a label of your own ({"cache":
// "pages"}), which tells their series apart, and give each Cache a Latency
// of its own.
type Collector struct {
	c    *caching.Cache
	opts Options
	d    descs
}

var _ prometheus.Collector = (*Collector)(nil)

// descs are the descriptions of the metrics read at each scrape.
type descs struct {
	hits, stale, misses, bypasses, sets, errors, corrupt, unavailable *prometheus.Desc
	entries, bytes, evictions, breaker                                *prometheus.Desc
	leases, leaseWaits, leaseTimeouts, pendingInvalidations           *prometheus.Desc
	collapseTimeouts, collapseTakeovers                               *prometheus.Desc
	viewReqs, viewErrs, viewCorrupt                                   *prometheus.Desc
	memoCalls, memoErrs, memoCorrupt                                  *prometheus.Desc
	nearHits, nearMisses, nearInvalidations, nearEmptied              *prometheus.Desc
	nearWatching, nearWatchRefused, nearEntries, nearBytes            *prometheus.Desc
	poolConns, poolMaxOpen, poolWaits, poolWaitSeconds                *prometheus.Desc
	poolTimeouts, poolOpened, poolConnectErrors                       *prometheus.Desc
	poolClosed, poolQueries, poolSlowQueries                          *prometheus.Desc
}

// New returns the Collector of c. It panics if opts.Latency was given to
// another Collector: that Collector exports its calls already, and the sum
// of the two series would count every call twice.
func New(c *caching.Cache, opts Options) *Collector {
	if opts.Latency != nil && !opts.Latency.exported.CompareAndSwap(false, true) {
		panic("metrics: New: this Latency is exported by another Collector already; give each Cache its own NewLatency")
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{c: c, opts: opts, d: descs{
		hits:                 d("caching_hits_total", "Fresh entries served (views, memoized functions and direct reads), waiters served another run's result included."),
		stale:                d("caching_stale_hits_total", "Stale entries served (stale-while-revalidate, stale-if-error, a lease held elsewhere)."),
		misses:               d("caching_misses_total", "Lookups that found nothing usable: the handler or function ran."),
		bypasses:             d("caching_bypasses_total", "Requests and calls that did not consult the cache."),
		sets:                 d("caching_sets_total", "Entries written."),
		errors:               d("caching_errors_total", "Backend errors swallowed by failing open."),
		unavailable:          d("caching_unavailable_total", "Backend calls not made because the circuit breaker was open, or because their server is marked down (memcached)."),
		corrupt:              d("caching_corrupt_total", "Entries that did not decode (and were deleted)."),
		entries:              d("caching_entries", "Entries held by the backend."),
		bytes:                d("caching_bytes", "Bytes held by the backend."),
		evictions:            d("caching_evictions_total", "Entries the backend evicted for room."),
		breaker:              d("caching_breaker_state", "The circuit breaker's state: 1 for the current one.", "state"),
		leases:               d("caching_leases_total", "Leases taken: misses that ran the work for every process."),
		leaseWaits:           d("caching_lease_waits_total", "Misses that waited for another process's lease."),
		leaseTimeouts:        d("caching_lease_timeouts_total", "Lease waits that ran the work themselves after the lease time."),
		collapseTimeouts:     d("caching_collapse_timeouts_total", "View requests that gave up waiting CollapseTimeout for another's run of their key and ran the handler themselves."),
		collapseTakeovers:    d("caching_collapse_takeovers_total", "Those of caching_collapse_timeouts_total that took the run they waited for over, their response stored in its place."),
		pendingInvalidations: d("caching_pending_invalidations", "Invalidations that failed while the backend was down, retried until it answers."),
		viewReqs:             d("caching_view_requests_total", "Requests of a view, by outcome.", "view", "outcome"),
		viewErrs:             d("caching_view_errors_total", "Backend errors a view failed open on.", "view"),
		viewCorrupt:          d("caching_view_corrupt_total", "Corrupt entries a view met.", "view"),
		memoCalls:            d("caching_memoize_calls_total", "Calls of a memoized function, by outcome.", "function", "outcome"),
		memoErrs:             d("caching_memoize_errors_total", "Backend errors a memoized function failed open on.", "function"),
		memoCorrupt:          d("caching_memoize_corrupt_total", "Corrupt entries a memoized function met.", "function"),

		nearHits:          d("caching_near_hits_total", "Keys found in the near cache (an entry and each of its versions count one each)."),
		nearMisses:        d("caching_near_misses_total", "Keys looked up in the near cache and not found there."),
		nearInvalidations: d("caching_near_invalidations_total", "Keys the near cache dropped on news from other processes."),
		nearEmptied:       d("caching_near_emptied_total", "Times the near cache was emptied (invalidations lost or back, a flush, Clear)."),
		nearWatching:      d("caching_near_watching", "1 while invalidations arrive and the near cache is used, else 0."),
		nearWatchRefused:  d("caching_near_watch_refused", "1 while the remote store's server refuses the near cache's watch of invalidations (ACL, unknown command, credentials): the near cache stays unused until its configuration changes; else 0."),
		nearEntries:       d("caching_near_entries", "Entries held in the near cache."),
		nearBytes:         d("caching_near_bytes", "Bytes held in the near cache."),

		poolConns:         d("caching_pool_connections", "Connections of a pool now, by state.", "pool", "state"),
		poolMaxOpen:       d("caching_pool_max_open", "The most connections a pool opens (-1: unbounded).", "pool"),
		poolWaits:         d("caching_pool_waits_total", "Acquisitions that waited for a connection.", "pool"),
		poolWaitSeconds:   d("caching_pool_wait_seconds_total", "Time spent waiting for connections.", "pool"),
		poolTimeouts:      d("caching_pool_timeouts_total", "Acquisitions that gave up.", "pool"),
		poolOpened:        d("caching_pool_opened_total", "Connections dialed.", "pool"),
		poolConnectErrors: d("caching_pool_connect_errors_total", "Dials that failed.", "pool"),
		poolClosed:        d("caching_pool_closed_total", "Connections closed, by reason.", "pool", "reason"),
		poolQueries:       d("caching_pool_queries_total", "Queries run.", "pool"),
		poolSlowQueries:   d("caching_pool_slow_queries_total", "Queries at or over the slow-query threshold.", "pool"),
	}}
}

// Describe sends the descriptions of every metric the Collector may export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := c.d
	for _, x := range []*prometheus.Desc{d.hits, d.stale, d.misses, d.bypasses, d.sets, d.errors, d.corrupt, d.unavailable,
		d.entries, d.bytes, d.evictions, d.breaker, d.leases, d.leaseWaits, d.leaseTimeouts, d.collapseTimeouts, d.collapseTakeovers, d.pendingInvalidations,
		d.viewReqs, d.viewErrs, d.viewCorrupt, d.memoCalls, d.memoErrs, d.memoCorrupt,
		d.nearHits, d.nearMisses, d.nearInvalidations, d.nearEmptied, d.nearWatching, d.nearWatchRefused, d.nearEntries, d.nearBytes,
		d.poolConns, d.poolMaxOpen, d.poolWaits, d.poolWaitSeconds, d.poolTimeouts, d.poolOpened,
		d.poolConnectErrors, d.poolClosed, d.poolQueries, d.poolSlowQueries} {
		ch <- x
	}
	if l := c.opts.Latency; l != nil {
		l.hist.Describe(ch)
		l.errors.Describe(ch)
	}
}

// Collect reads the Cache's counters and sends them.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := &c.d
	counter := func(desc *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	s := c.c.Stats()
	counter(d.hits, s.Hits)
	counter(d.stale, s.StaleHits)
	counter(d.misses, s.Misses)
	counter(d.bypasses, s.Bypasses)
	counter(d.sets, s.Sets)
	counter(d.errors, s.Errors)
	counter(d.unavailable, s.Unavailable)
	counter(d.corrupt, s.Corrupt)
	if s.Entries >= 0 {
		gauge(d.entries, float64(s.Entries))
	}
	if s.Bytes >= 0 {
		gauge(d.bytes, float64(s.Bytes))
	}
	if s.Evictions >= 0 {
		counter(d.evictions, s.Evictions)
	}
	if s.Breaker != "" {
		for _, state := range []string{"closed", "half-open", "open"} {
			v := 0.0
			if state == s.Breaker {
				v = 1
			}
			gauge(d.breaker, v, state)
		}
	}
	counter(d.leases, s.Leases)
	counter(d.leaseWaits, s.LeaseWaits)
	counter(d.leaseTimeouts, s.LeaseTimeouts)
	counter(d.collapseTimeouts, s.CollapseTimeouts)
	counter(d.collapseTakeovers, s.CollapseTakeovers)
	gauge(d.pendingInvalidations, float64(s.PendingInvalidations))
	named := func(stats map[string]caching.Counts, reqs, errs, corrupt *prometheus.Desc) {
		for name, n := range byLabel(stats, addCounts) {
			counter(reqs, n.Hits, name, "hit")
			counter(reqs, n.StaleHits, name, "stale")
			counter(reqs, n.Misses, name, "miss")
			counter(reqs, n.Bypasses, name, "bypass")
			counter(errs, n.Errors, name)
			counter(corrupt, n.Corrupt, name)
		}
	}
	named(c.c.ViewStats(), d.viewReqs, d.viewErrs, d.viewCorrupt)
	named(c.c.MemoStats(), d.memoCalls, d.memoErrs, d.memoCorrupt)
	if ns, ok := c.c.Backend().(NearStatser); ok {
		n := ns.NearStats()
		counter(d.nearHits, n.Hits)
		counter(d.nearMisses, n.Misses)
		counter(d.nearInvalidations, n.Invalidations)
		counter(d.nearEmptied, n.Emptied)
		watching := 0.0
		if n.Watching {
			watching = 1
		}
		gauge(d.nearWatching, watching)
		refused := 0.0
		if errors.Is(n.WatchError, near.ErrWatchRefused) {
			refused = 1
		}
		gauge(d.nearWatchRefused, refused)
		gauge(d.nearEntries, float64(n.Entries))
		gauge(d.nearBytes, float64(n.Bytes))
	}
	if l := c.opts.Latency; l != nil {
		l.hist.Collect(ch)
		l.errors.Collect(ch)
	}
	if c.opts.Pools == nil {
		return
	}
	pools := map[string]pool.Stats{}
	for name, v := range c.opts.Pools.Snapshot() {
		if p, ok := v.(pool.Stats); ok {
			pools[name] = p
		}
	}
	for name, p := range byLabel(pools, addPoolStats) {
		gauge(d.poolConns, float64(p.Open), name, "open")
		gauge(d.poolConns, float64(p.InUse), name, "in_use")
		gauge(d.poolConns, float64(p.Idle), name, "idle")
		gauge(d.poolMaxOpen, float64(p.MaxOpen), name)
		counter(d.poolWaits, p.Waits, name)
		ch <- prometheus.MustNewConstMetric(d.poolWaitSeconds, prometheus.CounterValue, p.WaitTimeMS/1000, name)
		counter(d.poolTimeouts, p.Timeouts, name)
		counter(d.poolOpened, p.Opened, name)
		counter(d.poolConnectErrors, p.ConnectErrors, name)
		// Reasons come from the pool's source (a Registry source of the
		// program's own may return any bytes): made fit for a label as names
		// are, the counts of reasons that then read alike summed.
		closed := make(map[string]int64, len(p.Closed))
		for r, n := range p.Closed {
			closed[labelValue(r)] += n
		}
		reasons := make([]string, 0, len(closed))
		for r := range closed {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			counter(d.poolClosed, closed[r], name, r)
		}
		counter(d.poolQueries, p.Queries, name)
		counter(d.poolSlowQueries, p.SlowQueries, name)
	}
}

// labelValue returns name fit for a label value: Prometheus panics on one
// that is not valid UTF-8 (MustNewConstMetric, inside a registry's Gather,
// where the panic takes the program down), and names come from the program
// (a view's Name, a mux pattern, a memoized function's or a pool's name),
// which Go lets hold any bytes. Each byte that is not part of a valid UTF-8
// sequence is written as \xNN, so that names which differ only there stay
// apart.
func labelValue(name string) string {
	if utf8.ValidString(name) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "\\x%02x", name[i])
		} else {
			b.WriteString(name[i : i+n])
		}
		i += n
	}
	return b.String()
}

// byLabel returns stats keyed by labelValue, summing with add the stats of
// names that come out alike (one with \xNN written out, one with the
// byte), so that no series is exported twice, which fails the whole
// scrape, and none is dropped, which would make it flip between the two
// from one scrape to the next. It adds in the order of the names, so that
// a sum of floats comes out the same in every scrape.
func byLabel[T any](stats map[string]T, add func(a, b T) T) map[string]T {
	out := make(map[string]T, len(stats))
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		n := stats[name]
		l := labelValue(name)
		if m, ok := out[l]; ok {
			n = add(m, n)
		}
		out[l] = n
	}
	return out
}

// addCounts returns the sum of two names' Counts.
func addCounts(a, b caching.Counts) caching.Counts {
	a.Hits += b.Hits
	a.StaleHits += b.StaleHits
	a.Misses += b.Misses
	a.Bypasses += b.Bypasses
	a.Errors += b.Errors
	a.Corrupt += b.Corrupt
	return a
}

// addPoolStats returns the sum of the exported figures of two pools: their
// connections, counters and closes by reason, and MaxOpen, which is -1
// (unbounded) when either is. It leaves a's Closed map as it is.
func addPoolStats(a, b pool.Stats) pool.Stats {
	a.Open += b.Open
	a.InUse += b.InUse
	a.Idle += b.Idle
	if a.MaxOpen < 0 || b.MaxOpen < 0 {
		a.MaxOpen = -1
	} else {
		a.MaxOpen += b.MaxOpen
	}
	a.Waits += b.Waits
	a.WaitTimeMS += b.WaitTimeMS
	a.Timeouts += b.Timeouts
	a.Opened += b.Opened
	a.ConnectErrors += b.ConnectErrors
	a.Queries += b.Queries
	a.SlowQueries += b.SlowQueries
	closed := make(map[string]int64, len(a.Closed)+len(b.Closed))
	for r, n := range a.Closed {
		closed[r] += n
	}
	for r, n := range b.Closed {
		closed[r] += n
	}
	a.Closed = closed
	return a
}
