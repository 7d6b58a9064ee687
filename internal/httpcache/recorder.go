package httpcache

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpx"
)

// DefaultMaxBody is the body size cap a Recorder uses when given 0: 1 MiB.
const DefaultMaxBody = 1 << 20

// initialBody is the most a Recorder allocates for a declared Content-Length
// before the bytes arrive: the buffer grows with what arrives, so that a
// response that declares a large body and sends it slowly, or never (a
// HEAD), holds what it sent rather than what it announced.
const initialBody = 4 << 10

// declaredShare sizes the buffer for a declared Content-Length: once
// 1/declaredShare of the body has arrived, the buffer is sized once for the
// whole of it, rather than grown by doubling (a 1 MiB body cost 2 MiB, in
// six copies). A body declared and not sent (slowly, or never) still holds
// at most declaredShare times what it sent, or initialBody; a declared body
// costs less than 1+4/declaredShare times its length in all (the buffers
// before it are each under 2/declaredShare of it, and double), and one
// buffer when the handler writes it in one piece.
const declaredShare = 16

// ReasonWriteError reports that writing the response downstream failed (the
// client went away): the recorded body may be incomplete.
const ReasonWriteError Reason = "write-error"

// ReasonTrailer reports a response that declares trailers or sets them once
// its body is written (with http.TrailerPrefix), which a snapshot does not
// keep.
const ReasonTrailer Reason = "trailer"

// ReasonLength reports a response whose body length disagrees with the
// Content-Length its handler declared (the client got what the writer below
// made of it: net/http cuts a body shorter than declared, refuses a Write
// past the length, and sends the declared length of an io.Copy past it as
// a complete response), or that declares several Content-Length lines.
const ReasonLength Reason = "length"

// Recorder is the response writer of a cache miss. It passes everything
// through to the client as it comes and records on the side what a Snapshot
// needs: the final status and a copy of the header at commit (with, for a
// handler that set no Content-Type and flushed before writing the 512
// bytes net/http sniffs one from, the type net/http sent: see
// typeAtFlush), and the body,
// teed into a buffer capped at a size limit (grown as the body arrives, and
// sized once for a declared Content-Length when a share of it has arrived:
// see declaredShare). With Hold,
// the body of a response that may still be stored is kept in that buffer
// instead, and reaches the client at Send (or as soon as the response
// becomes uncacheable; with StoreFlushed, also at each Flush, from another
// goroutine), so that the handler never waits for a client that reads
// slowly. At commit it first canonicalizes the keys of the handler's header
// map in place (header.Canonicalize), so that Check, the recorded copy and
// what net/http sends all see w.Header()["cache-control"] as Cache-Control.
// The response becomes uncacheable, with a Reason, and the buffer is
// dropped, when:
//
//   - Check refuses the status and header at commit, or, when a writer
//     below changed a field it judges (Set-Cookie, Cache-Control, Vary,
//     Expires, Pragma, and Targeted) as the status passed it, or anyone
//     did by Finish (a writer below that commits at its first Write
//     included: with Hold, Finish writes the first held bytes first),
//     the header recorded with those fields' values added (see recheck);
//   - the body written is longer or shorter than the Content-Length the
//     handler declared, or it declared several (ReasonLength);
//   - the body passes the limit (or Content-Length announces it will);
//   - the handler calls Flush (unless StoreFlushed), Hijack, or reaches
//     the writer below through Unwrap (http.ResponseController does, for
//     deadlines and full duplex);
//   - a downstream write fails;
//   - the header declares trailers.
//
// The writer handed to the handler keeps exactly the optional interfaces of
// the one it wraps (internal/httpx), and is inert once Finish (or Detach)
// is called. A Recorder is not safe for concurrent
// use, like an http.ResponseWriter. Set its exported fields, then call
// Reset; its zero value records with the default limit and no checks.
type Recorder struct {
	httpx.Writer

	// Limit caps the recorded body; 0 means DefaultMaxBody.
	Limit int
	// StatusHeader, when not "", is a canonical header name set at commit
	// to MISS, or to BYPASS if the response is known to be uncacheable then.
	StatusHeader string
	// Check, when set, decides at commit whether the status and header
	// (the copy that will be stored) may be stored.
	Check func(status int, h http.Header) Reason
	// Targeted, when not "", is the canonical name of a field Check judges
	// besides the five recheck always watches: a shared cache's targeted
	// cache-control field (CDN-Cache-Control), which it follows instead of
	// Cache-Control, so that one a writer below adds is judged too.
	Targeted string
	// OnFail, when set, is called once, when the response first becomes
	// uncacheable.
	OnFail func(Reason)
	// Committing, when set, receives the status as the response commits,
	// before anything judges it (Divert, the refusals the Recorder makes
	// itself ahead of Check: a Trailer, an event stream with StoreFlushed;
	// Check): an OnFail at commit comes after it, whichever refused. A
	// pointer, not a func: a caller's closure would be one more
	// allocation for every response recorded.
	Committing *int
	// Divert, when set, is asked at commit whether to hold the response back
	// instead of sending it (to serve a stale entry in its place): a diverted
	// response is neither forwarded nor recorded, and is uncacheable with
	// ReasonDiverted.
	Divert func(status int) bool
	// StoreFlushed keeps recording through Flush: every flush still reaches
	// the client, and a response that completes within Limit may be stored
	// (what a reverse proxy relaying a chunked response does). A
	// text/event-stream response is uncacheable at commit (ReasonStreaming),
	// so that the waiters of its key are released at once. Hijack and Unwrap
	// still make the response uncacheable.
	//
	// With Hold as well, Flush never waits for the client: from the first
	// flush on, a goroutine of the Recorder writes what was held and
	// flushes the writer below, while the handler goes on writing into the
	// buffer; Fail and Send wait for it to finish before they write
	// themselves. The first flush goes out with the bytes held when the
	// handler called it, no more (net/http sends the header then, with
	// the Content-Type it sniffs from them, which the Recorder records),
	// even where the handler flushed again before the goroutine wrote it.
	// Its first write of body bytes is of at most 512 bytes
	// (which net/http buffers, and sniffs a Content-Type from), and Finish,
	// with Check, waits for it: a writer below that commits its header at
	// its first Write (and adds Set-Cookie then) has done so, and the
	// judged fields of the map below, which the goroutine looks at after
	// its writes, are judged by Finish as those of the handler's header
	// are. Where the writer below is not net/http's own, Finish waits at
	// most FirstWriteWait, as for its own first write (see Finish), and
	// the response is not stored past it (ReasonWriteError). A flush the
	// client does not take (it does not read) then holds up only that
	// goroutine, and Send, never the handler or the result it hands to
	// others; a write error it meets is returned by the handler's next
	// Write or Flush, and makes the response uncacheable
	// (ReasonWriteError), as a write that failed in the handler would; a
	// panic of a write or flush below is raised on the handler's
	// goroutine, once: by its next Write or Flush, Finish, or Send. The
	// writer below gets those writes and flushes one at a time, while the
	// handler runs; the two never share the header map: from the first
	// flush on, until the goroutine has stopped (at Send or Fail), the
	// handler's Header is a copy of the map below as it was then, and the
	// handler's changes to it (trailers set with http.TrailerPrefix, which
	// net/http reads once the handler has returned) are applied to the map
	// below when the goroutine has stopped: the keys the handler added,
	// changed or deleted since the copy, leaving the others as the writers
	// below left them. A handler that kept the map from before its first
	// flush must not change it after.
	StoreFlushed bool
	// Hold keeps the body of a response that may still be stored (one
	// within Limit, not diverted, of a status that has a body) in the
	// buffer instead of forwarding it: the handler's writes never block on
	// the client, so a client that does not read cannot hold up the run
	// (nor the requests waiting for its result). The held bytes are
	// forwarded at Send, at Flush (which makes the response uncacheable
	// without StoreFlushed; see StoreFlushed for the flushes it keeps), or as
	// soon as the response becomes uncacheable (from then on writes pass
	// through); with Check, the first of them (at most 512) at Finish,
	// before it judges the response for the last time (see Finish). The
	// header is forwarded at commit as always (net/http sends it with the
	// first body bytes). The caller must call Send after Finish, or Fail,
	// so that a goroutine started for the flushes ends.
	Hold bool
	// Date, when set, dates a response committed without a Date (none, or
	// a nil-valued one, with which net/http sends none), or with one that
	// does not parse as an HTTP-date: the header sent
	// gets the Date it returns, which it calls once, after Check (a shared
	// cache dates a response it forwards without one, RFC 9110 section
	// 6.6.1). The recorded copy is left as the handler made it, so that
	// Check, which may judge it again, sees the same fields each time. A
	// diverted response is not sent, and not dated.
	Date func() []string

	recording // cleared by Reset

	// srcs hands out the readers ReadFrom gives the ReadFrom below in
	// place of the handler's (readBelow), each to one call and never
	// again: a writer below that keeps one past its call reads io.EOF
	// from it, not a later call's reader. The first call of the
	// Recorder's life takes the one inside it, at no allocation; Reset
	// keeps it.
	srcs httpx.Fresh[aboveReader]
}

// recording is the state of a Recorder's response: Reset clears it, and
// keeps the rest (the settings, the Writer's handles, srcs).
type recording struct {
	header   http.Header
	body     []byte
	reason   Reason
	diverted int    // the diverted status; 0 when not diverted
	declared int64  // the handler's Content-Length; -1 when none to check
	sent     int    // with Hold: how much of body has been forwarded, once pump has stopped
	tail     []byte // with Hold: the body, of which Send forwards what was not sent, after Finish
	pump     *pump  // with Hold and StoreFlushed: forwards the flushes, from the first one on
	flushed  bool   // the handler flushed (typeAtFlush has run)
	coded    bool   // see TransferCoded
	sniffed  bool   // see TypeSniffed
	// first is sendFirst's write below while it outlives FirstWriteWait:
	// nothing else is written below until it has returned (waitFirst).
	first *PendingWrite
	// inBelow counts the calls into the writer below (and the raises of a
	// panic that one met on the pump's or a PendingWrite's goroutine)
	// that have not returned: one that panicked never does, and leaves it
	// above 0 for good; see PanickedBelow.
	inBelow int
}

// ReasonDiverted reports a response held back by Recorder.Divert.
const ReasonDiverted Reason = "diverted"

var _ httpx.Hooks = (*Recorder)(nil)

// Reset prepares rec, with its current settings, for a response to w, and
// returns the writer to give the handler.
func (rec *Recorder) Reset(w http.ResponseWriter) http.ResponseWriter {
	// A writer the last handler kept reaches nothing from now on (as
	// from Finish, which a reuse may have skipped), before rec is cleared.
	rec.Detach()
	_ = rec.stopPump() // a reused Recorder's last flushes end first
	// The Writer is not cleared with the rest: its Reset clears it but for
	// its handles, so that the writer handed out now is none a handler
	// kept before.
	rec.recording = recording{declared: -1}
	if rec.Limit <= 0 {
		rec.Limit = DefaultMaxBody
	}
	return rec.Writer.Reset(w, rec)
}

// Diverted returns the status of a response held back by Divert, or 0.
func (rec *Recorder) Diverted() int { return rec.diverted }

// Fail marks the response uncacheable for reason, unless it already is, and
// drops the recorded body. With Hold, the body held so far is forwarded
// (after OnFail: the waiters are told first; with StoreFlushed, once the
// flushes in progress are written), and writes pass through from then on.
func (rec *Recorder) Fail(reason Reason) {
	// Never past a declared length: Write fails the response first.
	rec.forward(rec.drop(reason)) // an error shows in the handler's next write
}

// drop marks the response uncacheable for reason, unless it already is,
// drops the recorded body, and returns what of it was held (nil without
// Hold), which the caller forwards.
func (rec *Recorder) drop(reason Reason) []byte {
	held := rec.held()
	rec.body = nil
	if rec.reason == ReasonNone {
		rec.reason = reason
		if rec.OnFail != nil {
			rec.OnFail(reason)
		}
	}
	return held
}

// held returns the body held so far, sent or not: nil without Hold.
func (rec *Recorder) held() []byte {
	if !rec.Hold || rec.reason != ReasonNone || rec.diverted != 0 {
		return nil
	}
	return rec.body
}

// forward waits for the flushes in progress, then writes what of held
// (the held body as it was when the response stopped growing) they did
// not send.
func (rec *Recorder) forward(held []byte) error {
	err := rec.stopPump()
	if len(held) <= rec.sent || errors.Is(err, errWritePanicked) {
		// (A writer below that panicked, its panic raised, is not
		// written to again: the response is broken off.)
		return err
	}
	p := held[rec.sent:]
	rec.sent = len(held)
	_, err = rec.writeBelow(p)
	return err
}

// PanickedBelow reports whether a call the Recorder made into the writer
// below it did not return: it panicked (or raised the panic of a write
// below that panicked on the pump's goroutine, or on a PendingWrite's).
// Asked by the caller that recovered a panic of the handler, it tells a
// writer outside the view that broke as the response reached it (one that
// panics at the commit of the status, at the handler's first write) from
// the handler's own panic. It stays true once set, also where the handler
// recovered that panic and went on (a later call below that returns does
// not clear it): the writer below is broken. A panic of
// the reader the handler gave ReadFrom is the handler's, also where the
// ReadFrom below reads it, and a panic of the ReadFrom below is the
// writer's (see readBelow).
func (rec *Recorder) PanickedBelow() bool { return rec.inBelow != 0 }

// writeBelow writes p to the writer below, marking the call (PanickedBelow).
func (rec *Recorder) writeBelow(p []byte) (int, error) {
	rec.inBelow++
	n, err := rec.Writer.Write(p)
	rec.inBelow--
	return n, err
}

// headerBelow commits code to the writer below, marking the call
// (PanickedBelow).
func (rec *Recorder) headerBelow(code int) {
	rec.inBelow++
	rec.Writer.WriteHeader(code)
	rec.inBelow--
}

// readBelow hands r to the ReadFrom below, marking the call
// (PanickedBelow); with tee, what the writer below reads is recorded on
// the way. The handler's reader is read above the mark: a panic of the
// ReadFrom below is the writer's, one of r's Read the handler's. Where r
// is not recorded and is what net/http sends with sendfile or splice (an
// *os.File, a *net.TCPConn or *net.UnixConn, or an io.LimitedReader of
// one: see bySystem), it goes below as it is: its Read is the system's,
// not the handler's. Others go below behind a reader of the Recorder's
// own (Recorder.srcs), which unmarks the call around their Read, and hides an
// io.WriterTo (io.Copy prefers the WriteTo of its source to the ReadFrom
// of its destination, so that a reader with one seldom reaches
// ReadFrom): its own WriteTo copies through its Read with a pooled
// buffer.
func (rec *Recorder) readBelow(r io.Reader, tee bool) (n int64, err error) {
	if !tee && bySystem(r) {
		rec.inBelow++
		n, err = rec.Writer.ReadFrom(r)
		rec.inBelow--
		return n, err
	}
	// The reader below is this call's alone (a ReadFrom made inside r's
	// Read, where the handler's reader writes the same response, takes
	// another), and is emptied when the call ends, also where it
	// panicked: the handler's reader is not kept.
	src := rec.srcs.Next() // no call had it: see Recorder.srcs
	defer func() { *src = aboveReader{} }()
	*src = aboveReader{rec: rec, r: r, tee: tee}
	rec.inBelow++
	n, err = rec.Writer.ReadFrom(src)
	rec.inBelow--
	if tee && err != nil && !src.failed {
		rec.Fail(ReasonWriteError)
	}
	return n, err
}

// bySystem reports whether r is a reader net/http's ReadFrom sends with
// sendfile or splice, which the standard library reads: an *os.File, a
// *net.TCPConn or a *net.UnixConn, or an io.LimitedReader of one (what
// net's sendfile and splice take, Go 1.26); or the reader the WriteTo of
// an *os.File or a *net.TCPConn hands io.Copy (os.fileWithoutWriteTo,
// net.tcpConnWithoutWriteTo: the file or connection with its WriteTo
// hidden), so that io.Copy(w, f) reaches ReadFrom with one of those. A
// type of the handler's own that embeds a file (a syscall.Conn, which
// sendfile takes too) is not: where net/http reads it through its Read
// (the 512 bytes it sniffs, a chunked or HEAD response), that Read is
// the handler's.
func bySystem(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	switch r.(type) {
	case *os.File, *net.TCPConn, *net.UnixConn:
		return true
	case syscall.Conn:
		// An unexported type of os or net, named (not a pointer to one).
		pkg := reflect.TypeOf(r).PkgPath()
		return pkg == "os" || pkg == "net"
	}
	return false
}

// flushBelow flushes the writer below, marking the call (PanickedBelow).
func (rec *Recorder) flushBelow() error {
	rec.inBelow++
	err := rec.Writer.Flush()
	rec.inBelow--
	return err
}

// holding reports whether Write keeps p rather than forwarding it.
func (rec *Recorder) holding() bool {
	return rec.Hold && rec.reason == ReasonNone && bodyAllowed(rec.Status())
}

// Send forwards, with Hold, what the handler wrote and the Recorder held,
// once Finish has returned it (the response is stored, and handed to whoever
// waited for it, first): with StoreFlushed, it first waits for the flushes
// in progress, and sends what they did not. It does nothing without Hold,
// for a response that became uncacheable (already forwarded) and for a
// diverted one.
func (rec *Recorder) Send() error {
	tail := rec.tail
	rec.tail = nil
	return rec.forward(tail)
}

// Reason returns why the response is uncacheable so far; "" if it is not.
func (rec *Recorder) Reason() Reason { return rec.reason }

// WriteHeader canonicalizes the header's keys and records the status and a
// copy of the header at commit, then forwards the code.
func (rec *Recorder) WriteHeader(code int) {
	if rec.diverted != 0 {
		return
	}
	if httpx.Informational(code) || rec.Committed() {
		rec.headerBelow(code)
		return
	}
	if rec.Committing != nil {
		*rec.Committing = code
	}
	h := rec.Header()
	if rec.Divert != nil && rec.Divert(code) {
		rec.diverted = code
		rec.header = h.Clone()
		header.Canonicalize(rec.header)
		rec.Fail(ReasonDiverted)
		return
	}
	header.Canonicalize(h)
	rec.header = h.Clone()
	switch {
	case len(h["Trailer"]) > 0 || hasTrailerPrefix(h):
		rec.Fail(ReasonTrailer)
	case rec.StoreFlushed && isEventStream(h["Content-Type"]):
		rec.Fail(ReasonStreaming)
	case rec.Check != nil:
		if reason := rec.Check(code, rec.header); reason != ReasonNone {
			rec.Fail(reason)
		}
	}
	if rec.reason == ReasonNone && bodyAllowed(code) {
		rec.checkLength(h["Content-Length"])
	}
	if rec.StatusHeader != "" {
		st := Miss
		if rec.reason != ReasonNone {
			st = Bypass
		}
		h[rec.StatusHeader] = st.Values()
	}
	if rec.Date != nil {
		// Undated, or dated by a value no recipient can read (a
		// middleware's "... UTC"), which a recipient with a clock may
		// replace with the time it received the response (RFC 9110
		// section 6.6.1): each hit sends the stored Date beside an Age
		// counted from it.
		if _, ok := firstDate(h["Date"]); !ok {
			h["Date"] = rec.Date()
		}
	}
	rec.headerBelow(code)
	// The writers below share h, and may add to it as the code passes
	// (a session middleware commits its session there, and adds
	// Set-Cookie and Vary: Cookie): what the client gets is judged again.
	rec.recheck(code, nil)
}

// judged are the fields that decide whether, for how long and under which
// key a response may be stored: recheck watches them for changes made past
// the Recorder's commit.
var judged = [...]string{"Set-Cookie", "Cache-Control", "Vary", "Expires", "Pragma"}

// recheck judges the response again, with Check, when a judged field of
// the live header differs from the copy recorded at commit: changed by a
// writer below as the status passed down (or, at Finish, by anyone since).
// The recorded copy takes the union of both values of each changed field
// (what the handler set and what was added), so that a field the client
// may have got is never dropped, and Check decides on it: a Set-Cookie,
// no-store or private added below makes the response uncacheable, a Vary
// added below keys it. Other fields added below (Content-Encoding, say)
// are the writer's own, made again for each response it sends, and stay
// out of the copy. Recorder.Targeted, when set, is watched too. A key added
// with another spelling than the canonical one (h["set-cookie"]) counts
// too: the keys are scanned each time (a miss's cost, a few dozen keys at
// most), since a writer below may delete a key as it adds one, and leave
// the header's length as it was.
//
// below, when not nil, holds the judged fields the writers below the pump
// had in their map after its writes (pump.look), which the handler's copy
// of the header does not show, and is judged as the live header is.
func (rec *Recorder) recheck(status int, below http.Header) {
	if rec.reason != ReasonNone || rec.Check == nil || rec.diverted != 0 {
		return
	}
	h := rec.Header()
	if rec.header == nil {
		rec.header = make(http.Header)
	}
	changed := false
	watch := func(k string, vs []string) {
		if !slices.Equal(vs, rec.header[k]) {
			changed = true
			rec.header[k] = union(rec.header[k], vs)
		}
	}
	for _, k := range judged {
		watch(k, h[k])
	}
	if rec.Targeted != "" {
		watch(rec.Targeted, h[rec.Targeted])
	}
	for k, vs := range h {
		if ck := http.CanonicalHeaderKey(k); ck != k && rec.judges(ck) {
			changed = true
			rec.header[ck] = union(rec.header[ck], vs)
		}
	}
	for k, vs := range below {
		watch(k, union(rec.header[k], vs))
	}
	if !changed {
		return
	}
	if reason := rec.Check(status, rec.header); reason != ReasonNone {
		rec.Fail(reason)
		if rec.StatusHeader != "" {
			// Too late for net/http, which sent the header at commit; a
			// writer below that sends it later shows the outcome.
			h[rec.StatusHeader] = Bypass.Values()
		}
	}
}

// judges reports whether recheck watches ck, a canonical key.
func (rec *Recorder) judges(ck string) bool {
	return slices.Contains(judged[:], ck) || (ck == rec.Targeted && ck != "")
}

// JudgedFields returns a copy of the fields of h a Recorder judges
// (Set-Cookie, Cache-Control, Vary, Expires, Pragma, and targeted, a
// canonical name, when not ""), under canonical keys, the values of every
// spelling of a key merged (h["set-cookie"] counts as Set-Cookie); nil
// when h has none. With Added, it tells what the writers outside a cache
// added to a response it serves as the status passed them (a session
// middleware's Set-Cookie), which the cache judges as recheck judges the
// fields added below a Recorder.
func JudgedFields(h http.Header, targeted string) http.Header {
	var out http.Header
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if len(vs) == 0 || !slices.Contains(judged[:], ck) && (targeted == "" || ck != targeted) {
			continue
		}
		if out == nil {
			out = make(http.Header)
		}
		out[ck] = union(out[ck], vs)
	}
	return out
}

// Added returns, for each key of post, the values post has and pre lacks
// (canonical keys in both, as JudgedFields returns them): what was added
// to pre to make post. It returns nil when nothing was; a value removed
// does not count.
func Added(pre, post http.Header) http.Header {
	var out http.Header
	for k, vs := range post {
		for _, v := range vs {
			if slices.Contains(pre[k], v) || slices.Contains(out[k], v) {
				continue
			}
			if out == nil {
				out = make(http.Header)
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

// union returns a's values followed by those of b that a lacks, in a new
// slice: neither a nor b is written to.
func union(a, b []string) []string {
	out := slices.Clip(a)
	for _, v := range b {
		if !slices.Contains(a, v) {
			out = append(out, v)
		}
	}
	return out
}

// checkLength reads the Content-Length the handler declared, as net/http
// does (a valid value is a non-negative integer; net/http drops an invalid
// one and frames the body itself), and remembers it for keep and Finish.
func (rec *Recorder) checkLength(cl []string) {
	switch {
	case len(cl) == 0:
		return
	case len(cl) > 1:
		rec.Fail(ReasonLength) // clients reject several lengths, or pick one
		return
	}
	n, err := strconv.ParseInt(cl[0], 10, 64)
	switch {
	case err != nil || n < 0:
	case n > int64(rec.Limit):
		rec.Fail(ReasonTooLarge)
	default:
		rec.declared = n // keep sizes the buffer as the body arrives
	}
}

func hasTrailerPrefix(h http.Header) bool {
	for k := range h {
		if len(k) > len(http.TrailerPrefix) && k[:len(http.TrailerPrefix)] == http.TrailerPrefix {
			return true
		}
	}
	return false
}

// Write forwards p and tees it into the capped buffer.
func (rec *Recorder) Write(p []byte) (int, error) {
	if rec.diverted != 0 {
		return len(p), nil
	}
	if !rec.Committed() {
		rec.WriteHeader(http.StatusOK)
		if rec.diverted != 0 {
			return len(p), nil
		}
	}
	if rec.holding() {
		if err := rec.pumpFailed(); err != nil {
			rec.Fail(ReasonWriteError)
			return 0, err
		}
		if rec.declared >= 0 && int64(len(rec.body)+len(p)) > rec.declared {
			// Longer than declared: net/http refuses the write that passes
			// the length (ErrContentLength), and the handler must see it.
			rec.Fail(ReasonLength) // forwards what was held
			return rec.writeBelow(p)
		}
		if len(rec.body)+len(p) > rec.Limit {
			rec.Fail(ReasonTooLarge) // forwards what was held
			return rec.writeBelow(p)
		}
		rec.keep(p)
		return len(p), nil
	}
	if rec.reason == ReasonNone && rec.declared >= 0 && int64(len(rec.body)+len(p)) > rec.declared {
		rec.Fail(ReasonLength) // and net/http refuses the write
	}
	n, err := rec.writeBelow(p)
	if rec.reason != ReasonNone || !bodyAllowed(rec.Status()) {
		// Or a status without a body (204, 304): net/http refuses the
		// write (ErrBodyNotAllowed), which is not the client leaving, and
		// sends the response without it.
		return n, err
	}
	if err != nil {
		rec.Fail(ReasonWriteError)
		return n, err
	}
	if len(rec.body)+n > rec.Limit {
		rec.Fail(ReasonTooLarge)
		return n, err
	}
	rec.keep(p[:n])
	return n, err
}

// keep appends p to the recorded body, which the caller made sure stays
// within Limit.
func (rec *Recorder) keep(p []byte) {
	need := len(rec.body) + len(p)
	if need > cap(rec.body) {
		// Grow by doubling, never past the limit nor, for a body that
		// arrives as declared (checkLength: within Limit), its length,
		// which sizes the buffer once declaredShare of it has arrived:
		// what is allocated follows what arrived, not what was announced,
		// and a large body is not copied again and again. A body longer
		// than declared grows by doubling.
		size := max(2*cap(rec.body), need, 512)
		if d := rec.declared; d >= int64(need) {
			size = min(max(size, initialBody), int(d))
			if int64(need)*declaredShare >= d {
				size = int(d)
			}
		}
		// The held body, which the flushes may be reading, is never
		// written to in place: it is copied, and appended to past its length.
		grown := make([]byte, len(rec.body), min(size, rec.Limit))
		copy(grown, rec.body)
		rec.body = grown
	}
	rec.body = append(rec.body, p...)
}

// ReadFrom records the body as Write does, and sends it as the writer
// below would without the Recorder: net/http's ReadFrom writes the first
// 512 bytes through its Write, which refuses to pass a declared
// Content-Length, and hands the rest to the connection, past it (the
// client reads the declared length as a complete response). A response
// that passes through (uncacheable) goes to the writer below's ReadFrom
// unrecorded (a file as it is, which net/http sends with sendfile; another
// reader behind one of the Recorder's: see readBelow); without Hold, the
// writer below reads r, and what it reads is
// recorded on the way. With Hold, r is copied through Write up to the
// declared length; a body longer than that is not recorded, and goes to
// the writer below's ReadFrom from the first byte the handler wrote with
// it (what the handler wrote before goes through Write).
func (rec *Recorder) ReadFrom(r io.Reader) (int64, error) {
	before := len(rec.body) // what the handler wrote before this copy
	if rec.Committed() {
		return rec.readFrom(r, before, false)
	}
	// As net/http's ReadFrom: the first bytes go through Write, so that an
	// empty reader commits nothing (the handler may still choose the
	// status) and the Content-Type is sniffed from them.
	n, err := rec.ReadFromViaWrite(io.LimitReader(r, sniffLen))
	if err != nil || n < sniffLen {
		return n, err
	}
	m, err := rec.readFrom(r, before, true)
	return n + m, err
}

// readFrom is ReadFrom once the response is committed; before is the body
// the handler wrote before the copy, sniffed whether ReadFrom already sent
// the copy's first bytes through Write.
func (rec *Recorder) readFrom(r io.Reader, before int, sniffed bool) (int64, error) {
	switch {
	case rec.diverted != 0:
		return rec.ReadFromViaWrite(r) // Write discards it
	case rec.reason != ReasonNone:
		rec.flushSniffed(sniffed)
		return rec.readBelow(r, false) // nothing is recorded
	case !bodyAllowed(rec.Status()):
		return rec.ReadFromViaWrite(r) // as Write, which records nothing
	case !rec.Hold:
		rec.flushSniffed(sniffed)
		return rec.readBelow(r, true)
	case rec.declared < 0:
		return rec.ReadFromViaWrite(r)
	}
	start := len(rec.body)
	n, err := rec.ReadFromViaWrite(io.LimitReader(r, rec.declared-int64(start)))
	if err != nil || n < rec.declared-int64(start) || rec.reason != ReasonNone {
		// Or the body is shorter than declared, which Finish finds.
		return n, err
	}
	var past [1]byte
	if m, err := io.ReadFull(r, past[:]); m == 0 {
		if err == io.EOF {
			err = nil // as long as declared
		}
		return n, err
	}
	// Longer than declared: what the handler wrote before this copy goes
	// through Write, the copy (all of it, as net/http's ReadFrom would
	// have been given it) through the ReadFrom below.
	held := rec.drop(ReasonLength)
	if err := rec.forward(held[:before]); err != nil {
		return n + 1, err
	}
	rest := append(held[rec.sent:len(held):len(held)], past[0]) // a copy: held is never written to
	rec.sent = len(held)
	m, err := rec.readBelow(io.MultiReader(bytes.NewReader(rest), r), false)
	return n + 1 + max(m-int64(len(rest)), 0), err
}

// flushSniffed flushes the writer below when ReadFrom sent it the copy's
// first bytes through its Write (sniffed), as its own ReadFrom would have:
// its header goes out, or its ReadFrom, handed the rest, would send another
// share through Write, past a declared length under 1 KiB (which net/http
// refuses: the client's body is cut where net/http alone sends it whole).
func (rec *Recorder) flushSniffed(sniffed bool) {
	if sniffed {
		_ = rec.flushBelow()
	}
}

// aboveReader is the handler's reader r as the ReadFrom below reads it
// (readBelow): each Read of r is outside the mark of the call below
// (PanickedBelow). With tee (without Hold), it records what the writer
// below reads, with Write's checks: the body passing the declared length
// or the limit makes the response uncacheable.
type aboveReader struct {
	rec    *Recorder
	r      io.Reader
	tee    bool
	failed bool // r returned an error other than io.EOF
}

func (t *aboveReader) Read(p []byte) (int, error) {
	rec := t.rec
	if rec == nil {
		// Read after the ReadFrom below returned (readBelow emptied it):
		// the handler's reader is not kept.
		return 0, io.EOF
	}
	rec.inBelow-- // r is the handler's: its panic is not the writer's
	n, err := t.r.Read(p)
	rec.inBelow++
	if err != nil && err != io.EOF {
		t.failed = true
	}
	if !t.tee || n == 0 || rec.reason != ReasonNone {
		return n, err
	}
	switch need := len(rec.body) + n; {
	case rec.declared >= 0 && int64(need) > rec.declared:
		rec.Fail(ReasonLength)
	case need > rec.Limit:
		rec.Fail(ReasonTooLarge)
	default:
		rec.keep(p[:n])
	}
	return n, err
}

// WriteTo copies t's reader to w through t.Read (which unmarks the call
// around the handler's reader's Read, and records, as for any Read) with
// a pooled buffer: a writer below that copies with io.Copy (a
// *net.TCPConn's ReadFrom where it cannot sendfile or splice) allocates
// none for each body, where the handler's reader's own WriteTo, if any,
// is hidden.
func (t *aboveReader) WriteTo(w io.Writer) (n int64, err error) {
	bp := copyBufs.Get().(*[]byte)
	for {
		nr, rerr := t.Read(*bp)
		if nr > 0 {
			nw, werr := w.Write((*bp)[:nr])
			if nw < 0 || nw > nr {
				nw, werr = 0, io.ErrShortWrite
			}
			n += int64(nw)
			if werr == nil && nw < nr {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				err = werr
				break
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				err = rerr
			}
			break
		}
	}
	copyBufs.Put(bp) // not after a panic: the writer below may hold the buffer
	return n, err
}

// copyBufs are the buffers of aboveReader.WriteTo.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// sniffLen is what net/http's ReadFrom copies through its Write before it
// hands the reader to the connection: what it sniffs a Content-Type from.
const sniffLen = 512

// isEventStream reports a text/event-stream Content-Type.
func isEventStream(ct []string) bool {
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(ct[0], ";")
	return header.EqualLower(header.TrimOWS(mt), "text/event-stream")
}

// Flush flushes, and marks the response as streaming (uncacheable) unless
// StoreFlushed is set. With StoreFlushed and Hold, a response that may still
// be stored is flushed by the pump, without waiting for the client.
func (rec *Recorder) Flush() error {
	if rec.diverted != 0 {
		return nil
	}
	if !rec.Committed() {
		rec.WriteHeader(http.StatusOK)
		if rec.diverted != 0 {
			return nil
		}
	}
	if !rec.flushed {
		rec.flushed = true
		rec.typeAtFlush()
	}
	if !rec.StoreFlushed {
		rec.Fail(ReasonStreaming)
	} else if rec.holding() {
		// Every flush reaches the client, what was held first, but the
		// handler never waits for it.
		if err := rec.pumpFailed(); err != nil {
			rec.Fail(ReasonWriteError)
			return err
		}
		if rec.pump == nil {
			rec.startPump()
		}
		rec.pump.flush(rec.body)
		return nil
	}
	return rec.flushBelow()
}

// typeAtFlush records, at the first flush of a response whose handler
// set no Content-Type, the one net/http sends: the header goes out at the
// flush, with the type net/http sniffs from the body it holds then (none
// for an empty body), which NewSnapshot, sniffing the whole body, would
// not find where the body written so far is shorter than what net/http
// sniffs (sniffLen): a streaming page that flushes before its first bytes
// tell its type. A type it records is stored as net/http's (see
// TypeSniffed); none (no bytes yet), as a nil-valued Content-Type (see
// Snapshot.Header), net/http's too. With Hold, the pump commits the header below with the
// same bytes (pump.flush). A type recorded for a handler that set a
// Transfer-Encoding is one net/http's HTTP/1.x server did not send: see
// TransferCoded.
func (rec *Recorder) typeAtFlush() {
	h := rec.header
	if rec.reason != ReasonNone || h == nil || len(rec.body) >= sniffLen || !bodyAllowed(rec.Status()) {
		return
	}
	if _, typed := h["Content-Type"]; typed || encoded(h) {
		return
	}
	rec.sniffed = true
	if len(rec.body) == 0 {
		h["Content-Type"] = nil
		return
	}
	h["Content-Type"] = []string{http.DetectContentType(rec.body)}
	rec.coded = transferCoded(h)
}

// TypeSniffed reports whether the recorded Content-Type (with a value, or
// nil-valued) is not the handler's but the one recorded at its first flush
// (see typeAtFlush): a snapshot of it is to be marked with
// Snapshot.SetSniffed (or SetTransferCoded, where TransferCoded), as
// NewSnapshot marks one whose type it sniffs itself.
func (rec *Recorder) TypeSniffed() bool { return rec.sniffed }

// TransferCoded reports whether the recorded Content-Type is not the
// handler's but the one recorded at its first flush (see typeAtFlush) for
// a handler that set a Transfer-Encoding, which net/http's HTTP/1.x server
// did not send (its HTTP/2 server did): a snapshot of it is to be marked
// with Snapshot.SetTransferCoded, as NewSnapshot marks one whose type it
// sniffs itself.
func (rec *Recorder) TransferCoded() bool { return rec.coded }

// pumpFailed returns the error a flush met, if one did.
func (rec *Recorder) pumpFailed() error {
	if rec.pump == nil {
		return nil
	}
	rec.inBelow++ // failed raises a panic of the pump's writes
	err := rec.pump.failed()
	rec.inBelow--
	return err
}

// startPump starts the pump, and gives the handler a header map of its
// own while it runs: the writers below the pump may read and change theirs
// at each write (a compressing middleware decides there, and sets
// Content-Encoding), and the handler may go on changing its header (a
// reverse proxy sets the trailers after the body).
func (rec *Recorder) startPump() {
	h := rec.Header() // the map below: no copy is set while no pump runs
	rec.SetHeader(h.Clone())
	rec.pump = startPump(rec.Writer.Unwrap(), rec.sent, h.Clone(), rec)
}

// stopPump waits for the flushes in progress to be written, and ends the
// pump: from then on rec.sent counts what was sent, the handler's header is
// the map below again, with the changes the handler made to its copy, and
// the Recorder writes downstream itself. It returns the error a flush met.
func (rec *Recorder) stopPump() error {
	if err := rec.waitFirst(); err != nil {
		return err
	}
	p := rec.pump
	if p == nil {
		return nil
	}
	rec.pump = nil
	var err error
	rec.sent, err = p.stop()
	own := rec.Header()
	rec.SetHeader(nil)
	applyChanges(rec.Header(), p.header, own)
	rec.inBelow++
	p.rethrow()
	rec.inBelow--
	return err
}

// applyChanges makes the keys of h that changed from base (added, with
// other values, or deleted) what they are in h, in dst, and leaves the
// other keys of dst as they are.
func applyChanges(dst, base, h http.Header) {
	for k, vs := range h {
		if old, ok := base[k]; !ok || !slices.Equal(old, vs) {
			dst[k] = vs
		}
	}
	for k := range base {
		if _, ok := h[k]; !ok {
			delete(dst, k)
		}
	}
}

// pump writes a Recorder's held body downstream at each flush, on its own
// goroutine, so that the handler never waits for the client: each time it
// is woken, it writes what was held up to the last flush and not yet sent,
// then flushes. It stops at its first error.
type pump struct {
	w    http.ResponseWriter
	wake chan struct{} // a flush, or stop, is pending (one token)
	done chan struct{} // closed when run has returned

	// header is the header below as it was when the pump started, which
	// the handler's copy started equal to: the Recorder's, never run's
	// (run only reads it, in look).
	header http.Header
	// judges tells the fields look watches (the Recorder's judged ones);
	// run only calls it, and it reads only settings fixed while p runs.
	judges func(ck string) bool
	// first is closed once a write of body bytes has returned (and look
	// has recorded what it changed); a run that ends without one (a
	// panic, stop) leaves it open, and settle waits on done as well.
	first chan struct{}

	mu      sync.Mutex
	body    []byte // the held body as of the last flush: never written to in place
	sent    int    // how much of body was written
	commit  int    // the length of body at the first flush; -1 once run has flushed it
	pending bool   // a flush is asked for
	stopped bool
	err     error
	writing bool        // run is writing body bytes, its first
	wrote   bool        // a write of body bytes has returned
	below   http.Header // the judged fields of the map below, when a write changed them
	// panicked tells a write or flush below that panicked, with value its
	// value, which ended run: raised again, once (raised), on the
	// handler's goroutine (rethrow), where net/http and the view recover
	// it, rather than on run's, which would end the process.
	panicked, raised bool
	value            any
}

// errWritePanicked is what a pump whose write below panicked reports once
// the panic has been raised on the handler's goroutine (pump.rethrow).
var errWritePanicked = errors.New("httpcache: a write below panicked")

// startPump starts a pump writing to w, of which sent bytes of the held
// body were already written; header is the header below as it is now. It
// is started at the first flush, which it writes with what rec holds now.
func startPump(w http.ResponseWriter, sent int, header http.Header, rec *Recorder) *pump {
	p := &pump{w: w, sent: sent, commit: len(rec.body), header: header, judges: rec.judges, wake: make(chan struct{}, 1), done: make(chan struct{}), first: make(chan struct{})}
	go p.run()
	return p
}

func (p *pump) run() {
	defer close(p.done)
	defer func() {
		if v := recover(); v != nil {
			p.mu.Lock()
			p.panicked, p.value, p.err = true, v, errWritePanicked
			p.mu.Unlock()
		}
	}()
	for {
		p.mu.Lock()
		for !p.pending && !p.stopped {
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
		}
		if !p.pending { // stopped, every flush done
			p.mu.Unlock()
			return
		}
		p.pending = false
		chunk := p.body[p.sent:]
		if p.commit >= 0 {
			// The first flush goes out with the bytes held then, and no
			// later ones, which net/http would sniff a Content-Type from
			// (see Recorder.typeAtFlush): the rest, at a later flush the
			// handler asked for before this one was written, follows.
			end := min(max(p.commit, p.sent), len(p.body))
			chunk = p.body[p.sent:end]
			p.pending = len(p.body) > end
			p.commit = -1
		}
		first := !p.wrote && len(chunk) > 0
		p.writing = first
		p.mu.Unlock()
		var err error
		if first {
			var n int
			// The first bytes go alone, and no more than net/http buffers
			// (and sniffs a Content-Type from), so that a writer below
			// that commits at its first Write has done so, and settle's
			// wait is over, before a client that does not read can block
			// a write.
			n, err = p.w.Write(chunk[:min(len(chunk), sniffLen)])
			p.record(n, err, p.look(), first)
			chunk = chunk[n:]
		}
		if len(chunk) > 0 && err == nil {
			var m int
			m, err = p.w.Write(chunk)
			p.record(m, err, nil, false)
		}
		if err == nil {
			err = http.NewResponseController(p.w).Flush()
			p.record(0, err, p.look(), false)
		}
		if err != nil {
			return
		}
	}
}

// record adds, under p.mu, what a write or flush of run did: n bytes
// written, its error, the judged fields of the map below if it changed
// them, and, when first, that the first write of body bytes returned.
func (p *pump) record(n int, err error, below http.Header, first bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent += n
	if err != nil {
		p.err = err
	}
	if below != nil {
		p.below = below
	}
	if first {
		p.writing, p.wrote = false, true
		close(p.first)
	}
}

// look returns the judged fields of the map below, canonical keys, when
// they differ from header (a writer below added Set-Cookie at its first
// write, as one that commits there does); nil when they do not. It runs
// on run's goroutine, while no one else uses the map below.
func (p *pump) look() http.Header {
	var below http.Header
	for k, vs := range p.w.Header() {
		ck := http.CanonicalHeaderKey(k)
		if !p.judges(ck) {
			continue
		}
		if below == nil {
			below = make(http.Header)
		}
		below[ck] = union(below[ck], vs)
	}
	for k, vs := range below {
		if !slices.Equal(vs, p.header[k]) {
			return below
		}
	}
	for k := range p.header {
		if _, ok := below[k]; !ok && p.judges(k) {
			return below // a judged field removed below: the union keeps it
		}
	}
	return nil
}

// settle waits, when body bytes are to be written and none has been yet,
// for the first write of them to return (a writer below that commits at
// its first write adds its fields then; net/http sends the header with
// it), and returns the judged fields of the map below if a write changed
// them, and true. Later writes are not waited for. With bound > 0 it waits
// at most bound, and returns false past it: the write has not returned
// (see Recorder.settlePump). A panic of the writes below is raised here.
func (p *pump) settle(bound time.Duration) (http.Header, bool) {
	p.mu.Lock()
	wait := !p.wrote && (p.writing || p.pending && len(p.body) > p.sent) && p.err == nil
	p.mu.Unlock()
	if wait {
		var timeout <-chan time.Time
		if bound > 0 {
			t := time.NewTimer(bound)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-p.first:
		case <-p.done:
		case <-timeout:
			return nil, false
		}
	}
	p.rethrow()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.below, true
}

// rethrow raises, once, the panic of a write or flush below that ended
// run, on the caller's goroutine (the handler's).
func (p *pump) rethrow() {
	p.mu.Lock()
	raise := p.panicked && !p.raised
	p.raised = p.raised || raise
	v := p.value
	p.mu.Unlock()
	if raise {
		panic(v)
	}
}

// poke wakes the pump unless a wake-up is already pending.
func (p *pump) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// flush asks for body, the whole held body so far, to be written and flushed.
func (p *pump) flush(body []byte) {
	p.mu.Lock()
	p.body, p.pending = body, true
	p.mu.Unlock()
	p.poke()
}

// failed returns the error the pump stopped at, if any; a panic it
// stopped at is raised (rethrow).
func (p *pump) failed() error {
	p.rethrow()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// stop waits for the flushes asked for, ends the pump, and returns how much
// of the held body it wrote and the error it stopped at.
func (p *pump) stop() (sent int, err error) {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.poke()
	<-p.done
	return p.sent, p.err
}

// sendFirst writes, with Hold and no pump (the handler never flushed), the
// first bytes of the held body to the writer below before Finish judges
// the response for the last time: at most sniffLen of them, which net/http
// buffers (no client can block the write), or a zero-length write where
// none is held. A writer below that holds the status until the body starts
// (a compressing or session middleware outside the cache that decides at
// its first Write, and adds Vary: Cookie, Set-Cookie or Cache-Control:
// private then) has committed its header, and recheck judges the fields it
// added, as settle does for the pump's first write: the response is not
// stored, or stored under the variant, the client got. What it wrote is
// counted in sent, which Send (or a Fail) does not send again. Without
// Check, nothing is judged, and nothing is sent before Send.
func (rec *Recorder) sendFirst() {
	if !rec.Hold || rec.Check == nil || rec.reason != ReasonNone || rec.diverted != 0 || rec.sent != 0 {
		return
	}
	first := rec.body[:min(len(rec.body), sniffLen)]
	if BuffersFirstWrite(rec.Writer.Unwrap()) {
		// net/http's own writer (no middleware outside the view) takes
		// the bytes into its buffer: no goroutine, no wait.
		n, err := rec.writeBelow(first)
		rec.firstWritten(n, err)
		return
	}
	pw := StartWrite(&rec.Writer, first)
	if !pw.Wait(FirstWriteWait) {
		// A writer below that holds a write net/http would have
		// buffered (one that throttles its client, or flushes each
		// write to a client that does not read) would hold the
		// requests waiting for this response as long as it likes: the
		// fields it may add are not judged in time, so the response is
		// not stored (the waiters wait for a new leader, as when the
		// client leaves), and the rest of the body follows once the
		// write has returned (waitFirst). Nothing is written below
		// until then.
		rec.first = pw
		rec.tail = rec.drop(ReasonWriteError)
		return
	}
	rec.inBelow++ // Result raises a panic of the write
	n, err := pw.Result()
	rec.inBelow--
	rec.firstWritten(n, err)
}

// settlePump waits, with Check, for the pump's first write of body bytes
// below (pump.settle), whose fields recheck judges, and returns the judged
// fields of the map below if a write changed them, and true. As sendFirst
// does, it waits at most FirstWriteWait where the writer below is not
// net/http's own, which buffers the write (BuffersFirstWrite): a writer
// below that holds it (one that throttles its client, or flushes each
// write to a client that does not read) would hold the requests waiting
// for the response as long as it likes. Past the wait it returns false,
// and the response is not to be stored. Without Check nothing is judged,
// and nothing waited for.
func (rec *Recorder) settlePump() (http.Header, bool) {
	if rec.Check == nil {
		return nil, true
	}
	bound := FirstWriteWait
	if BuffersFirstWrite(rec.pump.w) {
		bound = 0
	}
	rec.inBelow++ // settle raises a panic of the pump's writes
	below, settled := rec.pump.settle(bound)
	rec.inBelow--
	return below, settled
}

// firstWritten counts the n bytes of sendFirst's write as sent, and fails
// the response where the write failed.
func (rec *Recorder) firstWritten(n int, err error) {
	rec.sent = n
	if err != nil && bodyAllowed(rec.Status()) {
		// The client left, as at a failed Write; a status without a
		// body (204) has an empty write refused (ErrBodyNotAllowed, by
		// net/http's HTTP/2 server), which is not the client leaving.
		rec.Fail(ReasonWriteError)
	}
}

// NeverBlocks is implemented by a writer of this module's own that has no
// client to wait on (the view's discarding writer of a background refresh):
// BuffersFirstWrite is true for it.
type NeverBlocks interface {
	http.ResponseWriter
	// NeverBlocks does nothing: the method marks the type.
	NeverBlocks()
}

// BuffersFirstWrite reports whether w, the writer below a view, takes a
// first write of up to sniffLen bytes into memory without waiting on its
// client: net/http's own (HTTP/1.x and HTTP/2, which buffer 2 and 4 KiB
// before they send), httptest's recorder, and a NeverBlocks. net/http's
// are known by the reflected type name, as untypedOverHTTP1 knows them;
// any other writer may block.
func BuffersFirstWrite(w http.ResponseWriter) bool {
	if _, ok := w.(NeverBlocks); ok {
		return true
	}
	t := reflect.TypeOf(w)
	if t == nil || t.Kind() != reflect.Pointer {
		return false
	}
	switch e := t.Elem(); e.PkgPath() {
	case "net/http":
		return e.Name() == "response" || e.Name() == "http2responseWriter"
	case "net/http/httptest":
		return e.Name() == "ResponseRecorder"
	}
	return false
}

// FirstWriteWait bounds how long Finish waits for its first write below
// (sendFirst), or the flushes' first one (settlePump), before it gives up
// judging what that write adds: the response is then not stored. A
// variable for tests.
var FirstWriteWait = 250 * time.Millisecond

// waitFirst waits for a first write below that outlived FirstWriteWait,
// and counts what it wrote as sent; it returns its error.
func (rec *Recorder) waitFirst() error {
	pw := rec.first
	if pw == nil {
		return nil
	}
	rec.first = nil
	rec.inBelow++ // Result raises a panic of the write
	n, err := pw.Result()
	rec.inBelow--
	rec.sent = n
	return err
}

// PendingWrite is a write below a view made on a goroutine of its own, so
// that the view waits for it a bounded time (a Recorder's first held
// bytes, or a SharedCache revalidation's: a slow writer outside the view
// would hold the requests waiting for the response). Nothing else may be
// written below until Result has returned.
type PendingWrite struct {
	done chan struct{} // closed once the write has returned
	n    int
	err  error
	// panicked tells a write that panicked, with p its value: raised
	// again by Result, on the caller's goroutine, where net/http and the
	// view recover it, rather than on the write's, which would end the
	// process.
	panicked bool
	p        any
}

// StartWrite writes b to w on a goroutine of its own.
func StartWrite(w io.Writer, b []byte) *PendingWrite {
	pw := &PendingWrite{done: make(chan struct{})}
	go func() {
		defer close(pw.done)
		defer func() {
			if p := recover(); p != nil {
				pw.panicked, pw.p = true, p
			}
		}()
		pw.n, pw.err = w.Write(b)
	}()
	return pw
}

// Wait waits at most d for the write and reports whether it has returned
// (or panicked: see Panicked).
func (pw *PendingWrite) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-pw.done:
		return true
	case <-t.C:
		return false
	}
}

// Panicked reports whether the write, which Wait saw return, panicked.
func (pw *PendingWrite) Panicked() bool { return pw.panicked }

// Result waits for the write and returns what it returned; a write that
// panicked panics here with the same value.
func (pw *PendingWrite) Result() (int, error) {
	<-pw.done
	if pw.panicked {
		panic(pw.p)
	}
	return pw.n, pw.err
}

// Hijack marks the response uncacheable and hijacks the connection.
func (rec *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rec.Fail(ReasonStreaming)
	return rec.Writer.Hijack()
}

// Unwrap marks the response uncacheable: the handler is reaching past the
// recorder (http.ResponseController).
func (rec *Recorder) Unwrap() http.ResponseWriter {
	rec.Fail(ReasonStreaming)
	return rec.Writer.Unwrap()
}

// Finish ends the response as net/http would after the handler returns: a
// handler that wrote nothing gets an implicit 200 (committed through the
// hooks, so it is recorded). It returns what was recorded: the status, the
// header as it was at commit (with the Content-Type typeAtFlush recorded),
// the body (nil when uncacheable), and why the
// response may not be stored ("" if it may). For a diverted response it
// returns the diverted status and the header it had then. The body belongs
// to the caller, who must not change it before Send.
//
// With Hold and Check, for a response that may still be stored and whose
// handler never flushed, Finish writes the first bytes held (at most 512,
// which net/http buffers, so that no client can block the write; a
// zero-length write where none is held) to the writer below before it
// judges the judged fields of the header below once more: a writer below
// that holds the status until the body starts (a compressing or session
// middleware that decides at its first Write, and adds Vary: Cookie,
// Set-Cookie or Cache-Control: private then) has committed its header,
// and what it added is judged as the pump's first write is (see
// StoreFlushed). Send sends the rest. Where the writer below is not
// net/http's own (BuffersFirstWrite), that write, or the pump's, is waited
// for at most FirstWriteWait: a writer below that holds it would hold the
// requests waiting for the response. Past the wait the response is not
// stored (ReasonWriteError, told to OnFail), and Send sends the rest once
// the write has returned, each byte once; a panic of the write is raised
// by Finish, or past the wait by Send.
//
// Finish first detaches the writer handed to the handler (httpx.Writer's
// Detach), waiting for a call in progress on it: a handler that kept it
// past its return (a late goroutine, a logger) gets httpx.ErrDetached from
// then on, and its bytes reach neither the recorded body nor the writer
// below. A caller that does not reach Finish (the handler panicked) calls
// Detach itself before anything else.
func (rec *Recorder) Finish() (status int, header http.Header, body []byte, reason Reason) {
	rec.Detach()
	if rec.diverted != 0 {
		return rec.diverted, rec.header, nil, rec.reason
	}
	if !rec.Committed() && !rec.Hijacked() {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.Hijacked() {
		rec.Fail(ReasonStreaming)
	}
	if rec.reason == ReasonNone && rec.pumpFailed() != nil {
		rec.Fail(ReasonWriteError) // a flush found the client gone
	}
	if rec.reason == ReasonNone && rec.declared >= 0 && int64(len(rec.body)) != rec.declared {
		rec.Fail(ReasonLength)
	}
	if rec.reason == ReasonNone && hasTrailerPrefix(rec.Header()) {
		// Trailers set once the body was written (httputil.ReverseProxy
		// sets an origin's undeclared ones so) reach this client; a
		// snapshot has none to replay.
		rec.Fail(ReasonTrailer)
	}
	// A judged field changed since commit (by the handler, too late for
	// net/http, or by a writer below that sends its header later) is
	// judged as one set before it. While the pump runs, the handler's
	// header is a copy: what the writers below did to theirs at the
	// pump's writes is judged too, once its first write has returned.
	var below http.Header
	if rec.reason == ReasonNone && rec.pump != nil {
		var settled bool
		if below, settled = rec.settlePump(); !settled {
			// The pump's first write below has not returned: the
			// response is not stored, and the held body the pump has
			// not sent (rec.tail) follows once it has stopped (Send).
			rec.tail = rec.drop(ReasonWriteError)
			return rec.Status(), rec.header, nil, rec.reason
		}
	} else if rec.sendFirst(); rec.first != nil {
		// The write below has not returned: the header below, which it
		// may be changing, is not read, and the held body (rec.tail)
		// is sent once it has returned.
		return rec.Status(), rec.header, nil, rec.reason
	}
	rec.recheck(rec.Status(), below)
	rec.tail = rec.held()
	body, rec.body = rec.body, nil
	return rec.Status(), rec.header, body, rec.reason
}
