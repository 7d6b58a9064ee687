package compress

import (
	"net/http"
	"strings"
	"sync"

	"github.com/go-caching/caching/internal/conditional"
	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpx"
)

// Compressor is the compression middleware built from validated Options. It
// is safe for concurrent use; build it once at start-up.
type Compressor struct {
	cfg     *config
	writers sync.Pool // *responseWriter
}

// New validates opts and returns a Compressor. Invalid options return an
// error wrapping ErrInvalidOption that names the field and its valid range.
func New(opts Options) (*Compressor, error) {
	cfg, err := opts.validate()
	if err != nil {
		return nil, err
	}
	c := &Compressor{cfg: cfg}
	c.writers.New = func() any { return &responseWriter{} }
	return c, nil
}

// Must is New for program start-up: it panics on invalid options.
func Must(opts Options) *Compressor {
	c, err := New(opts)
	if err != nil {
		panic(err)
	}
	return c
}

// Middleware returns Must(opts).Handler, the func(http.Handler) http.Handler
// form used by routers. It panics on invalid options.
func Middleware(opts Options) func(http.Handler) http.Handler {
	return Must(opts).Handler
}

// ErrHandlerReturned is returned by Write, WriteString, ReadFrom, Flush
// (FlushError), Hijack and Push on the writer Handler or Conditional handed
// to a handler once that handler has returned: a handler that kept its
// http.ResponseWriter (a late goroutine, a logger) breaks its contract, and
// the writer, whose state compress pools, is inert from then on. Its
// WriteHeader does nothing, its Header returns a map of its own, and its
// Unwrap returns nil. Such a write never reaches another response.
var ErrHandlerReturned = httpx.ErrDetached

// Handler wraps next so that its responses are compressed when the request
// and the response allow it (see the package documentation for the rules),
// and its 200 responses to conditional requests become 304 Not Modified
// where the validators match (see Conditional; Options.IgnoreConditional).
// Wrap a whole mux, or only the routes to compress (per-route "on"). The
// writer next is handed must not be used after next returns: it then
// returns ErrHandlerReturned (see there).
func (c *Compressor) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case c.cfg.skip != nil && c.cfg.skip(r):
			next.ServeHTTP(w, r) // untouched
		case c.cfg.conditional && conditional.Request(r):
			// Conditional outside the compression: the validators
			// compared are those the client is sent, after the ETag is
			// weakened or suffixed.
			cond, cw := conditional.Get(w, r)
			defer cond.Release()
			c.serve(next, cw, r, cond)
		default:
			c.serve(next, w, r, nil)
		}
	})
}

// serve compresses next's response to r; the request is not skipped. cond
// is the Conditional writer w writes through, if any: a 304 it made of the
// response needs none of the body. A range is of the representation
// selected for the request: one on an If-Range that cannot tell an encoded
// representation from the decoded content (rangeUnclear) reaches next
// without Range and If-Range when that representation may be encoded (the
// client accepts an encoding, and the path's extension is not one of a
// compressed format MimeTypes rules out), so the whole body is sent,
// encoded as usual; otherwise next answers the range. Under ETagKeep any
// If-Range is unclear and the path is not consulted: the handler's tag
// for the encoded variant matches its own unencoded bytes, so a client
// that accepts an encoding gets the whole body. An upgrade needs no exception: its 101
// is not a 2xx and passes through, and Hijack hands the connection over
// untouched; a request with an Upgrade header answered with a 200 varies
// (and is compressed) like any other.
func (c *Compressor) serve(next http.Handler, w http.ResponseWriter, r *http.Request, cond *conditional.Writer) {
	cw := c.writers.Get().(*responseWriter)
	rw := cw.Reset(w, cw)
	orig := r
	keep := c.cfg.etag == ETagKeep
	if rangeUnclear(r.Header, keep) && c.mayEncode(r.Header["Accept-Encoding"]) && (keep || !c.cfg.neverEncodesPath(r.URL.Path)) {
		r = withoutRange(r)
	}
	if c.cfg.etag != ETagKeep && (len(r.Header["If-None-Match"]) > 0 || len(r.Header["If-Match"]) > 0) {
		if r2 := c.rewriteValidators(r); r2 != r {
			r, cw.inm = r2, r.Header["If-None-Match"]
		}
	}
	cw.c, cw.r, cw.cond = c, r, cond
	cw.head = r.Method == http.MethodHead
	cw.raw = cw.rawArr[:0]
	cw.declared, cw.written = -1, 0
	finished := false
	defer func() {
		cw.Detach() // after a panic
		if r != orig {
			// A mux below recorded the route it matched on the copy;
			// the middleware above (timing's Report.Route) reads it
			// from the request it passed in.
			orig.Pattern = r.Pattern
		}
		if !finished {
			// A panic (or a short body): drop what was buffered
			// without committing, so that an outer recoverer can
			// still write its 500.
			cw.abort()
		}
		cw.release()
		c.writers.Put(cw)
	}()
	next.ServeHTTP(rw, r)
	// rw is inert from here on: a handler that kept it (a goroutine, a
	// logger) gets ErrHandlerReturned rather than writing into this
	// response as it completes, or into the response of the request the
	// pool gives cw to next.
	cw.Detach()
	if !cw.finish() {
		if cond == nil || cw.gone != nil || !cw.notModifiedBy(cond) {
			// The handler wrote less than the Content-Length it
			// declared, or its client left (a write below failed)
			// before the encoded body was whole. Send no end to the body (the deferred abort
			// drops what is held back and releases the encoder): as
			// net/http does, the connection is cut and the client
			// sees a broken response, not a complete short one.
			panic(http.ErrAbortHandler)
		}
		// Conditional makes a 304 of it, which sends no body: it is
		// whole as it is.
		cw.declared = -1
		cw.finish()
	}
	finished = true
}

// mayEncode reports whether a response to a request with these
// Accept-Encoding lines may be encoded, streamed or not.
func (c *Compressor) mayEncode(acceptEncoding []string) bool {
	a := header.ParseAcceptEncoding(acceptEncoding)
	return c.cfg.prefs.choose(&a) != nil || c.cfg.streamPrefs.choose(&a) != nil
}

// rangeUnclear reports whether h, a request's header, asks for a range on
// an If-Range that cannot tell an encoded representation from the decoded
// content the client may hold the start of: a date (the representations
// share the handler's Last-Modified) or a weak tag (never a match, RFC 9110
// section 13.1.5), or, when anyTag (ETagKeep), any entity-tag. A range of
// the decoded content would be appended to encoded bytes. A strong tag is
// otherwise trusted: compress weakens or suffixes the tags of what it
// encodes. Under ETagKeep the handler's tag names the encoded variant, yet
// its ranges are of its unencoded bytes when compress does the encoding.
func rangeUnclear(h http.Header, anyTag bool) bool {
	ir := h["If-Range"]
	if len(h["Range"]) == 0 || len(ir) == 0 {
		return false
	}
	return anyTag || !strings.HasPrefix(header.TrimOWS(ir[0]), `"`)
}

// withoutRange returns a shallow copy of r, with a new header map, without
// Range and If-Range: its handler sends the whole body (RFC 9110 section
// 14.2 lets a server ignore Range), which is then encoded as any other.
func withoutRange(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	delete(r2.Header, "Range")
	delete(r2.Header, "If-Range")
	return r2
}

// Negotiate returns the encoding the Compressor would choose for r's
// Accept-Encoding for a response that is not streamed ("zstd", "br",
// "gzip", "deflate"), or "" for none: no header, nothing acceptable, or the
// request skipped by Options.Skip. A response cache uses it to
// key compressed variants by what is negotiated rather than by the raw
// header. The response itself may still be sent unencoded (type, size,
// status). It does not allocate.
func (c *Compressor) Negotiate(r *http.Request) string {
	if c.cfg.skip != nil && c.cfg.skip(r) {
		return ""
	}
	if cd := c.cfg.prefs.negotiate(r.Header["Accept-Encoding"]); cd != nil {
		return cd.name
	}
	return ""
}

// Disable opts the current response out of compression: call it in a
// handler before the first Write or WriteHeader. It sets the response header
// "Content-Encoding: identity", which the middleware removes before sending,
// whatever the status (RFC 9110 does not allow identity in Content-Encoding);
// without the middleware that header would reach the client, where it is
// harmless. Only the Compressor nearest the handler sees it: one that
// wraps that Compressor gets the response without it and compresses it
// (use Options.Skip there; see the package doc on secrets and reflected
// input). It sets it under the key "content-encoding", which the
// middleware reads as it reads every spelling, but which
// w.Header().Get("Content-Encoding") does not see: http.ServeContent and
// http.ServeFile, which leave out Content-Length when that Get finds a
// coding, still send the file's length.
func Disable(w http.ResponseWriter) {
	w.Header()["content-encoding"] = []string{"identity"}
}
