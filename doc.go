// Package caching gives net/http services what Flask-Caching gives a Flask
// application, done correctly and fast: a response cache middleware
// (Cache.Cached), typed memoization of expensive functions (Memoize), a
// typed key/value API (Get, Set, GetAs, SetAs, GetOrSet) and invalidation by
// key, by tag, by function and by namespace, over a choice of backends:
// in-process (backend/simple, the default), filesystem, Redis (single node,
// Sentinel, Cluster), memcached, or null.
//
// # Quick start
//
//	c := caching.Must(&caching.Options{DefaultTTL: 5 * time.Minute})
//	defer c.Close()
//	mux.Handle("GET /products", c.Cached(2*time.Minute, caching.Tags("products"))(listProducts))
//	...
//	c.InvalidateTags(ctx, "products") // every page and query variant
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
// failed request.
//
// # Invalidation
//
// Delete removes keys. Tags group entries: an entry records the versions of
// its tags when it is written, and a read fetches the entry and the current
// tag versions in one round trip (one GetMany on remote stores), so
// InvalidateTags is O(number of tags) and is seen at once by every process
// sharing the backend. No key scan is ever made on the hot path. Clear removes
// every entry of the Cache's backend namespace.
//
// # Concurrency
//
// A Cache is safe for concurrent use by multiple goroutines. Values handed out
// by an in-process store (GetAs and Memoize results on backend/simple) are
// shared between callers and must not be modified.
package caching
