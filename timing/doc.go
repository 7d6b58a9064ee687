// Package timing is request-timing middleware for net/http: an
// X-Response-Time header, a slow-request log through *slog.Logger, a
// Server-Timing header fed by the application, and a Report per request for
// the application's metrics system.
//
// # Response time
//
// The middleware (New) sets X-Response-Time (name and format configurable)
// when the response headers are committed: at the handler's WriteHeader, at
// its first Write, io.Copy (ReadFrom) or Flush, or, for a handler that
// writes nothing, when it returns. The value is the time from the start of
// the request to that moment: for a streamed response, the time to its first
// byte. The status is recorded as sent: 200 for a handler that writes
// nothing; 1xx informational codes (103 Early Hints) are forwarded and
// ignored. The wrapper keeps exactly the optional interfaces (Flusher,
// Hijacker, Pusher, io.ReaderFrom, and the deprecated CloseNotifier that
// event-stream handlers still assert) of the writer it wraps.
//
// # Server-Timing
//
// Code below the middleware records metrics in the request's context:
//
//	defer timing.Start(ctx, "render").Stop()
//	timing.Add(ctx, "cache", d, "hit")
//	timing.Count(ctx, "db", d, "query", "queries") // db;dur=12.5;desc="7 queries"
//
// These are safe for concurrent use and do nothing, without allocating,
// when the context has no recorder (no middleware, or one that neither
// exposes nor observes). The header, with a final "total" metric, is sent
// only to requests Options.Expose admits: by default to none, since the
// metrics say much about a service's internals. A metric recorded after the
// headers were committed cannot be in the header; it reaches the Report
// (Report.Late counts them). The middleware sends no trailer: browsers
// ignore a Server-Timing trailer.
//
// Both are bounded, since a handler may record a metric per item of a
// batch the client sized: a request keeps at most MaxMetrics metrics
// (Report.Dropped counts the rest; Count still folds into a name it has),
// and the header carries at most MaxHeaderBytes of them, followed by
// omitted;desc=N for the N left out, then the total. Those two names are
// the middleware's: a metric the application records as total or omitted
// (in any case) goes out as _total or _omitted, and keeps its name in the
// Report.
//
// The rule covers the handler's own Server-Timing fields too (an upstream's
// copied by httputil.ReverseProxy, a framework's): a response to a request
// Expose does not admit carries no Server-Timing field at all. The
// middleware removes them, whatever the spelling of the key, from the
// header of the final response and of 1xx responses (103 Early Hints), from
// the trailer (a name declared in Trailer, or set with http.TrailerPrefix),
// and from a response that a recovering middleware above writes after a
// panic; Server-Timing is also dropped from the Trailer declaration. They
// are not parsed into the Report. A hijacked connection is the handler's
// own. For an admitted request, the handler's fields are sent as it set
// them (a total or omitted in them, an upstream's say, keeps its name: the
// middleware's own are in the last Server-Timing field), and the
// middleware's metrics follow in a field of their own; the
// response then says that no shared cache may store it (private in
// Cache-Control and in the CDN-Cache-Control fields, no-store in
// Surrogate-Control), since Expose decides on what the client sent and a
// CDN would serve the stored copy, metrics and all, to everyone. For the
// same reason it goes out with neither * nor null in Timing-Allow-Origin
// (which would let a page of any site that made the admin's browser send
// the request read the metrics), in any form a browser reads as one (in a
// quoted-string, after a newline or a form feed): the origins the handler
// names there are kept. A handler that names the request's Origin there
// grants every site: name fixed origins.
//
// Package pool reports each request's SQL queries through Count, and the
// response cache and compress report cache;desc=hit|miss|stale and
// compress;desc=zstd through Add. The response cache's background refreshes
// (and a memoized function's) run without the recorder of the request that
// started them: what they record reaches no request's header or Report.
//
// Put the middleware outside the response cache (caching.Cached): the
// cache never stores Server-Timing, but it stores the other fields of a
// response, and would replay X-Response-Time with the miss's value on
// every hit.
//
// # Slow requests and reports
//
// With a Logger, requests whose handler took at least Options.Slow (500 ms
// by default; per ServeMux pattern in SlowRoutes) are logged at Warn with
// method (cut to 32 bytes: it is client data), route, status, bytes and
// duration, never the path or query (they may hold user data), through a token bucket that logs a burst and then
// counts what it drops. Options.Observe receives a Report of every request,
// panicking ones included (the panic then goes on); the package depends on
// no metrics library.
package timing
