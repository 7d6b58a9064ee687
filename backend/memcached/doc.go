// Package memcached provides a backend.Backend on memcached servers, through
// github.com/bradfitz/gomemcache.
//
// # Servers
//
// Options.Servers lists the servers; gomemcache's ServerList picks one per
// key (CRC-32 of the key modulo the number of servers: adding or removing a
// server moves most keys). Each call's dial, read and write is bounded by
// Options.Timeout (default 250ms); Options.MaxIdleConns connections per
// server are kept open (default 16).
//
// gomemcache takes no context: a call whose context is already done returns
// its error without contacting a server, and a call under way is bounded by
// Options.Timeout rather than by the context's deadline. A server that is
// down makes calls fail fast with an error that is not backend.ErrNotFound:
// a stopped server refuses the one dial a call makes, at once (about 14µs on
// loopback, BenchmarkGetRefused; nothing is retried or slept on), and one
// that drops packets costs Timeout per call, with no memory of the failure
// from one call to the next (a circuit breaker in front of the Store, as the
// caching package has, saves that). A call on a pooled connection that a
// server restart broke is retried once on a new connection when it changes
// nothing (Get, GetMany, Has) or is idempotent (Set, Delete).
//
// # Keys
//
// Every key is stored as namespace:generation:key. memcached keys are at most
// 250 bytes with no spaces or control characters; a key that would be longer,
// or holds such bytes (or '#'), is stored as a readable prefix of it (unsafe
// bytes replaced by '_', at most 64 bytes), '#' and the SHA-256 of the whole
// key in hex. Keys are never rejected nor truncated, and two distinct keys
// never share a memcached key.
//
// # Namespace and Clear
//
// memcached cannot delete by prefix. Clear moves the namespace to a new
// generation (an incr of the key namespace:gen): entries of older
// generations are no longer read and age out of memcached's LRU. Other
// namespaces, and other applications on the servers, are untouched; flush_all
// is sent only with Options.FlushOnClear.
//
// Each process caches the generation for Options.GenerationTTL (default 1s):
// after a Clear in one process, another may read entries from before the
// Clear for up to that long, then converges. A process writing during that
// window writes under the old generation, where nothing reads it after the
// window. If memcached evicts the generation key, a new one is started from
// the current time in nanoseconds: the namespace is then cleared, never
// resurrected.
//
// # Values and TTLs
//
// A value that does not fit the servers' item size (Options.MaxItemSize,
// memcached's -I, default 1 MiB) with its key and 96 bytes of item overhead
// gets backend.ErrValueTooLarge, and nothing is stored.
//
// TTLs are whole seconds: parts of a second round up, so a TTL of 1ms lives
// one second (and is never sent as 0, which means forever to memcached). TTLs
// up to 30 days are sent as relative seconds, longer ones as absolute Unix
// times, as memcached requires (capped at January 2038, the largest its field
// holds).
//
// # Capabilities
//
// Add is memcached's atomic add. GetMany is GetMulti: one round trip per
// server, in parallel. Incr uses incr and decr, creating a missing counter
// with add (retried if another client wins): counters are unsigned to
// memcached, so a decrement stops at 0. Has is a Get (memcached has no
// existence check that leaves the expiry alone): it transfers the value.
// There is no SetMany (gomemcache has no multi-set) and no Stats.
package memcached
