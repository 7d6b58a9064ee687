package httpx

//go:generate go run gen.go

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Hooks are the calls a middleware can intercept on a wrapped writer. Writer
// implements every method with the default behaviour (forward downstream and
// count); a middleware embeds Writer, overrides some methods, and passes
// itself to [Writer.Reset]. An overriding method continues downstream by
// calling the embedded Writer's method of the same name.
type Hooks interface {
	// WriteHeader receives every WriteHeader of the handler, informational
	// codes included, and the implicit 200 of a first Write, ReadFrom or
	// Flush.
	WriteHeader(code int)
	// Write receives Write and WriteString. It must not modify or retain p.
	Write(p []byte) (int, error)
	// Flush receives Flush and FlushError (only called when the underlying
	// writer is an http.Flusher or reaches one through its Unwrap chain).
	Flush() error
	// ReadFrom receives ReadFrom (only called when the underlying writer is
	// an io.ReaderFrom).
	ReadFrom(r io.Reader) (int64, error)
	// Hijack receives Hijack (only called when the underlying writer is an
	// http.Hijacker or reaches one through its Unwrap chain).
	Hijack() (net.Conn, *bufio.ReadWriter, error)
	// Unwrap receives Unwrap, which http.ResponseController calls for what
	// the wrapper does not implement itself.
	Unwrap() http.ResponseWriter
}

// Writer is the state of a wrapped http.ResponseWriter and the default
// implementation of [Hooks]. Its zero value is unusable until [Writer.Reset].
// It is not safe for concurrent use. See the package documentation.
type Writer struct {
	rw        http.ResponseWriter
	h         Hooks
	wrapped   http.ResponseWriter
	hd        *handle     // what wrapped points at; nil once detached
	header    http.Header // set by SetHeader: what Header returns instead of rw's map
	status    int
	written   int64
	committed bool
	hijacked  bool
	mask      uint8 // interface bits of rw

	// Kept across Reset: each wrapped writer points at a handle of its
	// own, never used for another (see Detach). The first Reset uses the
	// one inside handles (a Writer that is not reused allocates nothing
	// more); a reused one takes the next of a block.
	handles Fresh[handle]
}

// ErrDetached is returned by the methods of a wrapped writer used after
// [Writer.Detach] (or a later Reset): a handler that kept its
// http.ResponseWriter past its return, in a goroutine or a logger.
var ErrDetached = errors.New("http: response writer used after its handler returned")

// handle is what a wrapped writer points at: the Writer of one response,
// until it is detached. Each handle is attached once and never again, so
// that a wrapped writer kept past its response never reaches the Writer
// when a pool has handed it to another. Every call through the wrapped
// writer is counted in calls while it runs (enter, exit); Detach sets
// detached, after which a new call fails at once, and waits for the calls
// counted to return. Calls never wait for each other nor for Detach: a
// watchdog goroutine's http.ResponseController SetWriteDeadline (through
// Unwrap) while a Write blocks on a slow client goes ahead, as it does on
// net/http's own writer, and a call made inside another (a ReadFrom whose
// source flushes the same writer) while Detach waits fails instead of
// waiting for it.
type handle struct {
	w        *Writer // set before the wrapped writer is handed out; nil once detached
	calls    atomic.Int32
	detached atomic.Bool
	mu       sync.Mutex
	idle     chan struct{} // made by a Detach that waits, under mu; closed by the last call's exit
}

// attach makes h the handle of w; h was never handed out.
func (h *handle) attach(w *Writer) { h.w = w }

// enter counts a call and returns h's Writer, or nil (the call not
// counted) once h is detached. A caller given a Writer calls exit after
// its call.
func (h *handle) enter() *Writer {
	h.calls.Add(1)
	if h.detached.Load() {
		h.exit()
		return nil
	}
	return h.w
}

// exit ends a call counted by enter, waking a Detach that waits for the
// last one.
func (h *handle) exit() {
	if h.calls.Add(-1) == 0 && h.detached.Load() {
		h.mu.Lock()
		if h.idle != nil {
			close(h.idle)
			h.idle = nil
		}
		h.mu.Unlock()
	}
}

// Detach makes the writer handed out by the last Reset inert, for good:
// from then on its calls reach nothing (whatever w serves next) and return
// ErrDetached; WriteHeader does nothing, Header returns a map of its own,
// and Unwrap nil. It waits for a call in progress on that writer to
// return. A middleware that pools its Writer calls it as soon as the
// handler has returned, before completing the response, so that a handler
// that kept its writer can neither write into the response of the request
// the pool gives w to next nor race with the middleware's own calls on w.
// Reset detaches the last writer too. Detach is safe to call concurrently
// with calls on the wrapped writer, and more than once.
func (w *Writer) Detach() {
	hd := w.hd
	if hd == nil {
		return
	}
	hd.detached.Store(true)
	hd.mu.Lock()
	if hd.calls.Load() == 0 {
		hd.mu.Unlock()
	} else {
		idle := make(chan struct{})
		hd.idle = idle
		hd.mu.Unlock()
		<-idle
	}
	// No call holds hd.w now, and none will read it again: a kept writer
	// no longer keeps w alive.
	hd.w = nil
	w.hd = nil
}

var _ Hooks = (*Writer)(nil)

// New returns a Writer around rw without interception: it only records the
// status and counts bytes. Use w.ResponseWriter() as the handler's writer.
func New(rw http.ResponseWriter) *Writer {
	w := &Writer{}
	w.Reset(rw, nil)
	return w
}

// Reset makes w wrap rw with hooks h (nil means w itself: no interception),
// clears the recorded status and counters, and returns the writer to hand to
// the next handler (the same value as [Writer.ResponseWriter]). Reset(nil,
// nil) drops every reference, for putting w back into a pool.
func (w *Writer) Reset(rw http.ResponseWriter, h Hooks) http.ResponseWriter {
	w.Detach()
	w.rw, w.h, w.wrapped, w.header = nil, nil, nil, nil
	w.status, w.written, w.committed, w.hijacked, w.mask = 0, 0, false, false, 0
	if rw == nil {
		return nil
	}
	if h == nil {
		h = w
	}
	w.rw, w.h = rw, h
	mask := 0
	if _, ok := rw.(http.Flusher); ok {
		mask |= hasF
	}
	if _, ok := rw.(http.Hijacker); ok {
		mask |= hasH
	}
	if _, ok := rw.(http.Pusher); ok {
		mask |= hasP
	}
	if _, ok := rw.(io.ReaderFrom); ok {
		mask |= hasR
	}
	//lint:ignore SA1019 handlers still assert it (SSE handlers, gin's writer): hiding it makes them panic
	if _, ok := rw.(http.CloseNotifier); ok {
		mask |= hasC
	}
	w.mask = uint8(mask)
	w.hd = w.handles.Next() // never handed out before: no call can hold it
	w.hd.attach(w)
	w.wrapped = wrap(w.hd, mask)
	return w.wrapped
}

// ResponseWriter returns the wrapped writer built by the last Reset: the
// value to hand to the next handler.
func (w *Writer) ResponseWriter() http.ResponseWriter { return w.wrapped }

// Header returns the underlying writer's header map, or the map given to
// [Writer.SetHeader] while one is set. The wrapped writer's Header returns
// the same.
func (w *Writer) Header() http.Header {
	if w.header != nil {
		return w.header
	}
	return w.rw.Header()
}

// SetHeader makes Header, the Writer's and the wrapped writer's, return h
// instead of the underlying writer's map, without calling the underlying
// Header; nil returns to the underlying map. A middleware that writes
// downstream from another goroutine while the handler runs gives the
// handler its own map this way, so that the two never share the writers'
// map below (net/http's writers, and the middlewares that read or change the
// header at a Write, are not safe for concurrent use), and applies the
// handler's changes to the underlying map itself once that goroutine is
// done. Reset clears it.
func (w *Writer) SetHeader(h http.Header) { w.header = h }

// Status returns the final status sent downstream, or 0 before the response
// is committed. Informational (1xx) codes are never recorded.
func (w *Writer) Status() int { return w.status }

// Written returns the number of body bytes sent downstream through Write,
// WriteString and ReadFrom.
func (w *Writer) Written() int64 { return w.written }

// Committed reports whether the final status has been sent downstream.
func (w *Writer) Committed() bool { return w.committed }

// Hijacked reports whether the connection was hijacked through Hijack.
func (w *Writer) Hijacked() bool { return w.hijacked }

// Informational reports whether code is an informational status that is
// forwarded at once and is not the final status: 100-199 except 101
// Switching Protocols (which ends the HTTP response, as in net/http).
func Informational(code int) bool {
	return code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols
}

// WriteHeader forwards code downstream: informational codes at once without
// recording them, the first final code recorded; later codes are dropped.
func (w *Writer) WriteHeader(code int) {
	if w.committed {
		return
	}
	if Informational(code) {
		w.rw.WriteHeader(code)
		return
	}
	w.status, w.committed = code, true
	w.rw.WriteHeader(code)
}

// commit sends the implicit 200 through the hooks if nothing final was sent.
func (w *Writer) commit() {
	if w.committed {
		return
	}
	w.h.WriteHeader(http.StatusOK)
	if !w.committed {
		w.WriteHeader(http.StatusOK)
	}
}

// Write commits the response if needed and writes p downstream.
func (w *Writer) Write(p []byte) (int, error) {
	w.commit()
	n, err := w.rw.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom commits the response if needed and copies r downstream, with the
// underlying io.ReaderFrom when there is one.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	w.commit()
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		w.written += n
		return n, err
	}
	return copyBuffer(downWriter{w}, r)
}

// ReadFromViaWrite copies r to the Write hook (not to the Writer's own
// Write), so that a middleware's ReadFrom hook can route the body through its
// Write hook without losing sendfile elsewhere: the copy buffer is pooled, and
// an io.WriterTo source writes straight into the hook.
func (w *Writer) ReadFromViaWrite(r io.Reader) (int64, error) {
	return copyBuffer(hookWriter{w}, r)
}

// Flush commits the response if needed and flushes downstream.
func (w *Writer) Flush() error {
	w.commit()
	return http.NewResponseController(w.rw).Flush()
}

// Hijack hijacks the underlying connection and records it on success.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the underlying writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }

func (w *Writer) push(target string, opts *http.PushOptions) error {
	return w.rw.(http.Pusher).Push(target, opts)
}

// rwUnwrapper is what http.ResponseController looks for.
type rwUnwrapper interface{ Unwrap() http.ResponseWriter }

// base holds the methods every combination has. Each call locks the
// handle for its duration, and does nothing once it is detached.
type base struct{ h *handle }

func (b base) Header() http.Header {
	w := b.h.enter()
	if w == nil {
		return http.Header{} // nothing reads it
	}
	defer b.h.exit()
	return w.Header()
}

func (b base) WriteHeader(code int) {
	w := b.h.enter()
	if w == nil {
		return
	}
	defer b.h.exit()
	w.h.WriteHeader(code)
}

func (b base) Write(p []byte) (int, error) {
	w := b.h.enter()
	if w == nil {
		return 0, ErrDetached
	}
	defer b.h.exit()
	return w.h.Write(p)
}

func (b base) WriteString(s string) (int, error) {
	w := b.h.enter()
	if w == nil {
		return 0, ErrDetached
	}
	defer b.h.exit()
	// A view of s, not a copy: the Write contract forbids modifying or
	// retaining p.
	return w.h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func (b base) Unwrap() http.ResponseWriter {
	w := b.h.enter()
	if w == nil {
		return nil
	}
	defer b.h.exit()
	return w.unwrap(w.h.Unwrap())
}

func (b base) flush() error {
	w := b.h.enter()
	if w == nil {
		return ErrDetached
	}
	defer b.h.exit()
	return w.h.Flush()
}

func (b base) hijack() (net.Conn, *bufio.ReadWriter, error) {
	w := b.h.enter()
	if w == nil {
		return nil, nil, ErrDetached
	}
	defer b.h.exit()
	return w.h.Hijack()
}

func (b base) readFrom(r io.Reader) (int64, error) {
	w := b.h.enter()
	if w == nil {
		return 0, ErrDetached
	}
	defer b.h.exit()
	return w.h.ReadFrom(r)
}

// closeNotify forwards CloseNotify to the underlying writer, which the
// hooks do not see: it tells nothing about the response. A detached
// writer's channel never receives, as net/http's may not once the handler
// has returned.
func (b base) closeNotify() <-chan bool {
	w := b.h.enter()
	if w == nil {
		return nil
	}
	defer b.h.exit()
	//lint:ignore SA1019 forwarded for the handlers that still assert it
	return w.rw.(http.CloseNotifier).CloseNotify()
}

func (b base) push(target string, opts *http.PushOptions) error {
	w := b.h.enter()
	if w == nil {
		return ErrDetached
	}
	defer b.h.exit()
	return w.push(target, opts)
}

// unwrap returns below, what the Unwrap hook returned, as
// http.ResponseController should see it. When the wrapped writer has no
// Flush (or Hijack) but below reaches one through its Unwrap chain (a Go
// 1.20-style middleware writer with only Unwrap), the controller would walk
// past the hooks: the writer below would commit headers the middleware never
// set, or a hijack would go unrecorded. below then comes back with a
// FlushError (or Hijack) that goes through the hooks; everything else
// (deadlines, full duplex) still reaches below through its Unwrap.
func (w *Writer) unwrap(below http.ResponseWriter) http.ResponseWriter {
	if below == nil {
		return nil
	}
	need := 0
	if w.mask&hasF == 0 && reaches(below, canFlush) {
		need |= hasF
	}
	if w.mask&hasH == 0 && reaches(below, canHijack) {
		need |= hasH
	}
	switch need {
	case hasF:
		return unwrapF{below, base{w.hd}}
	case hasH:
		return unwrapH{below, base{w.hd}}
	case hasF | hasH:
		return unwrapFH{below, base{w.hd}}
	}
	return below
}

// reaches reports whether rw or a writer down its Unwrap chain satisfies
// can, as http.ResponseController would find it.
func reaches(rw http.ResponseWriter, can func(http.ResponseWriter) bool) bool {
	for rw != nil {
		if can(rw) {
			return true
		}
		u, ok := rw.(rwUnwrapper)
		if !ok {
			return false
		}
		rw = u.Unwrap()
	}
	return false
}

func canFlush(rw http.ResponseWriter) bool {
	switch rw.(type) {
	case interface{ FlushError() error }, http.Flusher:
		return true
	}
	return false
}

func canHijack(rw http.ResponseWriter) bool {
	_, ok := rw.(http.Hijacker)
	return ok
}

// unwrapF, unwrapH and unwrapFH are what unwrap returns: the writer below
// plus FlushError and/or Hijack through the hooks.
type unwrapF struct {
	http.ResponseWriter
	b base
}

func (u unwrapF) FlushError() error           { return u.b.flush() }
func (u unwrapF) Unwrap() http.ResponseWriter { return u.ResponseWriter }

type unwrapH struct {
	http.ResponseWriter
	b base
}

func (u unwrapH) Hijack() (net.Conn, *bufio.ReadWriter, error) { return u.b.hijack() }
func (u unwrapH) Unwrap() http.ResponseWriter                  { return u.ResponseWriter }

type unwrapFH struct {
	http.ResponseWriter
	b base
}

func (u unwrapFH) FlushError() error                            { return u.b.flush() }
func (u unwrapFH) Hijack() (net.Conn, *bufio.ReadWriter, error) { return u.b.hijack() }
func (u unwrapFH) Unwrap() http.ResponseWriter                  { return u.ResponseWriter }

// hookWriter writes through the Write hook; it has no ReadFrom, so io.Copy
// cannot recurse into a ReadFrom hook.
type hookWriter struct{ w *Writer }

func (h hookWriter) Write(p []byte) (int, error) { return h.w.h.Write(p) }

// downWriter writes downstream through Writer.Write.
type downWriter struct{ w *Writer }

func (d downWriter) Write(p []byte) (int, error) { return d.w.Write(p) }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func copyBuffer(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(dst, src, *bp)
	copyBufs.Put(bp)
	return n, err
}
