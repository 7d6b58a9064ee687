// Package httpx wraps an http.ResponseWriter so that a middleware can
// intercept WriteHeader, Write, Flush, ReadFrom, Hijack and Unwrap while the
// wrapped writer keeps exactly the optional interfaces of the writer it wraps.
//
// # The wrapper
//
// A middleware embeds a [Writer] in its own per-request struct, overrides the
// [Hooks] methods it wants to intercept, and calls [Writer.Reset] with the
// underlying writer and itself:
//
//	type myWriter struct {
//		httpx.Writer // default behaviour: forward downstream and count
//		// middleware state...
//	}
//
//	func (m *myWriter) WriteHeader(code int) { ...; m.Writer.WriteHeader(code) }
//
//	mw := &myWriter{}                // or from a sync.Pool
//	wrapped := mw.Reset(w, mw)       // give wrapped to the next handler
//	next.ServeHTTP(wrapped, r)
//
// The http.ResponseWriter returned by Reset (also available from
// [Writer.ResponseWriter]) is one of 32 generated types, chosen once per
// Reset: it implements http.Flusher, http.Hijacker, http.Pusher,
// io.ReaderFrom and the deprecated http.CloseNotifier (which event-stream
// handlers and gin's writer still assert, and panic without) exactly when
// the underlying writer does, and always
// implements io.StringWriter and Unwrap() http.ResponseWriter, so that
// http.ResponseController works through it. When the underlying writer is a
// Flusher it also has FlushError() error (as net/http's own writer does), so
// http.ResponseController.Flush returns the flush error. The wrapped value is
// pointer-shaped: storing it in an interface does not allocate. It points at
// a handle of its own, never attached to another response: the first Reset
// of a Writer uses one inside it, a reused (pooled) Writer allocates its
// handles 16 at a time ([Fresh]), so the per-request allocation is the
// struct that embeds Writer, or with a pool one small slab every 16
// requests.
//
// Every call on the wrapped writer goes through the hooks passed to Reset:
//
//	Header()            -> the underlying Header(), directly (not a hook), or the map given to SetHeader
//	WriteHeader(code)   -> hooks.WriteHeader(code)
//	Write(p)            -> hooks.Write(p)
//	WriteString(s)      -> hooks.Write(p) with p viewing the bytes of s, not a copy
//	Flush()             -> hooks.Flush() (error dropped); FlushError() returns it
//	ReadFrom(r)         -> hooks.ReadFrom(r)
//	Hijack()            -> hooks.Hijack()
//	Push(target, opts)  -> the underlying Push, directly (not a hook)
//	CloseNotify()       -> the underlying CloseNotify, directly (not a hook)
//	Unwrap()            -> hooks.Unwrap(), with Flush and Hijack kept on the hooks (below)
//
// Because WriteString does not copy, a Write hook must follow the io.Writer
// contract: it must not modify p, even temporarily, nor retain it after
// returning (copy it into your own buffer instead).
//
// # Default behaviour (the methods of Writer)
//
// The methods of Writer are the "next" step a hook calls to continue
// downstream; they are also what runs for any hook the middleware does not
// override.
//
//   - WriteHeader forwards informational codes (1xx except 101 Switching
//     Protocols, see [Informational]) immediately and records nothing: 103
//     Early Hints is not the final status. The first other code is the final
//     status: it is recorded ([Writer.Status]), marks the response committed
//     ([Writer.Committed]) and is forwarded. Later codes are dropped (net/http
//     would only log them as superfluous).
//   - Write, ReadFrom and Flush first commit the response if it is not yet
//     committed: they call hooks.WriteHeader(200) (so an overriding
//     WriteHeader sees the implicit status) and, if that hook did not commit,
//     Writer.WriteHeader(200). Then they forward downstream. Write and
//     ReadFrom add the bytes they forward to [Writer.Written].
//   - ReadFrom uses the underlying io.ReaderFrom (sendfile stays possible)
//     and falls back to copying through Writer.Write.
//   - Flush and Hijack go through http.ResponseController on the underlying
//     writer, so they also reach writers that only expose Unwrap; they return
//     an error wrapping http.ErrNotSupported when nothing below can do it.
//     A successful Hijack sets [Writer.Hijacked].
//   - Unwrap returns the underlying writer. Override it to notice that a
//     handler went around the wrapper (http.ResponseController's
//     SetWriteDeadline, SetReadDeadline and EnableFullDuplex go through it).
//     When the wrapped writer has no Flush (or Hijack) but the writer below
//     reaches one through its own Unwrap chain, the wrapped writer's Unwrap
//     returns that writer with a FlushError (or Hijack) that goes through
//     the hooks, so http.ResponseController cannot flush or hijack around
//     them.
//
// Status and Written describe what went downstream: a middleware that
// delays or transforms the body (compress) records the status when it
// commits, and Written counts the transformed bytes.
//
// A Writer is not safe for concurrent use, like an http.ResponseWriter.
// Reset(nil, nil) drops every reference before a Writer goes back to a pool.
//
// # A writer kept past its handler
//
// A handler that keeps its http.ResponseWriter after it returned (a late
// goroutine, a logger) breaks the ResponseWriter contract; with a pooled
// Writer, its writes would reach the response of the request the pool hands
// the Writer to next. [Writer.Detach] makes the wrapped writer inert for
// good: every call on it returns [ErrDetached] or does nothing, Header
// returns a map of its own, and none reaches the Writer. Each call on the
// wrapped writer is counted while it runs: Detach waits for the calls in
// progress, so that a late call racing the middleware is ordered with it,
// and a call begun after Detach fails at once, even one made inside a
// call in progress (a ReadFrom whose source flushes the same writer).
// Calls never wait for each other (a watchdog's SetWriteDeadline during a
// blocked Write goes ahead). Detach waits for a kept call blocked on a
// slow client as long as it blocks: the server's WriteTimeout bounds it. Call
// Detach as soon as the handler returns, before completing the response;
// Reset detaches too.
//
// # Usage: the response cache
//
// Tee the body into a capped buffer, snapshot status and headers at commit,
// give up on streaming:
//
//	type cacheWriter struct {
//		httpx.Writer
//		buf       bytes.Buffer
//		max       int
//		header    http.Header
//		uncacheable bool
//	}
//
//	func (c *cacheWriter) WriteHeader(code int) {
//		if !httpx.Informational(code) && !c.Committed() {
//			c.header = c.Header().Clone() // status is c.Status() after the call
//		}
//		c.Writer.WriteHeader(code)
//	}
//
//	func (c *cacheWriter) Write(p []byte) (int, error) {
//		n, err := c.Writer.Write(p) // commits via c.WriteHeader(200) if needed
//		if !c.uncacheable && c.buf.Len()+n <= c.max {
//			c.buf.Write(p[:n])
//		} else {
//			c.uncacheable = true
//		}
//		return n, err
//	}
//
//	func (c *cacheWriter) ReadFrom(r io.Reader) (int64, error) {
//		return c.ReadFromViaWrite(r) // through c.Write, so it is teed
//	}
//
//	func (c *cacheWriter) Flush() error { c.uncacheable = true; return c.Writer.Flush() }
//	func (c *cacheWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
//		c.uncacheable = true
//		return c.Writer.Hijack()
//	}
//	func (c *cacheWriter) Unwrap() http.ResponseWriter { c.uncacheable = true; return c.Writer.Unwrap() }
//
// # Usage: compress
//
// Delay the commit until the body's first bytes are known, transform the
// body, sync-flush on Flush:
//
//	type compressWriter struct {
//		httpx.Writer
//		status int // held back until the decision
//		enc    encoder
//	}
//
//	func (c *compressWriter) WriteHeader(code int) {
//		if httpx.Informational(code) || c.Committed() {
//			c.Writer.WriteHeader(code) // 1xx pass through now
//			return
//		}
//		if c.status == 0 {
//			c.status = code // decide later, at the first Write or Flush
//		}
//	}
//
//	func (c *compressWriter) Write(p []byte) (int, error) {
//		// buffer p; once the decision is made: set Content-Encoding / Vary,
//		// c.Writer.WriteHeader(c.status), then write the encoder's output
//		// with c.Writer.Write.
//	}
//
//	func (c *compressWriter) ReadFrom(r io.Reader) (int64, error) {
//		return c.ReadFromViaWrite(r) // through c.Write and the encoder
//	}
//
//	func (c *compressWriter) Flush() error {
//		// decide, c.enc.Flush() (sync flush), then:
//		return c.Writer.Flush()
//	}
//
// # Usage: timing
//
// Run a callback just before the headers are committed, with the final
// status; read the bytes written after the handler returns:
//
//	type timingWriter struct {
//		httpx.Writer
//		start time.Time
//	}
//
//	func (t *timingWriter) WriteHeader(code int) {
//		if !httpx.Informational(code) && !t.Committed() {
//			// code is the final status; the implicit 200 of a first
//			// Write, ReadFrom or Flush also arrives here.
//			t.Header().Set("X-Response-Time", time.Since(t.start).String())
//		}
//		t.Writer.WriteHeader(code)
//	}
//
//	// after next.ServeHTTP: t.Status(), t.Written(), t.Hijacked()
package httpx
