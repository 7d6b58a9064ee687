// Package caching gives net/http services what Flask-Caching gives a Flask
// application, done correctly and fast: a response cache middleware
// (Cache.Cached), typed memoization of expensive functions (Memoize), a
// typed key/value API (Get, Set, GetAs, SetAs, GetOrSet) and invalidation by
// key, by tag, by path, by function and by namespace, over a choice of
// backends: in-process (backend/simple, the default), filesystem, Redis
// (single node, Sentinel, Cluster), memcached, or null, and backend/near, a
// near cache in front of a remote store.
//
// # Quick start
//
//	c := caching.Must(&caching.Options{DefaultTTL: 5 * time.Minute})
//	defer c.Close()
//	mux.Handle("GET /products", c.Cached(2*time.Minute, caching.Tags("products"))(listProducts))
//	...
//	c.InvalidateTags(ctx, "products") // every page and query variant
//
// # Views, memoized functions, one vocabulary
//
// A view (Cached, CachedMux) is a function of a request; a memoized function
// (Memoize) a function of its argument. The options they share have one name
// for one idea: BypassIf skips the cache for a call, RefreshIf recomputes and
// replaces, KeyFunc chooses the key, StoreIf chooses what is stored, StaleIf
// declares a stored result stale, Tags, Version, StaleWhileRevalidate,
// StaleIfError and RefreshAhead. The generic ones take the
// view's *http.Request and *Response, or the function's argument and result
// types, and a mismatch is reported when the view or function is made.
//
// # Keys
//
// A view's key holds everything of the request that can change its
// response: the scheme and host (unless IgnoreHost), the path (KeyFormat),
// the canonical query string (two query strings share a key only if they
// hold the same parameters, byte for byte, in another order), the path the client sent when a
// middleware rewrote it (views mounted with http.StripPrefix under /v1/ and
// /v2/ both see "/users"), the Version, the user (UserKey) and the values
// of the headers its response varies on. A request with a body is not
// cached: no key holds its body. A memoized call's key is a
// deterministic encoding of the argument, dynamic types included. Every key
// the Cache writes is listed in keys.go's doc; long ones are hashed, never
// truncated.
//
// # Time to live
//
// Every TTL argument follows one rule: 0 means the Cache's DefaultTTL,
// Forever means the entry never expires (it may still be evicted by a
// bounded store), a positive duration expires the entry after it, and a
// negative one is an error (ErrInvalidTTL): never silently "fixed".
//
// # Failing open
//
// The direct API (Get, Set, Delete, ...) returns backend errors to the
// caller. The response cache and Memoize fail open instead: when the backend
// is down or slow they call the handler or the function, log the error
// through the Cache's *slog.Logger at most once per LogInterval, and count it
// in Stats.Errors. A backend that is down never turns a working handler into a
// failed request. A write's invalidation (InvalidateOnWrite) that fails then
// is retried in the background until the backend answers
// (Stats.PendingInvalidations), so that what was stored before the write is
// not served once the backend is back. The retry set holds 4096 keys and 4
// MiB of them; an invalidation that does not fit is not dropped: every
// lookup is a miss until the backend answers and the retry has cleared the
// backend's namespace, as Clear does. Close makes one last bounded attempt
// at what still waits, then drops what is left and logs it at ERROR.
//
// # Invalidation
//
// Delete removes keys. Tags group entries: an entry records the versions of
// its tags when it is written, and a read fetches the entry and the current
// tag versions in one round trip (one GetMany on remote stores), so
// InvalidateTags is O(number of tags) and is seen at once by every process
// sharing the backend (but with a near cache: see Many processes).
// InvalidatePath does the same for every host, query
// string and Vary variant of a path (under a middleware that rewrites the
// path, either path reaches the entry), and Memoized.ForgetAll for every entry
// of a function. The versions are read before the handler or function runs,
// so a result computed from data invalidated meanwhile is never served. No
// key scan is ever made, but by Clear, which removes every entry of the
// Cache's backend namespace (and which the retry of failed invalidations
// runs in the background when more failed than it can keep: see Failing
// open).
//
// # Background work
//
// RefreshAhead and StaleWhileRevalidate refresh entries on goroutines of the
// Cache's own, with the values of the request's or call's context and not
// its cancellation; Close ends them. At most 8 run at a time per view's
// route or memoized function, one per entry; one that has run past the
// view's CollapseTimeout gives its place to another entry's, so that
// refreshes stuck on a hung dependency stop no others (at most 32 more per
// route or function: see StaleWhileRevalidate). Warm fills the cache
// through the service's own handler, and Memoized.Refresh and Set let a job
// precompute results. Cache.Peek and Memoized.Peek read what is stored
// without running anything.
//
// # Statistics
//
// Stats counts each request of a view, call of a memoized function and read
// of the direct API once, as a hit, a stale hit, a miss or a bypass. A
// request that waited for an identical request in flight and was served its
// response is a hit, in Stats as in the X-Cache header.
//
// ViewStats and MemoStats give the same counts per view (by Name or route
// pattern) and per memoized function; package metrics (a module of its own)
// exports them to Prometheus, with the latency of backend calls that an
// Observer (Options.Observer) is told of.
//
// # Many processes
//
// Entries, tag versions and generations live in the backend, so every
// process sharing it sees a write or an invalidation at once, unless it
// reads through a near cache (backend/near), which keeps what it read in
// process memory: another process's write or invalidation then reaches it
// when the remote store's news of it arrives (Redis sends it, within a
// millisecond on loopback), and at the latest once MaxStale (default 1s)
// has passed since the read of the value it still holds (memcached and
// the filesystem send none: MaxStale is then the whole bound). The
// process that made the write sees it at once. See backend/near's
// Guarantees, and its bound after a memcached Clear. With Lease
// (or Options.Lease), concurrent misses of one key in all of them also run
// the handler or function once: the first takes a lease with the backend's
// atomic Add, the others wait for its entry, at most the lease time.
//
// # Concurrency
//
// A Cache is safe for concurrent use by multiple goroutines. Values handed out
// by an in-process store (backend/simple), or by a near cache (backend/near)
// once it keeps the entry in memory, are shared between the callers of the
// process and must not be modified: GetAs, GetOrSet and Memoize results,
// and Get's and GetMany's byte slices. Copy one before changing it.
package caching
