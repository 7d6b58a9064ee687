package compress

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-caching/caching/internal/conditional"
	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpx"
	"github.com/go-caching/caching/timing"
)

type state uint8

const (
	undecided   state = iota // buffering up to MinSize, status held
	passthrough              // committed (or committing) unencoded
	encoding                 // compressing; committed once streaming or finished
)

// responseWriter is the per-request state of the middleware. It embeds
// httpx.Writer and overrides the hooks it intercepts. Pooled by Compressor.
type responseWriter struct {
	httpx.Writer
	c    *Compressor
	r    *http.Request
	head bool

	// cond is the Conditional writer w writes through, if any, and
	// notModified reports that it made a 304 of the encoded response,
	// committed at the decision: nothing is encoded then (see decide).
	cond        *conditional.Writer
	notModified bool

	status    int   // the held final status, 0 until known
	state     state // see the constants
	typeKnown bool  // Content-Type was present and acceptable
	vary      bool  // add Vary: Accept-Encoding at commit

	// inm is the request's If-None-Match as the client sent it, when it
	// was rewritten for the handler (nil otherwise): a handler's 304
	// carries the ETag of the variant the client named (revalidated), or,
	// without If-None-Match, of the one negotiated (negotiated).
	inm []string

	codec     *codec
	enc       encoder       // nil for HEAD
	out       *bytes.Buffer // compressed bytes held back for Content-Length
	streaming bool          // compressed bytes go downstream as they come

	// gone is the error of a write or flush of the encoded response
	// below: the client left, and nothing more is encoded for it. probed
	// and unprobed track the probes of the connection once the request's
	// context is cancelled (see probe): whether there was one yet, and how
	// much input was encoded since the last.
	gone     error
	probed   bool
	unprobed int

	raw    []byte // body held back while undecided
	rawArr [sniffLen]byte

	// declared is the Content-Length the handler set (-1 for none, or one
	// the middleware leaves to net/http), written the body bytes it wrote
	// since: an encoded body cut short is not finished (finish), and a
	// write past it fails, as net/http's do.
	declared, written int64

	varies varySlab // kept across requests: see varySlab

	// sniffedType is the Content-Type decide sniffed, set in the header at
	// commit (commitHeader); "" when the handler's is kept.
	sniffedType string

	// frozen: the header precheck recorded in snapKeys and snapVals is the
	// one to commit (record, freeze, restore). The slabs are kept across
	// requests, their strings cleared.
	frozen   bool
	snapKeys []snapField
	snapVals []string
}

// snapField is a field of the frozen header: its key and its values,
// snapVals[start:end].
type snapField struct {
	key        string
	start, end int
}

var _ httpx.Hooks = (*responseWriter)(nil)

// WriteHeader holds the final status until the decision; 1xx pass through,
// and so does a first code that is no status (outside 100-999). After
// Hijack it does nothing.
func (w *responseWriter) WriteHeader(code int) {
	if w.Hijacked() {
		return
	}
	if httpx.Informational(code) || w.state == passthrough {
		w.Writer.WriteHeader(code)
		return
	}
	if w.status != 0 {
		return // superfluous, as net/http would drop it
	}
	if code < 100 || code > 999 {
		// net/http panics (a handler's unset resp.StatusCode on an
		// error path): the writer below decides, as it would without
		// the middleware, rather than a held 0 going out as a 200
		// that a cache stores.
		w.state = passthrough
		w.Writer.WriteHeader(code)
		return
	}
	w.status = code
	w.precheck()
	w.freeze()
}

// Write holds the body back until there is enough to decide (holdBack),
// then compresses or passes through. After Hijack it writes nothing and
// returns http.ErrHijacked, as net/http's ResponseWriter does; past the
// Content-Length the handler declared it writes nothing and returns
// http.ErrContentLength, as net/http's does. Once the request's context is
// cancelled (the client may have left: see clientGone), the encoded body is
// streamed and the connection probed (see probe): a write fails once one
// below did, as net/http's do, rather than once MaxBuffer of compressed
// output is held back. A HEAD's writes, never sent, fail at once then.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.Hijacked() {
		return 0, http.ErrHijacked
	}
	first := w.state == undecided && w.status == 0
	if first {
		w.status = http.StatusOK
		w.precheck() // which reads the Content-Length
	}
	if w.declared >= 0 {
		if w.written+int64(len(p)) > w.declared {
			if first {
				w.freeze()
			}
			return 0, http.ErrContentLength
		}
	}
	n, err := w.write(p)
	if w.declared >= 0 {
		w.written += int64(n) // what a failed write left out is not
	}
	if first {
		// After the write, which may commit at once (nothing to
		// freeze then): the handler cannot change the header during it.
		w.freeze()
	}
	return n, err
}

// clientGone returns the error of ctx, a request's context, once it was
// cancelled without another cause: the client may have left (net/http
// cancels it so), or a middleware cancelled the request. It is no proof:
// net/http cancels it too when an HTTP/1 client closes its write side
// and still reads (probe tells them apart). A context that ended by its
// deadline (a timeout middleware's) is not gone: net/http alone goes on
// sending the handler's writes then, and so does the middleware.
func clientGone(ctx context.Context) error {
	if context.Cause(ctx) == context.Canceled {
		return context.Canceled
	}
	return nil
}

// write is Write once the checks are done.
func (w *responseWriter) write(p []byte) (int, error) {
	switch w.state {
	case passthrough:
		return w.Writer.Write(p)
	case encoding:
		if w.notModified {
			return w.Writer.Write(p) // discarded by cond (see there)
		}
		if w.gone != nil {
			return 0, w.gone // nothing more is encoded for a client that left
		}
		if w.enc == nil { // HEAD: no body goes out
			// Eaten, its writes never fail below, whether its client
			// is there or not: once it may have left, they fail, so
			// that the handler stops reading its source. What is
			// sent, the header, is the same.
			if err := clientGone(w.r.Context()); err != nil {
				return 0, err
			}
			return len(p), nil
		}
		n, err := w.enc.Write(p)
		if err == nil && clientGone(w.r.Context()) != nil {
			w.unprobed += n
			if !w.probed || w.unprobed >= w.c.cfg.maxBuffer {
				err = w.probe()
			}
		}
		return n, err
	}
	if len(w.raw)+len(p) < w.holdBack() {
		w.raw = append(w.raw, p...)
		return len(p), nil
	}
	// Enough to decide.
	sniff, n := w.sniffed(p)
	if err := w.decide(false, sniff); err != nil {
		return 0, err
	}
	m, err := w.write(p[n:])
	return n + m, err
}

// sniffLen is how much of the body net/http sniffs the type from.
const sniffLen = 512

// holdBack is how much of the body is held back before deciding: MinSize,
// and at least sniffLen while the type is to be sniffed, so that it is
// sniffed from the same bytes as net/http's, however the handler splits its
// writes.
func (w *responseWriter) holdBack() int {
	if w.typeKnown {
		return w.c.cfg.minSize
	}
	return max(w.c.cfg.minSize, sniffLen)
}

// sniffed returns the start of the body, from which decide sniffs the type
// as net/http does (from its first sniffLen bytes): p itself when nothing is
// held back, else what is held back completed from p, in rawArr so as not to
// allocate. n is how many bytes of p it moved to the held-back body.
func (w *responseWriter) sniffed(p []byte) (sniff []byte, n int) {
	if len(w.raw) == 0 {
		return p, 0
	}
	if !w.typeKnown && len(w.raw) < sniffLen {
		n = min(len(p), sniffLen-len(w.raw))
		w.raw = append(w.raw, p[:n]...)
	}
	return w.raw, n
}

// Flush decides at once (a streamed response, whatever its size), flushes
// the encoder (sync flush) and then the connection. After Hijack it returns
// http.ErrHijacked: the connection is no longer the response's (net/http's
// own Flush panics then). Once the client left (a write or flush below
// failed), the Flush of a response that is compressed encodes and sends
// nothing and returns that error, as its writes do (http.Flusher's Flush
// drops it); a HEAD's returns context.Canceled once its context is
// cancelled, as its writes do.
func (w *responseWriter) Flush() error {
	if w.Hijacked() {
		return http.ErrHijacked
	}
	if w.state == undecided {
		if w.status == 0 {
			w.status = http.StatusOK
			w.precheck()
		}
		if w.state == undecided {
			if err := w.decide(true, w.raw); err != nil {
				return err
			}
		}
	}
	if w.state != encoding || w.notModified {
		return w.Writer.Flush()
	}
	if w.gone != nil {
		return w.gone
	}
	if w.enc == nil { // HEAD: see write
		if err := clientGone(w.r.Context()); err != nil {
			return err
		}
		return w.Writer.Flush()
	}
	return w.flushEncoded()
}

// flushEncoded sends what the encoder holds (a sync flush) and what is held
// back, committing the response without Content-Length, and flushes the
// connection. A failure below is recorded in gone; a writer below that
// cannot flush is none.
func (w *responseWriter) flushEncoded() error {
	err := w.enc.Flush()
	if err == nil {
		err = w.stream()
	}
	if err == nil {
		err = w.Writer.Flush()
		if errors.Is(err, http.ErrNotSupported) {
			return err // not a failure of the connection
		}
	}
	return w.fail(err)
}

// probe is flushEncoded for a request whose context was cancelled, on its
// first encoded write after that and then once MaxBuffer of input has been
// encoded since the last probe. net/http cancels the context when the
// client leaves, but also when an HTTP/1 client closes its write side
// (shutdown, as some clients and proxies do once the request is sent) and
// still reads, as an uncompressed body's writes show: only a write that
// fails below tells them apart. Probed so, a body is encoded for a client
// that left until the connection reports it, about MaxBuffer of input,
// not until MaxBuffer of very compressible output is held back (tens of
// megabytes of input), and a client that still reads gets it whole.
func (w *responseWriter) probe() error {
	w.probed, w.unprobed = true, 0
	err := w.flushEncoded()
	if errors.Is(err, http.ErrNotSupported) {
		return nil // nothing to probe: the writes below tell
	}
	return err
}

// fail records err, that of a write or flush of the encoded response below,
// in gone (the first one), and returns it.
func (w *responseWriter) fail(err error) error {
	if err != nil && w.gone == nil {
		w.gone = err
	}
	return err
}

// ReadFrom fills the held-back buffer, decides, then keeps sendfile for
// pass-through responses and routes the rest through the encoder. After
// Hijack it reads nothing and returns http.ErrHijacked, as Write does.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.Hijacked() {
		return 0, http.ErrHijacked
	}
	var total int64
	if w.state == undecided && w.status == 0 {
		w.status = http.StatusOK
		w.precheck()
		w.freeze()
	}
	if w.state == undecided {
		hold := w.holdBack()
		if w.declared >= 0 {
			// Not past it: the rest goes through Write, which checks.
			hold = min(hold, int(w.declared-w.written)+len(w.raw))
		}
		if cap(w.raw) < hold {
			w.raw = append(make([]byte, 0, hold), w.raw...)
		}
		for len(w.raw) < hold {
			n, err := r.Read(w.raw[len(w.raw):hold])
			w.raw = w.raw[:len(w.raw)+n]
			total += int64(n)
			if w.declared >= 0 {
				w.written += int64(n)
			}
			if err == io.EOF {
				return total, nil // finish decides
			}
			if err != nil {
				return total, err
			}
		}
		if err := w.decide(false, w.raw); err != nil {
			return total, err
		}
	}
	var n int64
	var err error
	if w.state == passthrough || w.notModified {
		n, err = w.Writer.ReadFrom(r)
	} else {
		n, err = w.ReadFromViaWrite(r) // a HEAD's too: see write
	}
	return total + n, err
}

// Hijack sends what the handler has written before handing the connection
// over, as net/http does when it hijacks a response whose status was written:
// a held status and body go out unencoded (a proxy's 200 to CONNECT reaches
// the client), an encoded body is sync-flushed. The connection itself is
// untouched. A second Hijack returns http.ErrHijacked.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.Hijacked() {
		return nil, nil, http.ErrHijacked
	}
	switch {
	case w.state == undecided && w.status != 0:
		if err := w.pass(); err != nil {
			return nil, nil, err
		}
	case w.state == encoding && w.enc != nil:
		if err := w.enc.Flush(); err != nil {
			return nil, nil, err
		}
		if err := w.stream(); err != nil {
			return nil, nil, err
		}
	}
	return w.Writer.Hijack()
}

// precheck runs when the final status is known: it passes the response
// through at once when its status or headers rule compression out. It first
// canonicalizes the header's keys, so that a handler's
// w.Header()["content-encoding"] or ["vary"] is seen as net/http sends it,
// and records the header for freeze in the same pass.
func (w *responseWriter) precheck() {
	h := w.Header()
	w.record(h)
	// Disable(w): its "identity" is never sent, whatever the status.
	ce, coded := h["Content-Encoding"]
	disabled := false
	if coded {
		disabled, coded = dropIdentity(h, ce)
	}
	switch s := w.status; {
	case s == http.StatusNotModified:
		// A 304 carries the Vary its 200 would have had: none when the
		// 200 would pass through as it is (Disable, no-transform, a
		// type never compressed), and that of a 200 the handler coded
		// itself (see below).
		may, has := w.mayEncode(h)
		w.vary = may && !disabled
		if w.vary && !coded {
			var cd *codec
			switch ae := w.r.Header["Accept-Encoding"]; {
			case w.inm != nil:
				// The client revalidates an encoded variant: answer
				// with that variant's ETag, the streamed one's
				// included.
				cd = w.c.revalidated(w.inm, ae, h.Get("Etag"))
			case len(w.r.Header["If-None-Match"]) == 0 && len(w.r.Header["If-Modified-Since"]) > 0 &&
				(has || !w.c.cfg.neverEncodesPath(w.r.URL.Path)):
				// No tag tells which variant the client holds (it
				// revalidates with If-Modified-Since only): the one
				// negotiated for this request, as the 304 Conditional
				// makes of the encoded 200 names it (notModifiedBy).
				// Not when the 304 has no type (http.ServeContent's)
				// and the path's extension is of a type never
				// encoded (a .png): its 200 was the identity.
				cd = w.c.negotiated(ae)
			}
			if cd != nil {
				// The 304 names an encoded variant: the fields that
				// describe the handler's bytes are not that
				// variant's, as its 200 went out without them, and a
				// cache merges the 304's fields into what it stored
				// (RFC 9111 section 4.3.4).
				w.codec = cd
				w.encodeETag(h)
				dropIdentityFields(h)
			} else if !w.namesIdentity(h) {
				// Its tag does not tell the variants apart: the
				// client may hold an encoded one. Without the fields
				// it keeps its own.
				dropIdentityFields(h)
			}
		}
		w.pass()
		return
	case s == http.StatusPartialContent:
		// A 206 carries the Vary its 200 would have had (RFC 9110
		// section 15.3.7), as a 304 does: its range is of the
		// unencoded bytes, sent as they are, but a cache that stores
		// it under the URL alone combines it with an encoded 200.
		may, _ := w.mayEncodeBody(h)
		w.vary = may && !disabled
		w.pass()
		return
	case s < 200 || s >= 300 || s == http.StatusNoContent:
		w.pass()
		return
	}
	if coded || disabled {
		// The handler's own coding is sent as it is, with the Vary its
		// uncoded form would have had: the handler chose it by
		// Accept-Encoding (a pre-compressed blob, a proxied upstream)
		// as the middleware would have, and a shared cache that stores
		// it under the URL alone serves coded bytes to clients that do
		// not accept them. Not after Disable: never encoded, that
		// response does not vary here.
		may, _ := w.mayEncode(h)
		w.vary = may && coded && !disabled
		w.pass()
		return
	}
	may, typed := w.mayEncode(h)
	if !may {
		w.pass() // a nil Content-Type suppresses sniffing, as in net/http
		return
	}
	w.typeKnown = typed
	if cl, ok := h["Content-Length"]; ok && len(cl) > 0 {
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if err != nil || n < int64(w.c.cfg.minSize) {
			w.pass()
			return
		}
		if !w.head {
			w.declared = n
		}
		if w.typeKnown {
			_ = w.decide(false, nil) // nothing is written yet: no error
		}
	}
}

// mayEncode reports whether h, the header of a response with a status
// that may be encoded, would leave the choice to negotiation had it no
// Content-Encoding: no Content-Range, no "Cache-Control: no-transform", and
// a Content-Type of MimeTypes or none (to be sniffed). typed reports
// whether h has a Content-Type.
func (w *responseWriter) mayEncode(h http.Header) (may, typed bool) {
	if _, ok := h["Content-Range"]; ok {
		return false, false
	}
	return w.mayEncodeBody(h)
}

// mayEncodeBody is mayEncode but for Content-Range, which a 206 has: whether
// the 200 it is a part of may be encoded.
func (w *responseWriter) mayEncodeBody(h http.Header) (may, typed bool) {
	if noTransform(h["Cache-Control"]) {
		return false, false
	}
	ct, typed := h["Content-Type"]
	return !typed || (len(ct) > 0 && w.c.cfg.typeOK(mediaType(ct[0]))), typed
}

// dropIdentity removes the "identity" values from ce, h's Content-Encoding,
// which Disable sets and RFC 9110 does not allow there. It reports whether
// there was one, and whether other codings remain. It allocates only when
// both are true.
func dropIdentity(h http.Header, ce []string) (dropped, coded bool) {
	n := 0 // values to keep
	for _, v := range ce {
		if !header.EqualLower(header.TrimOWS(v), "identity") {
			n++
		}
	}
	switch n {
	case len(ce):
		return false, true
	case 0:
		delete(h, "Content-Encoding")
		return true, false
	}
	kept := make([]string, 0, n)
	for _, v := range ce {
		if !header.EqualLower(header.TrimOWS(v), "identity") {
			kept = append(kept, v)
		}
	}
	h["Content-Encoding"] = kept
	return true, true
}

// decide picks pass-through or an encoder once the status is known and
// enough of the body (sniff) has been seen.
func (w *responseWriter) decide(streamed bool, sniff []byte) error {
	if !w.typeKnown {
		if len(sniff) == 0 {
			// Nothing to sniff. A HEAD's GET has a body, whose type
			// could be compressed: the HEAD varies all the same.
			w.vary = w.head
			return w.pass()
		}
		ct := http.DetectContentType(sniff)
		w.sniffedType = ct // what net/http would have sniffed
		if !w.c.cfg.typeOK(mediaType(ct)) {
			return w.pass()
		}
		w.typeKnown = true
	}
	w.vary = true
	prefs := w.c.cfg.prefs
	if streamed {
		prefs = w.c.cfg.streamPrefs
	}
	cd := prefs.negotiate(w.r.Header["Accept-Encoding"])
	if cd == nil {
		return w.pass()
	}
	// Server-Timing "compress;desc=zstd" when timing's middleware is in the
	// chain; free otherwise.
	timing.Add(w.r.Context(), "compress", 0, cd.name)
	w.state, w.codec = encoding, cd
	if w.head {
		w.raw = w.raw[:0]
		return w.commitEncoded(-1)
	}
	if w.cond != nil && w.notModifiedBy(w.cond) {
		// The encoded response is to become a 304, which has no body:
		// committed now, it needs no encoder, and the body the handler
		// goes on writing is discarded unencoded (a client resending
		// the tag it got costs no compression).
		_ = w.commitEncoded(-1) // never fails
		if w.notModified = w.cond.NotModified(); w.notModified {
			w.raw = w.raw[:0]
			return nil
		}
		w.streaming = true // not reached: committed without a length
	}
	w.out = getBuffer()
	w.enc = cd.get(sink{w})
	if len(w.raw) > 0 {
		_, err := w.enc.Write(w.raw)
		w.raw = w.raw[:0]
		return err
	}
	return nil
}

// pass commits the held status and body unencoded.
func (w *responseWriter) pass() error {
	w.state = passthrough
	h, late := w.commitHeader()
	if w.vary {
		addVary(h, &w.varies)
	}
	w.Writer.WriteHeader(w.status) // known: every caller set it
	maps.Copy(h, late)
	if len(w.raw) == 0 {
		return nil
	}
	_, err := w.Writer.Write(w.raw)
	w.raw = w.raw[:0]
	return err
}

// notModifiedBy reports whether cond, the Conditional writer below, will
// make a 304 of the encoded response once it is committed: its validators
// as they will be sent (the ETag weakened or suffixed) match the
// request's. It changes nothing.
func (w *responseWriter) notModifiedBy(cond *conditional.Writer) bool {
	if w.status != http.StatusOK {
		return false
	}
	h := make(http.Header, 2)
	for _, k := range [...]string{"Etag", "Last-Modified"} {
		if vs := w.committedValues(k); len(vs) > 0 {
			h[k] = vs
		}
	}
	w.encodeETag(h) // replaces the value: the slab is not written
	return conditional.NotModified(cond.Request().Header, h)
}

// commitEncoded sets the headers of an encoded response and commits it;
// contentLength < 0 means unknown.
func (w *responseWriter) commitEncoded(contentLength int) error {
	h, late := w.commitHeader()
	h.Set("Content-Encoding", w.codec.name)
	addVary(h, &w.varies)
	dropIdentityFields(h)
	if contentLength >= 0 {
		h.Set("Content-Length", strconv.Itoa(contentLength))
	} else {
		h.Del("Content-Length")
	}
	w.encodeETag(h)
	w.Writer.WriteHeader(w.status)
	maps.Copy(h, late)
	return nil
}

// dropIdentityFields removes from h, the header of a response (a 200 or a
// 304) of an encoded variant, the fields that describe the handler's
// unencoded bytes: Accept-Ranges (no range of an encoded body is sent) and
// the digests of those bytes (RFC 9530; Content-MD5 and RFC 3230's Digest,
// of the coded instance, before it), which a client that checks them would
// hold against the encoded ones.
func dropIdentityFields(h http.Header) {
	delete(h, "Accept-Ranges")
	delete(h, "Content-Digest")
	delete(h, "Repr-Digest")
	delete(h, "Content-Md5")
	delete(h, "Digest")
}

// namesIdentity reports whether the handler's 304 with header h, which
// names no encoded variant (see precheck), answers a client that holds the
// identity representation: one that revalidates with If-Modified-Since
// only (precheck guessed no encoded variant), or one whose If-None-Match
// named the 304's strong ETag itself, when encoded variants have other
// tags (not ETagKeep). A weak tag (every variant's), ETagKeep's or "*"
// may be matched by an encoded variant the client holds.
func (w *responseWriter) namesIdentity(h http.Header) bool {
	inm := w.inm // as the client sent it
	if inm == nil {
		inm = w.r.Header["If-None-Match"]
	}
	if len(inm) == 0 {
		return true
	}
	et, strong := strongETag(h.Get("Etag"))
	if !strong || w.c.cfg.etag == ETagKeep {
		return false
	}
	for tag := range header.ETags(inm) {
		if tag == et {
			return true
		}
	}
	return false
}

// encodeETag weakens or suffixes a strong ETag for w.codec (Options.ETag).
func (w *responseWriter) encodeETag(h http.Header) {
	et, strong := strongETag(h.Get("Etag"))
	if !strong {
		return
	}
	switch w.c.cfg.etag {
	case ETagWeaken:
		h.Set("Etag", "W/"+et)
	case ETagSuffix:
		h.Set("Etag", et[:len(et)-1]+":"+w.codec.name+`"`)
	}
}

// stream commits without Content-Length and sends what is held back; later
// encoder output goes straight downstream.
func (w *responseWriter) stream() error {
	if w.streaming {
		return nil
	}
	w.streaming = true
	if err := w.commitEncoded(-1); err != nil {
		return err
	}
	_, err := w.Writer.Write(w.out.Bytes())
	w.out.Reset()
	return w.fail(err)
}

// finish completes the response after the handler returned. It reports
// false, completing nothing, when the handler declared a Content-Length
// and wrote less of a body it encodes (a failed io.Copy), or when the
// client left (a write or flush below failed: gone) before the encoded
// body was complete: the encoder's last block would be encoded and
// written for nobody. The caller then aborts. A request whose context was
// cancelled without a write failing is finished: its client may still
// read (see probe).
func (w *responseWriter) finish() bool {
	if w.Hijacked() {
		return true
	}
	if w.state == undecided {
		if w.status == 0 {
			w.status = http.StatusOK
			w.precheck()
		}
		if w.state == undecided {
			switch {
			case len(w.raw) >= w.c.cfg.minSize:
				_ = w.decide(false, w.raw)
			case w.head && len(w.raw) == 0:
				// A HEAD without a body or a Content-Length gives no
				// size to decide on: it goes unencoded, but its GET
				// could be encoded, so it varies all the same.
				w.vary = true
				_ = w.pass()
			default:
				_ = w.pass()
			}
		}
	}
	if w.state != encoding || w.enc == nil {
		return true // net/http checks a Content-Length it is sent
	}
	if w.written < w.declared || w.gone != nil {
		return false // the encoder goes back to its pool unclosed (release)
	}
	if err := w.enc.Close(); err != nil {
		return true // the client is gone; nothing more can be sent
	}
	if !w.streaming {
		size := w.out.Len()
		if hasTrailers(w.Header()) {
			size = -1 // net/http sends trailers only on a chunked body
		}
		_ = w.commitEncoded(size)
		_, _ = w.Writer.Write(w.out.Bytes())
	}
	return true
}

// hasTrailers reports whether the handler declared trailers, in Trailer or
// as keys with http.TrailerPrefix (set once the body is written). It does
// not allocate.
func hasTrailers(h http.Header) bool {
	if len(h["Trailer"]) > 0 {
		return true
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// abort forgets everything held back, after a panic in the handler.
func (w *responseWriter) abort() {
	w.raw = w.raw[:0]
	if w.out != nil {
		w.out.Reset()
	}
}

// release returns pooled parts and drops every reference but varies, whose
// values no response has been given yet.
func (w *responseWriter) release() {
	if w.enc != nil {
		w.codec.put(w.enc)
	}
	if w.out != nil {
		putBuffer(w.out)
	}
	w.Reset(nil, nil)
	w.c, w.r, w.codec, w.inm, w.enc, w.out, w.cond = nil, nil, nil, nil, nil, nil, nil
	w.head, w.status, w.state, w.typeKnown, w.vary, w.streaming = false, 0, undecided, false, false, false
	w.notModified = false
	w.gone, w.probed, w.unprobed = nil, false, 0
	w.raw, w.declared, w.written = nil, -1, 0
	w.sniffedType, w.frozen = "", false
	w.snapKeys, w.snapVals = clearSlab(w.snapKeys), clearSlab(w.snapVals)
}

// maxPooledSnap keeps the slabs of a huge header out of the pool.
const maxPooledSnap = 64

// clearSlab empties s for the pool, dropping the strings it references
// (a pooled writer keeps no field of a past response), or s itself when it
// grew too large to keep.
func clearSlab[S ~[]E, E any](s S) S {
	if cap(s) > maxPooledSnap {
		return nil
	}
	clear(s)
	return s[:0]
}

// sink receives the encoder's output: held back in out until MaxBuffer, then
// streamed.
type sink struct{ w *responseWriter }

func (s sink) Write(p []byte) (int, error) {
	w := s.w
	if w.streaming {
		n, err := w.Writer.Write(p)
		return n, w.fail(err)
	}
	w.out.Write(p)
	if w.out.Len() > w.c.cfg.maxBuffer {
		if err := w.stream(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// maxPooledBuffer keeps huge buffers out of the pool.
const maxPooledBuffer = 256 << 10

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}

// varySlabLen is how many Vary values a varySlab allocates at once.
const varySlabLen = 16

// varySlab hands out the value of "Vary: Accept-Encoding" for responses that
// had no Vary. Each value is a one-element slice that no other response
// shares: a later middleware may write into h["Vary"][0] in place, and a
// cache may keep the header map, so a value shared by every response (as
// this once was) changed for all of them at once. Each is given out once,
// with cap 1, so that an append copies it, and never written again. They are
// allocated varySlabLen at a time, in the pooled writer, so that a response
// that is not compressed still costs no allocation but once in varySlabLen;
// a header map kept after its response keeps the other values of its slab
// alive (varySlabLen strings, 256 bytes).
type varySlab []string

// next returns a []string{"Accept-Encoding"} that no other response shares;
// a nil s allocates just that one.
func (s *varySlab) next() []string {
	if s == nil {
		return []string{"Accept-Encoding"}
	}
	if len(*s) == 0 {
		*s = make(varySlab, varySlabLen)
		for i := range *s {
			(*s)[i] = "Accept-Encoding"
		}
	}
	v := (*s)[:1:1]
	*s = (*s)[1:]
	return v
}

// addVary merges Accept-Encoding into Vary, case-insensitively, unless Vary
// already names it or is "*". A Vary it creates takes its value from s (see
// varySlab; nil allocates it).
func addVary(h http.Header, s *varySlab) {
	v := h["Vary"]
	if len(v) == 0 {
		h["Vary"] = s.next()
		return
	}
	if header.HasToken(v, "accept-encoding") || header.HasToken(v, "*") {
		return
	}
	h["Vary"] = append(v[:len(v):len(v)], "Accept-Encoding")
}

// noTransform reports whether Cache-Control lines have the no-transform
// directive, which forbids changing the content coding (RFC 9111 section
// 5.2.2.6).
func noTransform(lines []string) bool {
	for d := range header.Directives(lines) {
		if header.EqualLower(d.Name, "no-transform") {
			return true
		}
	}
	return false
}
