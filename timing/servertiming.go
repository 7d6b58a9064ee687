package timing

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/timingkey"
)

// recorderKey is the context key of the request's *recorder. It is an empty
// struct so that ctx.Value(recorderKey{}) does not allocate. It lives in an
// internal package so that the response cache can hide it from the
// background work it starts from a request (see timingkey).
type recorderKey = timingkey.Recorder

// recording is set once a recorder has been put in a context: until then
// no context holds one, and reporting a metric (a response cache's hit,
// say) costs an atomic load rather than a walk up the context chain.
var recording atomic.Bool

// withRecorder returns ctx with rec, the request's recorder.
func withRecorder(ctx context.Context, rec *recorder) context.Context {
	if !recording.Load() {
		recording.Store(true)
	}
	return context.WithValue(ctx, recorderKey{}, rec)
}

// Metric is one Server-Timing entry: a name, an optional duration and an
// optional description. Count is the number of events folded into it by
// Count (0 for metrics added with Add or Start).
type Metric struct {
	// Name is the metric's name, a token such as "db" or "cache".
	Name string
	// Duration is the time it took; 0 means none is sent (the entry has no dur).
	Duration time.Duration
	// Desc is the description ("hit", "7 queries"); empty means none.
	Desc string
	// Count is the number of events Count folded into this metric.
	Count int

	counted   bool   // made by Count: later Counts of the name fold into it
	pending   bool   // made by Reserve, not yet Set: sent and reported nowhere
	one, many string // Count's nouns ("" for none)
}

// Bounds of what one request records and sends.
const (
	// MaxMetrics is the most metrics one request (or one WithRecorder
	// context) keeps: a handler that records a span per item of a batch
	// the client sized must not grow the server's memory without bound.
	// Add, Start and a Count of a new name record nothing once it is
	// reached; Report.Dropped counts what they left out. Count of a name
	// already kept still folds into it.
	MaxMetrics = 256
	// MaxHeaderBytes is the most bytes of metrics the middleware's
	// Server-Timing field carries before its final "omitted" and "total"
	// metrics: browsers and proxies refuse large headers. The metrics that
	// do not fit are left out of the header (not of the Report), counted,
	// with those MaxMetrics dropped, in an "omitted" metric whose
	// description is their number, as in omitted;desc=40. The handler's
	// own Server-Timing fields (a proxied upstream's), which an admitted
	// request keeps, are the handler's as any field it sets: neither
	// bounded nor counted here (its metrics recorded with Add, Count
	// and Start are).
	MaxHeaderBytes = 2048
)

// recorder collects the metrics of one request. It is safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	metrics []Metric
	// sealed is set when the headers were written: what is added after it
	// still reaches the Report, but can no longer be in the header.
	sealed bool
	late   int
	// dropped counts the metrics not kept: the recorder held MaxMetrics.
	dropped int
}

func (r *recorder) add(m Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.metrics) >= MaxMetrics {
		r.dropped++
		return
	}
	if r.sealed {
		r.late++
	}
	r.metrics = append(r.metrics, m)
}

func (r *recorder) count(name string, d time.Duration, one, many string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.metrics {
		m := &r.metrics[i]
		if m.Name == name && m.counted {
			if r.sealed {
				r.late++
			}
			m.Duration += d
			m.Count++
			return
		}
	}
	if len(r.metrics) >= MaxMetrics {
		r.dropped++
		return
	}
	if r.sealed {
		r.late++
	}
	r.metrics = append(r.metrics, Metric{Name: name, Duration: d, Count: 1, counted: true, one: one, many: many})
}

// seal marks the headers as written and, when format is set, appends to
// buf the header entries of the metrics recorded so far, at most
// MaxHeaderBytes of them, followed by the "omitted" metric when some are
// left out.
func (r *recorder) seal(buf []byte, format bool) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sealed = true
	if !format {
		return buf
	}
	start := len(buf)
	omitted := r.dropped
	for i := range r.metrics {
		if r.metrics[i].pending {
			continue
		}
		mark := len(buf)
		buf = appendRecorded(buf, &r.metrics[i], mark > start)
		if len(buf)-start > MaxHeaderBytes {
			buf = buf[:mark]
			for _, m := range r.metrics[i:] {
				if !m.pending {
					omitted++
				}
			}
			break
		}
	}
	if omitted > 0 {
		m := Metric{Name: "omitted", Desc: strconv.Itoa(omitted)}
		buf = appendMetric(buf, &m, len(buf) > start)
	}
	return buf
}

// snapshot returns a copy of every metric recorded so far (with the Desc of
// counted metrics filled in), how many arrived after the headers and how
// many were dropped.
func (r *recorder) snapshot() (metrics []Metric, late, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.metrics) == 0 {
		return nil, r.late, r.dropped
	}
	out := make([]Metric, 0, len(r.metrics))
	for _, m := range r.metrics {
		if m.pending {
			continue
		}
		m.Desc = m.desc()
		m.counted, m.one, m.many = false, "", ""
		out = append(out, m)
	}
	if len(out) == 0 {
		out = nil
	}
	return out, r.late, r.dropped
}

func (m *Metric) desc() string {
	if !m.counted {
		return m.Desc
	}
	noun := m.many
	if m.Count == 1 {
		noun = m.one
	}
	if noun == "" {
		return strconv.Itoa(m.Count)
	}
	return strconv.Itoa(m.Count) + " " + noun
}

func fromContext(ctx context.Context) *recorder {
	if ctx == nil || !recording.Load() {
		return nil
	}
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

// WithRecorder returns a context that records Server-Timing metrics, for code
// that runs outside the Middleware (a background job that reports its own
// timings, tests). Metrics recorded in it are read back with Metrics.
func WithRecorder(ctx context.Context) context.Context {
	return withRecorder(ctx, &recorder{})
}

// Metrics returns a copy of the metrics recorded so far in ctx, in the order
// they were added, or nil when ctx has no recorder. It is safe for concurrent
// use.
func Metrics(ctx context.Context) []Metric {
	r := fromContext(ctx)
	if r == nil {
		return nil
	}
	m, _, _ := r.snapshot()
	return m
}

// Add records a metric named name with duration d (0: no duration is sent)
// and description desc (empty: none) in the request's Server-Timing. The
// names "total" and "omitted" (in any case) are the middleware's own: a
// metric recorded (with Add, Count or Start) under one of them is sent as
// "_total" or "_omitted" in the header, and keeps its name in the Report.
// Without the Middleware (or WithRecorder) in ctx it does nothing and does
// not allocate. It is safe for concurrent use.
//
// A metric added after the response headers were written cannot be in the
// Server-Timing header; it still reaches the Options.Observe report.
func Add(ctx context.Context, name string, d time.Duration, desc string) {
	if r := fromContext(ctx); r != nil {
		r.add(Metric{Name: name, Duration: d, Desc: desc})
	}
}

// Reservation is the place of a metric that Reserve kept in a request's
// Server-Timing, for Set to fill. The zero Reservation (no recorder in the
// context) and one Reserve could not keep do nothing. A Reservation is a
// small value, safe to copy and for concurrent use.
type Reservation struct {
	r *recorder
	i int // -1: none kept
}

// Reserve keeps, in the request's Server-Timing, the place of a metric
// named name whose duration and description are known later (a cache's
// status, known once the handler's status is): the metrics added after
// the reservation (the handler's), however many, neither take its place
// among the MaxMetrics kept nor push it past MaxHeaderBytes, which leave
// out the metrics in the order they came. Until Set fills it, the metric
// is neither sent nor reported, nor counted as omitted; a place never Set
// is one of the MaxMetrics kept all the same. Set after the header was
// written reports it late, as Add does. Without a recorder in ctx it
// returns the zero Reservation and allocates nothing; once MaxMetrics are
// kept it keeps nothing, and counts the metric as dropped (Report.Dropped)
// at once, as Add would. It is safe for concurrent use.
func Reserve(ctx context.Context, name string) Reservation {
	r := fromContext(ctx)
	if r == nil {
		return Reservation{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.metrics) >= MaxMetrics {
		r.dropped++
		return Reservation{r: r, i: -1}
	}
	r.metrics = append(r.metrics, Metric{Name: name, pending: true})
	return Reservation{r: r, i: len(r.metrics) - 1}
}

// Set fills the reserved metric with duration d (0: none sent) and
// description desc (empty: none), once: a later Set, or one of a
// Reservation that kept no place, does nothing. It is safe for concurrent
// use.
func (res Reservation) Set(d time.Duration, desc string) {
	r := res.r
	if r == nil || res.i < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := &r.metrics[res.i]
	if !m.pending {
		return
	}
	if r.sealed {
		r.late++
	}
	m.Duration, m.Desc, m.pending = d, desc, false
}

// Count folds one event of duration d into the metric named name: the
// header shows the total duration and the number of events, as in
// db;dur=12.5;desc="7 queries" (one and many are the singular and plural
// nouns; many "" is one, and with no noun the description is the number
// alone). Every Count of a name folds into one metric, so a request that
// counts an event per item of a list gets one entry. It does nothing without a recorder in ctx, and is safe for
// concurrent use; package pool uses it to report a request's SQL queries.
func Count(ctx context.Context, name string, d time.Duration, one, many string) {
	if r := fromContext(ctx); r != nil {
		if many == "" {
			many = one
		}
		r.count(name, d, one, many)
	}
}

// Timer measures one span of a request; Start returns it and Stop records it.
// A nil *Timer is valid: its Stop does nothing.
type Timer struct {
	rec     *recorder
	name    string
	start   time.Time
	stopped atomic.Bool
}

// Start starts timing the span name. It returns nil (and allocates nothing)
// when ctx has no recorder; (*Timer).Stop is nil-safe, so
// `defer timing.Start(ctx, "db").Stop()` is always correct.
func Start(ctx context.Context, name string) *Timer {
	r := fromContext(ctx)
	if r == nil {
		return nil
	}
	return &Timer{rec: r, name: name, start: time.Now()}
}

// Stop records the span's duration and returns it. Only the first Stop of a
// Timer records; later calls return 0, as does Stop on a nil *Timer.
func (t *Timer) Stop() time.Duration {
	return t.StopDesc("")
}

// StopDesc is Stop with a description for the metric (such as "miss").
func (t *Timer) StopDesc(desc string) time.Duration {
	if t == nil || !t.stopped.CompareAndSwap(false, true) {
		return 0
	}
	d := time.Since(t.start)
	t.rec.add(Metric{Name: t.name, Duration: d, Desc: desc})
	return d
}

// appendRecorded appends m, a metric the request recorded, as appendMetric
// does, but with its name prefixed with '_' when it is one of the names of
// the middleware's own metrics, "total" and "omitted", in any case: a
// reader of the header must not take the handler's for the middleware's.
func appendRecorded(buf []byte, m *Metric, sep bool) []byte {
	if !header.EqualLower(m.Name, "total") && !header.EqualLower(m.Name, "omitted") {
		return appendMetric(buf, m, sep)
	}
	if sep {
		buf = append(buf, ", "...)
	}
	return appendMetric(append(buf, '_'), m, false)
}

// appendMetric appends m as a Server-Timing entry, after ", " when sep is
// set.
func appendMetric(buf []byte, m *Metric, sep bool) []byte {
	if sep {
		buf = append(buf, ", "...)
	}
	buf = appendToken(buf, m.Name)
	if m.Duration > 0 {
		buf = append(buf, ";dur="...)
		buf = strconv.AppendFloat(buf, float64(m.Duration.Microseconds())/1000, 'f', -1, 64)
	}
	if d := m.desc(); d != "" {
		buf = append(buf, ";desc="...)
		buf = appendValue(buf, d)
	}
	return buf
}

// appendToken appends name with every character that is not a token
// character replaced by '_' (an empty name becomes "_").
func appendToken(buf []byte, name string) []byte {
	if name == "" {
		return append(buf, '_')
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; header.IsTchar(c) {
			buf = append(buf, c)
		} else {
			buf = append(buf, '_')
		}
	}
	return buf
}

// appendValue appends s as a token when it is one and as a quoted string
// otherwise; control characters and non-ASCII bytes are dropped.
func appendValue(buf []byte, s string) []byte {
	if header.IsToken(s) {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}
