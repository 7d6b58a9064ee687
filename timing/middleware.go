package timing

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpx"
)

// Defaults of Options.
const (
	// DefaultHeader is the response header that carries the response time.
	DefaultHeader = "X-Response-Time"
	// DefaultSlow is the slow-request threshold when a Logger is set (the
	// Flask seed's 500 ms).
	DefaultSlow = 500 * time.Millisecond
	// DefaultSlowLogInterval and DefaultSlowLogBurst bound the slow-request
	// log to a burst of DefaultSlowLogBurst lines, refilled at one line per
	// DefaultSlowLogInterval/DefaultSlowLogBurst.
	DefaultSlowLogInterval = time.Second
	DefaultSlowLogBurst    = 5
)

// NoHeader, as Options.Header, sends no response-time header.
const NoHeader = "-"

// ErrInvalidOption reports Options with a field out of range; the error
// text names the field. Test for it with errors.Is.
var ErrInvalidOption = errors.New("timing: invalid option")

// Options configure the middleware. The zero value sets X-Response-Time,
// sends no Server-Timing header, logs nothing and reports to no observer.
type Options struct {
	// Header is the response header that carries the time from the start of
	// the request until its headers were committed. "": DefaultHeader;
	// NoHeader: none. It is sent to every client, whatever Expose says: a
	// time measured on the server, without the network's jitter, which is
	// a better oracle than a client's own clock (a login that answers
	// faster for unknown users, a cache hit against a miss). Use NoHeader
	// where the time of a route must not be told.
	Header string
	// Format renders that duration. nil: milliseconds with up to three
	// decimals and the unit, as in "12.345ms".
	Format func(time.Duration) string

	// Expose decides, per request, whether the response may carry
	// Server-Timing (not the response-time header: see Header). nil: never (the metrics an application records, such
	// as its database time, tell an attacker a lot; expose them to your own
	// clients only, for instance with an admin check). When it does not
	// admit a request, the middleware also removes the Server-Timing fields
	// the handler set itself (a proxied upstream's, say), in any spelling,
	// from the header, from 1xx responses and from the trailer; when it
	// does, they are kept and the middleware's field is added after them,
	// and the response goes out marked for no shared cache: "private" in
	// Cache-Control (set when absent) and in CDN-Cache-Control and the
	// -CDN-Cache-Control fields of RFC 9213, "no-store" in
	// Surrogate-Control, unless they have private or no-store already, so
	// that a CDN in front never serves one client's metrics to others. It
	// also goes out with neither * nor null in Timing-Allow-Origin (the
	// field is removed when nothing else is left): a browser hands
	// Server-Timing to a page of another origin when that field admits
	// it, and a page of any site can make an admin's (or a local) browser
	// send a request Expose admits. The origins the handler names there
	// are kept: name the sites that may read the metrics (not the
	// request's Origin copied back, which grants every site). The
	// handler's header map gets its own values back once the status went
	// down (net/http copies the header then): a response cache below the
	// middleware stores what the handler sent. A writer above the
	// middleware that reads the header after its WriteHeader returned
	// (one that waits for the first bytes) sends the handler's directives:
	// the writers above and below share one map, and a response cache
	// below reads it right after the same call, so the map cannot show
	// both. Such a writer must take the header as it is at WriteHeader,
	// as net/http's do, and compress's (its Handler may wrap the
	// middleware: what it holds goes out private).
	Expose func(*http.Request) bool

	// Logger receives the slow-request log. nil: no log.
	Logger *slog.Logger
	// Slow is the duration from which a request is logged: the time until
	// the handler returned. 0: DefaultSlow.
	Slow time.Duration
	// SlowRoutes overrides Slow per route, keyed by the request's Pattern as
	// http.ServeMux sets it ("GET /reports/{id}"): an export route may take
	// seconds. Never switches the log off for a route.
	SlowRoutes map[string]time.Duration
	// SlowLogInterval and SlowLogBurst rate-limit the slow-request log: a
	// burst of SlowLogBurst lines, then one line per
	// SlowLogInterval/SlowLogBurst; the lines dropped are counted in the next
	// line's "suppressed" attribute. 0: the defaults.
	SlowLogInterval time.Duration
	SlowLogBurst    int

	// Observe receives a Report of every request when the handler returns
	// (also when it panics), for the application's metrics system. It runs
	// on the request's goroutine: keep it fast. nil: none.
	Observe func(Report)
}

// Never, as a SlowRoutes value, never logs the route as slow.
const Never = time.Duration(1<<63 - 1)

// Report describes one request once its handler returned.
type Report struct {
	// Request is the request as the handler saw it (its Context holds the
	// recorder; do not keep it beyond the call).
	Request *http.Request
	// Route is the ServeMux pattern that matched ("" when none did or no
	// ServeMux is below the middleware). It is "" for a CONNECT request:
	// ServeMux gives one it redirects the client's own path as its
	// pattern, which must not become a metric label or fill the log.
	Route string
	// Status is the final status sent: 200 when the handler wrote nothing,
	// never a 1xx; 500 when the handler panicked (an invalid WriteHeader
	// code included: net/http refuses it with a panic) or called
	// runtime.Goexit before writing a status (what a recovering middleware
	// above would send; without one net/http closes the connection, or
	// resets the HTTP/2 stream, and sends no status); 101 or the status
	// before the hijack for a hijacked connection. A status written before
	// a runtime.Goexit or a panic(http.ErrAbortHandler) (which recovering
	// middlewares pass on) is reported only if it went out: the response
	// was flushed, or its body passed the buffer net/http holds it in
	// (2 KiB over HTTP/1, 4 KiB over HTTP/2); otherwise net/http cut the
	// connection with the status still buffered, and it is 500. That
	// reading assumes the middleware is handed net/http's own writer: a
	// middleware above it that holds the response back longer (compress's
	// Handler, up to MaxBuffer of output; a response cache) may still hold
	// a status reported as sent when the handler aborts, and the client
	// gets none. Put the middleware outermost where these reports matter.
	// The status written before another panic is reported: a recovering
	// middleware above has net/http send it (its own 500 comes too late).
	Status int
	// Bytes is the number of body bytes written through the middleware.
	Bytes int64
	// HeaderTime is the time until the headers were committed (what the
	// response-time header says); Duration is the time until the handler
	// returned.
	HeaderTime, Duration time.Duration
	// Metrics are the Server-Timing metrics the request recorded (with
	// Add, Count and Start; not the handler's own Server-Timing fields),
	// whether or not they were exposed; Late counts those recorded after
	// the headers were committed (not in the header).
	Metrics []Metric
	Late    int
	// Dropped counts the metrics the request recorded once it had
	// MaxMetrics: they are in neither Metrics nor the header.
	Dropped int
	// Slow reports whether Duration reached the route's threshold (only
	// when a Logger is set); Panicked whether the handler panicked;
	// Hijacked whether it hijacked the connection.
	Slow, Panicked, Hijacked bool
}

// middleware is the validated configuration.
type middleware struct {
	header  string
	format  func(time.Duration) string
	expose  func(*http.Request) bool
	slow    *slowLog
	observe func(Report)
}

// New validates opts and returns the timing middleware. It is safe for
// concurrent use by every request.
//
// Headers are set when the response is committed (the handler's
// WriteHeader, or its first Write, ReadFrom, io.Copy or Flush, or, for a
// handler that writes nothing, when it returns), so the response-time header
// is present and correct in every case. Metrics recorded after that moment
// cannot be in the Server-Timing header: they reach the Report (counted in
// Report.Late). The middleware sends no trailer: browsers ignore
// Server-Timing trailers. A request Options.Expose does not admit gets no
// Server-Timing field at all: the middleware removes the handler's own from
// the header, 1xx responses and the trailer.
func New(opts Options) (func(http.Handler) http.Handler, error) {
	m := &middleware{header: opts.Header, format: opts.Format, expose: opts.Expose, observe: opts.Observe}
	if m.header == "" {
		m.header = DefaultHeader
	}
	if m.header != NoHeader && !header.IsToken(m.header) {
		return nil, fmt.Errorf("%w: Header %q is not a valid header name", ErrInvalidOption, m.header)
	}
	if m.format == nil {
		m.format = FormatMillis
	}
	if opts.Logger != nil {
		s, err := newSlowLog(opts)
		if err != nil {
			return nil, err
		}
		m.slow = s
	}
	return m.wrap, nil
}

// Must is New that panics on invalid options, for program start-up.
func Must(opts Options) func(http.Handler) http.Handler {
	mw, err := New(opts)
	if err != nil {
		panic(err)
	}
	return mw
}

// FormatMillis renders d in milliseconds with up to three decimals:
// "12.345ms", "0.042ms", "1500ms".
func FormatMillis(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', -1, 64) + "ms"
}

// writer is the per-request wrapper: it sets the headers at commit.
type writer struct {
	httpx.Writer
	m          *middleware
	start      time.Time
	headerTime time.Duration
	rec        *recorder // nil when nothing reads metrics
	expose     bool
	flushed    bool // a Flush went down once the status was committed
}

// Flush records that what was written went down to the connection.
func (w *writer) Flush() error {
	err := w.Writer.Flush()
	w.flushed = true
	return err
}

// Sizes of the buffer net/http holds a response in (its header included)
// until it is flushed or the handler returns: the header goes out once the
// body written passes it.
const (
	http1Buffer = 2048    // net/http's bufferBeforeChunkingSize
	http2Buffer = 4 << 10 // its handlerChunkWriteSize
)

// statusSent reports whether the status committed went out to the client
// before the handler was aborted (a panic or runtime.Goexit): net/http
// sends nothing of a response it still buffers when it cuts the
// connection (or resets the HTTP/2 stream). It mirrors net/http's own
// buffers, and so is optimistic below a writer that buffers more (see
// Report.Status): no interface tells what a writer above still holds.
func (w *writer) statusSent(r *http.Request) bool {
	limit := int64(http1Buffer)
	if r.ProtoMajor >= 2 {
		limit = http2Buffer
	}
	return w.flushed || w.Written() > limit
}

// WriteHeader receives every status the handler sends (1xx included) and
// the implicit 200 of a first Write, ReadFrom or Flush: it hides the
// handler's Server-Timing fields from a request Expose did not admit, and
// sets the middleware's headers when the final status is committed.
func (w *writer) WriteHeader(code int) {
	if code < 100 || code > 999 {
		// net/http's own check, made before httpx records the code: the
		// status net/http refuses is never sent, and must not be reported.
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	w.hide()
	if httpx.Informational(code) || w.Committed() {
		w.Writer.WriteHeader(code)
		return
	}
	saved := w.setHeaders()
	w.Writer.WriteHeader(code)
	restore(w.Header(), saved)
}

// setHeaders sets the response-time header and, for an admitted request,
// adds the Server-Timing field of the metrics recorded so far (after the
// handler's own fields, which it keeps) and keeps the response from shared
// caches, returning the fields to restore once the status went down.
func (w *writer) setHeaders() []savedField {
	w.headerTime = time.Since(w.start)
	h := w.Header()
	if w.m.header != NoHeader {
		h.Set(w.m.header, w.m.format(w.headerTime))
	}
	if w.rec == nil {
		return nil
	}
	var arr [256]byte
	buf := w.rec.seal(arr[:0], w.expose)
	if !w.expose {
		return nil
	}
	saved := keepTimingFromOtherSites(h, keepFromSharedCaches(h))
	total := Metric{Name: "total", Duration: w.headerTime}
	buf = appendMetric(buf, &total, len(buf) > 0)
	h.Add(serverTiming, string(buf))
	return saved
}

// hide removes the handler's Server-Timing fields (header, trailer, and
// their declaration in Trailer) unless Expose admitted the request. It runs
// before every status goes down (a 103 sends the header map too), and once
// the handler has returned, for the trailers net/http reads then.
func (w *writer) hide() {
	if !w.expose && !w.Hijacked() {
		stripServerTiming(w.Header())
	}
}

// wrap is the middleware: it times next and reports each request.
func (m *middleware) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &writer{m: m, start: time.Now()}
		w.expose = m.expose != nil && m.expose(r)
		if w.expose || m.observe != nil {
			w.rec = &recorder{}
			r = r.WithContext(withRecorder(r.Context(), w.rec))
		}
		wrapped := w.Reset(rw, w)
		panicked := true
		defer func() {
			if !panicked {
				return
			}
			// Hide the handler's Server-Timing from what a recovering
			// middleware above may answer through the same header map,
			// report, then let the panic go on.
			p := recover()
			w.hide()
			// runtime.Goexit is no panic (panic(nil) recovers as a
			// *runtime.PanicNilError): no middleware above can
			// recover it, nor, by convention, http.ErrAbortHandler,
			// and net/http cuts the connection: a status it still
			// buffers never reaches the client.
			cut := (p == nil || p == http.ErrAbortHandler) && !w.Hijacked() && !w.statusSent(r)
			m.finish(w, r, p != nil, true, cut)
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(wrapped, r)
		panicked = false
		if !w.Committed() && !w.Hijacked() {
			w.WriteHeader(http.StatusOK) // what net/http would send, with our headers
		}
		w.hide() // trailers
		m.finish(w, r, false, false, false)
	})
}

// route is r's Report.Route.
func route(r *http.Request) string {
	if r.Method == http.MethodConnect {
		return ""
	}
	return r.Pattern
}

// finish logs a slow request and calls the observer. aborted is set when
// the handler did not return (it panicked or called runtime.Goexit), cut
// when net/http then cuts the connection before the status committed went
// out.
func (m *middleware) finish(w *writer, r *http.Request, panicked, aborted, cut bool) {
	if m.slow == nil && m.observe == nil {
		return
	}
	rep := Report{Request: r, Route: route(r), Status: w.Status(), Bytes: w.Written(),
		HeaderTime: w.headerTime, Duration: time.Since(w.start), Panicked: panicked, Hijacked: w.Hijacked()}
	if cut {
		rep.Status = 0 // the client got none: reported as an abort before a status
	}
	if rep.Status == 0 {
		if aborted {
			rep.Status = http.StatusInternalServerError
		} else if rep.Hijacked {
			rep.Status = http.StatusSwitchingProtocols
		}
	}
	if m.slow != nil {
		rep.Slow = m.slow.log(r.Context(), &rep)
	}
	if m.observe != nil {
		if w.rec != nil {
			rep.Metrics, rep.Late, rep.Dropped = w.rec.snapshot()
		}
		m.observe(rep)
	}
}
