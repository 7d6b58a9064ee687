// Package near is a near cache: a backend that wraps a remote one (Redis,
// memcached) and keeps, in process memory, what the caching package decoded
// from it (entries with their decoded values, and tag, path and generation
// versions), so that a hit costs what a hit on the in-process store costs,
// and drops what any process changes.
//
//	remote := redisstore.Must(redisstore.Options{URL: "redis://localhost:6379/0"})
//	c := caching.Must(&caching.Options{Backend: near.Must(remote, near.Options{})})
//
// The caching package finds the near cache as it finds an in-process store
// (backend.NearCache): a lookup that finds the entry and the versions it
// records in memory reads nothing remote; one that does not reads them
// remote, in one round trip as before, and keeps what it read. Everything
// else (writes, counters, Has) goes to the remote store.
//
// # Invalidation
//
// A Store drops from its memory the keys it writes itself, once the remote
// write returns. The keys other processes change are dropped on the news
// of the change from the remote store, when it sends news (a Watcher): a
// Redis store watches its namespace with Redis's server-assisted
// client-side caching in broadcast mode (CLIENT TRACKING ON BCAST PREFIX),
// on a connection of its own to each server (every master of a Cluster),
// so that a write by any client of the server, an expiry or an eviction is
// reported. memcached sends no news: a value is then kept for MaxStale.
//
// # Guarantees
//
//   - Bounded age. A value served from memory was the remote store's answer
//     at some moment less than MaxStale (default 1s) before it is served,
//     counted from the start of the remote read that fetched it, whatever
//     happens to the news: this is the bound on Redis while a lost
//     connection is not yet noticed, and on memcached the whole bound but
//     for a Clear. After another process's Clear, the memcached store itself
//     answers from the generation before it for up to its
//     Options.GenerationTTL (default 1s; see its package doc), and memory
//     keeps such an answer for MaxStale more: a value of the generation
//     before the Clear may be served until GenerationTTL plus MaxStale after
//     it (2s with the defaults), and while this process cannot read the
//     generation's key (its server down), for up to the memcached store's
//     Options.GenerationGrace (1 min) more.
//   - Own writes. Once a write made through the Store returns (Set, Add,
//     Delete, SetMany, Incr, Clear: so the Cache's Set, Delete,
//     InvalidateTags, InvalidatePath, ForgetAll and Clear), successfully or
//     not, this process never serves from memory a value read before it.
//     That holds for a write the caching package refuses to make, too (its
//     circuit breaker is open, or the caller's context has already ended):
//     it drops the keys from memory all the same (Store.DropNear,
//     Store.EmptyNear).
//   - Other processes' writes, on Redis. A change made by any client is
//     dropped from every process's memory when the server's message about
//     it arrives there (well under a millisecond on loopback; see
//     BENCHMARKS.md). A value read before the change and returned after the
//     message is never kept: a token taken before each remote read makes
//     the Store refuse it.
//   - A lost watch. When a watch connection drops, is killed (also by
//     Redis, past its pub/sub output buffer limit, for the messages a
//     stopped process did not read: see backend/redis), leaves a
//     heartbeat unanswered (250ms plus the client's ReadTimeout), or its
//     server stops being a master, and while a new Cluster master is not
//     yet watched (one that owns no slot and that the watch has never
//     reached is not waited for: see backend/redis's WatchInvalidations),
//     memory is emptied and bypassed: every read goes to the
//     remote store and nothing is kept, until the watch is established
//     again; then memory starts empty. A Redis restart is such a loss.
//     A watch the server refuses (an ACL without CLIENT TRACKING, a
//     renamed command, a wrong password) is never established: the near
//     cache is not used.
//     NearStats' Watching and WatchError (why) say so; monitor them, or
//     give Options.Logger, which logs each change of the watch. The
//     Store answers all the while, from the remote store: do not make a
//     readiness probe wait for the watch (see WaitWatching).
//   - A flush (FLUSHDB, FLUSHALL) empties memory. On Redis that is a flush
//     of any database of the server, not only the one the near caches
//     read: Redis's message of a flush does not say which database, so a
//     FLUSHDB of a scratch database, of another application's or of a test
//     suite's empties the memory of every process, which then reads
//     everything remote again. Clear deletes the namespace's keys, which
//     every process drops (on Redis: with Options.ClearFlushesDB, as a
//     flush). SWAPDB does not: Redis's
//     tracking reports nothing of it (seen on Redis 7.0), so a process
//     serves what it read from the database swapped away for up to
//     MaxStale after the swap. Do not swap a database that near caches
//     read, or keep MaxStale to what serving the old one may cost.
//
// It is not linearizable: for the time a message takes, two processes may
// answer one key differently, and a process that reads a key just after
// another wrote it may still get the old value. And, as on the in-process
// store, the values handed out from memory (Memoize results, GetAs values,
// and the byte slices Cache.Get and Cache.GetMany return, which are the
// payloads memory keeps, also when the read that returned them was remote)
// are shared by the callers of the process: they must not be modified.
//
// Redis reads from replicas (ReadOnly, ReplicaOnly, RouteRandomly) add the
// replication lag to what a read returns, and a value read from a lagging
// replica may then be kept for up to MaxStale: read from masters (the Redis
// Store refuses the configurations it can see that read from replicas, and
// go-redis's own client-side caching, which this package replaces). Tracking
// does not tell databases apart: a write to the same key name in another
// database of the server drops it here too, which costs a miss, nothing
// more; but a flush of another database empties memory (see above).
//
// # Memory
//
// Options.MaxEntries and Options.MaxBytes bound process memory, as they
// bound a backend/simple store, which holds it. The caching package keeps
// an entry before any reader decodes it, counted as its key, the entry and
// its payload twice, a guess at the decoded value; the reader that first
// decodes it (and keeps the value for the others) measures the entry with
// its value and makes it count that instead (Store.ResizeNear, the optional
// backend.NearResizer), evicting others if it no longer fits. So MaxBytes
// counts the decoded values memory holds, not only the bytes read: a
// payload of compact JSON that decodes into maps and strings several times
// its size is counted at its decoded size. An entry counts the remote
// reply it was decoded from, which its payload keeps alive, or, when the
// reply holds much more than the payload (many long tag keys), keeps a copy
// of the payload instead. The measure is taken once per
// entry, when it is first decoded; a hit measures nothing. Response
// snapshots, GetAs values and Memoize results are measured. A value too
// big to measure (one that holds more values than a bounded walk visits,
// such as a linked list of many thousand nodes) is not kept: the caching
// package drops its key from memory (Store.DropNear), and its readers read
// it remote, as without a near cache.
//
// # Concurrency
//
// A Store is safe for concurrent use by multiple goroutines. It runs the
// goroutines of its memory's expiry sweep and of the remote store's watch;
// Close stops them.
package near
