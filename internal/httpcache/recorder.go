package httpcache

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/go-caching/caching/internal/httpx"
)

// DefaultMaxBody is the body size cap a Recorder uses when given 0: 1 MiB.
const DefaultMaxBody = 1 << 20

// ReasonWriteError reports that writing the response downstream failed (the
// client went away): the recorded body may be incomplete.
const ReasonWriteError Reason = "write-error"

// ReasonTrailer reports a response that declares trailers, which a snapshot
// does not keep.
const ReasonTrailer Reason = "trailer"

// Recorder is the response writer of a cache miss. It passes everything
// through to the client as it comes (it never delays the response) and
// records on the side what a Snapshot needs: the final status and a copy of
// the header at commit, and the body, teed into a buffer capped at a size
// limit. The response becomes uncacheable, with a Reason, and the buffer is
// dropped, when:
//
//   - the check given to Reset refuses the status and header at commit;
//   - the body passes the limit (or Content-Length announces it will);
//   - the handler calls Flush, Hijack, or reaches the writer below through
//     Unwrap (http.ResponseController does, for deadlines and full duplex);
//   - a downstream write fails;
//   - the header declares trailers.
//
// The writer handed to the handler keeps exactly the optional interfaces of
// the one it wraps (internal/httpx). A Recorder is not safe for concurrent
// use, like an http.ResponseWriter; its zero value is ready for Reset.
type Recorder struct {
	httpx.Writer

	limit        int
	check        func(status int, h http.Header) Reason
	statusHeader string

	header http.Header
	body   []byte
	reason Reason
}

var _ httpx.Hooks = (*Recorder)(nil)

// Reset prepares rec for a response to w and returns the writer to give
// the handler. limit caps the recorded body (0 means DefaultMaxBody); check
// (may be nil) decides at commit whether the status and header may be
// stored; statusHeader, when not "", is a canonical header name set at
// commit to MISS, or BYPASS if the response is already known to be
// uncacheable then.
func (rec *Recorder) Reset(w http.ResponseWriter, limit int, statusHeader string, check func(status int, h http.Header) Reason) http.ResponseWriter {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	*rec = Recorder{limit: limit, check: check, statusHeader: statusHeader}
	return rec.Writer.Reset(w, rec)
}

// Fail marks the response uncacheable for reason, unless it already is, and
// drops the recorded body.
func (rec *Recorder) Fail(reason Reason) {
	if rec.reason == ReasonNone {
		rec.reason = reason
	}
	rec.body = nil
}

// Reason returns why the response is uncacheable so far; "" if it is not.
func (rec *Recorder) Reason() Reason { return rec.reason }

// WriteHeader records the status and a copy of the header at commit, then
// forwards the code.
func (rec *Recorder) WriteHeader(code int) {
	if httpx.Informational(code) || rec.Committed() {
		rec.Writer.WriteHeader(code)
		return
	}
	h := rec.Header()
	rec.header = h.Clone()
	switch {
	case len(h["Trailer"]) > 0 || hasTrailerPrefix(h):
		rec.Fail(ReasonTrailer)
	case rec.check != nil:
		if reason := rec.check(code, rec.header); reason != ReasonNone {
			rec.Fail(reason)
		}
	}
	if cl := h["Content-Length"]; rec.reason == ReasonNone && len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil {
			if n > int64(rec.limit) {
				rec.Fail(ReasonTooLarge)
			} else {
				rec.body = make([]byte, 0, n)
			}
		}
	}
	if rec.statusHeader != "" {
		st := Miss
		if rec.reason != ReasonNone {
			st = Bypass
		}
		h[rec.statusHeader] = st.Values()
	}
	rec.Writer.WriteHeader(code)
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
	n, err := rec.Writer.Write(p)
	if rec.reason != ReasonNone {
		return n, err
	}
	if err != nil {
		rec.Fail(ReasonWriteError)
		return n, err
	}
	need := len(rec.body) + n
	if need > rec.limit {
		rec.Fail(ReasonTooLarge)
		return n, err
	}
	if need > cap(rec.body) {
		// Grow by doubling, never past the limit.
		grown := make([]byte, len(rec.body), min(max(2*cap(rec.body), need, 512), rec.limit))
		copy(grown, rec.body)
		rec.body = grown
	}
	rec.body = append(rec.body, p[:n]...)
	return n, err
}

// ReadFrom copies r through Write, so that the body is teed.
func (rec *Recorder) ReadFrom(r io.Reader) (int64, error) {
	return rec.ReadFromViaWrite(r)
}

// Flush marks the response as streaming (uncacheable) and flushes.
func (rec *Recorder) Flush() error {
	rec.Fail(ReasonStreaming)
	return rec.Writer.Flush()
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
// header as it was at commit, the body (nil when uncacheable), and why the
// response may not be stored ("" if it may). The body belongs to the caller.
func (rec *Recorder) Finish() (status int, header http.Header, body []byte, reason Reason) {
	if !rec.Committed() && !rec.Hijacked() {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.Hijacked() {
		rec.Fail(ReasonStreaming)
	}
	body, rec.body = rec.body, nil
	return rec.Status(), rec.header, body, rec.reason
}
