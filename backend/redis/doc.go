// Package redisstore is the Redis backend: it stores the cache's entries in
// a single Redis node, a Sentinel-managed master or a Redis Cluster, through
// go-redis v9 (github.com/redis/go-redis/v9).
//
// # The package name
//
// The package lives in backend/redis, where the layout puts it, but is named
// redisstore: a package named redis would clash with go-redis's own package
// redis, which a program that passes its own client (Options.Client) also
// imports, and one of the two would need an alias. Import it as
//
//	import "github.com/go-caching/caching/backend/redis"
//
// and call it redisstore.New; goimports writes the name out for you.
//
// # Configuration
//
// A Store is built from exactly one of:
//
//   - Options.URL: redis://[user:pass@]host:port/db, rediss:// for TLS,
//     unix:///path, redis+cluster://h1:p1,h2:p2 for a Cluster and
//     redis+sentinel://h1:p1,h2:p2/master[/db] for Sentinel (rediss+ for TLS),
//     with go-redis's query options (pool_size=20, dial_timeout=1s, ...).
//   - Options.ClientOptions: a *redis.UniversalOptions, as
//     redis.NewUniversalClient reads it.
//   - Options.Client: a redis.UniversalClient the program already has
//     (redis.NewClient, redis.NewFailoverClient, redis.NewClusterClient),
//     built with ContextTimeoutEnabled: true. The Store uses it as
//     configured and never closes it.
//
// Clients the Store builds fail fast when Redis is down:
//
//	                      the Store     go-redis's default
//	dial timeout          500ms         5s
//	dial attempts         1             5, 100ms apart
//	read/write timeouts   500ms         5s
//	command retries       1, at once    3, after 10-30, 10-50, 10-90ms
//	  (on a Cluster)      MaxRedirects (3), at once, nodes 0
//	pool timeout          500ms         read timeout + 1s
//	context deadlines     honoured      honoured by dial and pool only
//
// Options.DialTimeout, ReadTimeout, WriteTimeout and MaxRetries override
// these, and so do the URL's (or ClientOptions') dial_timeout,
// read_timeout, write_timeout and max_retries; the URL's min_retry_backoff,
// max_retry_backoff and pool_timeout override the back-off and the pool
// timeout. A call is also bounded by its context. A client passed as
// Options.Client is used as configured, and must have
// ContextTimeoutEnabled (see below).
//
// Incr (INCRBY) and Add (SET NX, and the script that replaces a key of
// another type) are retried only when the command provably did not run:
// they are not idempotent, and go-redis retries a command whose reply was
// lost (a connection reset) or came later than ReadTimeout, after the
// server applied it. A retried INCRBY counts twice (a rate limit
// over-counts in exactly the slow moments), and a retried SET NX finds the
// value it wrote and reports "not added" (a lease taker then waits out its
// own lease). Such a call returns an error instead: whether it was applied
// is unknown. The Store itself retries them, up to the client's MaxRetries
// (on a Cluster, MaxRedirects) and after its back-off, as go-redis would,
// while the context lasts, after a failure that shows the server did not
// run the command: no pooled connection came within the pool timeout, the
// dial failed, or the server refused the command without running it
// (LOADING, READONLY, MASTERDOWN, NOREPLICAS, CLUSTERDOWN, TRYAGAIN, BUSY,
// "ERR max number of clients reached"), but for a READONLY on a Cluster,
// which go-redis's loop retries itself (MaxRedirects+1 tries in all, as
// for Set and Delete). A Cluster still follows MOVED and ASK redirects for
// them. The cost: an I/O error on a command that may
// have been written (a pooled connection the server closed) fails one Incr
// or Add.
//
// Set and Delete are retried as go-redis would retry them, by the Store
// too: after a failure that shows the server did not run them, and after
// a lost connection, which they may have run before (they are
// idempotent). A Delete sent as one pipeline (keys of several hash slots
// on a Cluster) sends again the commands of the pipeline that failed so,
// up to a Cluster's MaxRedirects times (go-redis retries no Ring's
// pipeline, and neither does the Store); a command whose master gave no
// connection (a dial refused) is left to go-redis's own loop, which sends
// it again up to MaxRedirects times, so that a stopped master costs a
// Delete as many dials as before. Before it sends again a command a node
// answered READONLY (a master demoted by a failover), the Store asks the
// Cluster client to reload its view of the Cluster (ReloadState, which
// go-redis does for a command sent alone, not for a pipeline's), so that
// the calls after the reload, done in the background, go to the new
// master (this call's own retries, sent at once, may reach the demoted
// master before it lands). When a try whose connection was
// lost is followed by one that surely did not run (the reconnect refused:
// a server restarting; or the command refused with LOADING or READONLY),
// the error is the lost try's, with the refusal in its text only: go-redis
// returned the refusal, which told a caller (a Cache releasing a lease)
// that the write surely did not land. A client in Options.Client of a type
// that shows no go-redis options (one that delegates to a go-redis client
// without embedding it) has a retry policy the Store cannot see: Set,
// Delete, SetMany and Clear's commands are sent through it as they are,
// and it retries them as it is configured to.
//
// New refuses, with an error wrapping backend.ErrInvalidOption, what would
// break the Store's promises:
//
//   - Reads from replicas: read_only, route_by_latency or route_randomly in
//     a Cluster URL, replica_only in a Sentinel URL; ReadOnly,
//     RouteByLatency or RouteRandomly in ClientOptions for a Cluster or a
//     Sentinel master (go-redis then sends reads to replicas, or, for
//     ReadOnly with MasterName, every command); a *redis.ClusterClient in
//     Options.Client with any of them (as redis.NewFailoverClusterClient
//     builds it). A replica lags its master, and one cut off from it keeps
//     answering with what it had, so a Get after the Store's own Delete
//     found the deleted value, and a Cache served entries right after their
//     InvalidateTags: reads must go to the masters for deletes and
//     invalidations to hold. A Sentinel client built with ReplicaOnly
//     cannot be detected in Options.Client (go-redis keeps it unexported):
//     do not pass one.
//   - go-redis's own client-side caching (ClientSideCacheConfig or
//     ClientSideCache, in ClientOptions or in a *redis.Client passed as
//     Options.Client). It answers reads from memory that it invalidates
//     asynchronously and that the Store's writes do not reach, so a Get
//     right after a Delete or InvalidateTags could find the value from
//     before it. Use backend/near, whose near copy the Store's own writes
//     and Redis's invalidations drop in time.
//   - A client in Options.Client without ContextTimeoutEnabled (go-redis's
//     default): its reads and writes wait ReadTimeout and WriteTimeout (5 s
//     by default, per try) whatever the call's context says, so a Cache's
//     Options.Timeout did not bound a call to a server that accepts
//     connections and does not answer (5 s per request, against 200ms
//     asked). It is refused whatever its timeouts: the Store cannot know
//     its callers' deadlines. Build it with ContextTimeoutEnabled: true.
//   - Retries or redirects outside -1 (none) to 10: max_retries and
//     max_redirects in a URL, MaxRetries and MaxRedirects in ClientOptions,
//     as for Options.MaxRetries, and a caller's client whose count is below
//     -1. go-redis keeps such a count, and its loop then never runs: every
//     command returns a nil error without being sent (Set stores nothing,
//     Get of any key is an empty hit, Add adds for everyone).
//
// # Prefix
//
// Every key is stored as the Store's prefix followed by the key. The prefix
// is Options.Prefix (default "caching:") ending with ':', which is appended
// when missing: Prefix "myapp" stores "myapp:k" (Store.Prefix says which).
// The prefix is the Store's namespace, and Clear deletes every key that
// starts with it, with SCAN and UNLINK in batches (never KEYS; FLUSHDB only
// with Options.ClearFlushesDB).
//
// Two Stores whose prefixes are siblings, neither starting with the other,
// share a server without seeing each other's keys: no Get, Set, Delete or
// Clear of one touches a key of the other. The ':' makes siblings of
// prefixes that, as written, start one with the other: "t-1" and "t-10"
// are "t-1:" and "t-10:", and Clear of the first leaves the second's keys
// alone. A prefix nested in another, one whole ':' segment or more longer
// ("app:" and "app:v2:"), is not apart from it: the outer Store's Clear
// deletes the inner one's keys as well, and the outer Store's key "v2:k" is
// the inner's key "k" (the caching package's keys start with a one-letter
// kind and '/', so between two Caches without a KeyPrefix only Clear
// reaches across). Give caches that must stay apart sibling prefixes
// ("app:v1:" and "app:v2:"), or one database each.
//
// # Commands
//
// Get is GET, Set is SET with PX (a TTL is rounded up to a whole
// millisecond; one over 100 years is sent as 100 years, which every server
// holds), Add is one atomic SET NX PX (when the key exists, a TYPE, and
// for a key of another Redis type, which Get reads as a miss, one script
// that replaces it; an ACL without EVALSHA and EVAL makes that case an
// error), Delete is UNLINK, Has is
// TYPE (a key of another Redis type is no entry, as for Get), Incr is
// INCRBY (a value that is not an integer gives backend.ErrNotInteger; Incr
// and Add are retried only when the command provably did not run, see
// Configuration),
// GetMany is MGET and SetMany is one pipeline of SET commands.
//
// Delete and Clear use UNLINK, as Flask-Caching's unlink does. The keys are
// gone when it returns, as with DEL; Redis then frees a large list, set,
// hash or sorted set in a background thread, and a string (every value this
// Store writes) at once, as DEL would: UNLINK is never slower than DEL, and
// faster for what else may live under the prefix. A server that refuses
// UNLINK (Redis before 4.0, a proxy without it, a renamed command, an ACL)
// gets DEL from then on; Options.DeleteWithDEL asks for DEL from the
// start. A miss is backend.ErrNotFound; after Close, and when the go-redis
// client was closed under the Store, calls return
// backend.ErrClosed. Errors start with "redisstore: " and the operation, wrap
// go-redis's error, and never hold a key.
//
// # Redis Cluster
//
// A Cluster keeps each key in one of 16384 hash slots, spread over its
// masters, and refuses a multi-key command whose keys are in different
// slots. On a Cluster client the Store therefore groups the keys of
// GetMany and Delete by slot (CRC16 of the key, or of its hash tag: the part
// between the first "{" and the next "}") and sends one MGET or DEL per slot,
// all in one pipeline: one round trip to each node involved, concurrently,
// instead of one round trip in all. The caching package reads an entry and
// its tags' generations with one GetMany; on a Cluster that costs as many
// round trips as there are nodes holding those keys, in parallel. When
// some of those nodes fail (a master down) and others answer, GetMany
// returns the values it read with a *backend.GetManyError naming the keys
// not read, as a GetMany of several memcached servers does; DeleteCount
// deletes the keys of the nodes that answer and fails with their count.
//
// A master that fails 3 calls in a row at the connection (a dial refused,
// a read or write that timed out, a connection closed or reset, no pooled
// connection freed in time, LOADING; not an error reply such as WRONGTYPE,
// OOM, CLUSTERDOWN or TRYAGAIN, nor the caller's cancellation, nor a
// caller's deadline that left the call less than 100ms: its last try, for
// a write the Store retried or go-redis's Cluster loop sent again after a
// READONLY, unless an earlier try on that master failed at the
// connection, which counts) is marked down
// for a second: every call for the keys of its slots (Get, Set, Add,
// Delete, DeleteCount, GetMany, SetMany, Incr, Has) is refused at once,
// contacting nothing, with an error wrapping backend.ErrServerDown that
// names the operation and the master's address; the calls on several keys
// skip its keys and report them as the keys of a master that failed (a
// *backend.GetManyError for GetMany), with the refusal as their error
// unless another key failed for real. Once the second is over, one call
// for its keys probes it; any reply marks it up. The key's master is the
// one go-redis's view of the Cluster names (MasterForKey), asked of no
// server: after a failover, the slot's new master, at another address, is
// up. The caching package's breaker counts backend.ErrServerDown neither
// as a success nor as a failure, so one master down does not open it
// against the others; when every master the Store knows of (those that own
// slots in go-redis's view) is marked down, the refusals do not wrap it,
// and the breaker opens. The healthy path costs one atomic load a call.
// Clear, which visits every master itself, is not refused.
//
// Two limits of that health. A deadline that leaves a call less than 100ms
// is not counted against a master, so with a Cache's Options.Timeout under
// 100ms a master that hangs (stopped, not killed: a killed one refuses the
// dial, which counts) is never marked down: the Cache's breaker counts
// those timeouts, and opens for the whole Store. To keep the others
// served, use a Timeout of 100ms or more, or a ReadTimeout short enough
// that every try of a call (MaxRedirects+1 on a Cluster) times out before
// the Timeout: a failure before the caller's deadline counts. And a
// failure is charged to the master that go-redis's view of the Cluster
// names for the key when the call ends: after a resharding or a
// failover, a call that go-redis followed from the old master (MOVED, ASK)
// to a new one that failed is charged to the old one until go-redis has
// reloaded its view, which a redirect starts at once. go-redis tells the
// Store neither which node a call went to last nor, for every failure
// (io.EOF, a pool timeout), its address; in the worst case the old master
// is refused for a second, while its slots are moving.
//
// A Prefix holding a hash tag, such as "{myapp}:", puts every key of the
// Store in one slot, so on one master: GetMany is then a single MGET and
// Clear scans one node, but the cache no longer spreads its keys or its load
// over the Cluster. While that slot is migrated to another master (a
// resharding), every multi-key read whose keys are split between the two
// fails with TRYAGAIN, for the whole migration: the cache is in effect off.
// Use it for small caches that need single-round-trip reads, not for large
// ones.
//
// Clear runs on every master, concurrently. SetMany is a pipeline of
// single-key commands, which go-redis routes to each key's node. A type of
// the program's that embeds a *redis.Client or a *redis.ClusterClient is
// used, and checked by New, as the client it embeds. Other clients (a
// *redis.Ring, other wrappers) get one command per key in one pipeline,
// which is correct whatever their routing; a Ring is cleared shard by shard.
//
// # Limits
//
// Values up to Redis's proto-max-bulk-len (512 MiB by default, 1 MiB at
// the least) are accepted; large values cost Redis memory and latency, so
// the caching package caps what a view stores (Memoize and the direct API
// do not cap). Redis reads no longer argument: it answers one with "ERR
// Protocol error: invalid bulk length" and closes the connection (often
// while the value is still being written: a connection reset), and within
// a SetMany pipeline the items after it are lost too. So the Store refuses,
// without sending it, a value longer than the server's proto-max-bulk-len,
// which it reads with maxmemory (CONFIG GET proto-max-bulk-len, on the
// same first large write and once a minute after, see below), and takes
// to be 512 MiB where it cannot read it (CONFIG refused, as managed Redis
// services do, or not answered; on a Cluster or a Ring, the smallest of
// every master's or shard's): the same error and removal as for a value
// over maxmemory below (backend.ErrValueTooLarge, which a Cache's breaker
// does not count; Set and SetMany remove the older value, Add leaves the
// key as it was), and the connection is kept. A key (with the prefix)
// longer than proto-max-bulk-len, which Redis does not read either, is
// refused the same way, without being sent, for every call that names it
// (Get, Set, Add, Incr, Has, Delete, GetMany, SetMany), but with an error
// wrapping backend.ErrKeyRefused (the server serves the other keys, and a
// Cache's breaker counts the call neither as a success nor as a failure;
// nothing is removed, as no entry can be under such a key): GetMany reads
// the call's other keys (a *backend.GetManyError names those refused),
// and Delete and SetMany make the call's other deletes and writes. Keys
// under 1 MiB, the least proto-max-bulk-len can be, cost one comparison;
// a longer one reads the server's limits as a large value does. Stats reports -1 for every
// field: what Redis knows (INFO) is about the whole server, not this
// prefix. Add is atomic; SetMany is not (on error some items may be
// stored). Clear is not atomic either: keys written while it runs may
// survive.
//
// A Redis with maxmemory refuses a write it has no room for with "OOM
// command not allowed when used memory > 'maxmemory'": under noeviction
// (or a volatile-* policy with no key left that has a TTL) any write,
// small ones too, once it is full. Under an allkeys-* (or volatile-*)
// policy a value close to or larger than maxmemory is not refused
// cleanly: Redis evicts every key of the server to make room (every
// tenant's, in every database), and then either refuses it or takes it
// (and evicts it too); a write right after is refused while the memory is
// not yet freed. So the Store refuses, without sending it, a value of
// more than a third of the server's maxmemory less 1 MiB (with the same
// error and removal as below): half was not margin enough, as Redis 7
// holds about twice a value while it stores it, each copy rounded up by
// its allocator, on top of its own memory (about 1 MiB) and its other
// keys; a value of 44% of maxmemory evicted every other key and was then
// refused. It reads maxmemory (CONFIG GET maxmemory, or INFO memory's
// maxmemory field where CONFIG is renamed or denied) on the first write of
// a value of 64 KiB or more, and again on the first such write a minute
// later: no round trip on other writes, and a smaller value costs one
// comparison. The read runs apart from the write that starts it (2 s at
// most; a caller that leaves does not cut it short): that write, and
// those made while the first read runs, wait for it no longer than their
// own context allows, and go on without the guard when it ends first.
// Close cancels a read that runs and waits for it to end, so that the
// Store sends nothing on its client once Close has returned: 2 s past the
// read's deadline at most, after which (a client hook that ignores its
// context) Close returns an error and leaves the read to end. On
// a Cluster it takes the smallest maxmemory of its masters
// (a key's master is not known before the value is sent), on a Ring the
// smallest of its shards'; other clients, that of the server they send
// CONFIG to. A maxmemory of 0 (no limit) guards nothing. When maxmemory
// cannot be read (an ACL that denies CONFIG and INFO, a server down) the
// writes go on as without the guard, and the Store asks again only a
// minute (5 s after an error other than a refusal, or after a refusal of
// the moment, such as a busy server's BUSY while a script runs) later. As a second
// guard, once the server has refused a value of 1 MiB or more with OOM,
// the Store refuses values as large, for a minute, without sending them,
// so that a client asking again and again for a response that large does
// not empty the server on each request; a value the server took is not
// remembered. Keep what you store well under maxmemory (the caching
// package caps a view's response at 1 MiB by default; Memoize and the
// direct API do not cap). Such a refusal is the item's, as memcached's
// "out of memory" is: Set, SetMany and Add
// return an error wrapping backend.ErrValueTooLarge (which holds the
// server's reply), and Set and SetMany remove the older value under each
// refused key with UNLINK (or DEL), which Redis allows under maxmemory, so
// that a refused write never leaves the value it was to replace readable;
// Add replaces nothing and removes nothing. A Cache does not count
// backend.ErrValueTooLarge as its backend failing, so a client that makes
// large responses does not open its circuit breaker for everyone. A Redis
// that is simply full stays usable: Get, Delete and the other reads answer
// as usual, and each write costs its refused SET and one UNLINK round trip.
// The refusals show where an operator looks: the direct API returns them,
// and a view, Memoize or fragment whose store is refused serves its result
// uncached, counts the refusal in the Cache's Stats.Errors (the breaker
// stays closed) and logs it, rate-limited, as a backend error. Incr
// (INCRBY, which a full noeviction Redis refuses as any write) refused
// with OOM gets an error wrapping backend.ErrValueTooLarge too, and leaves
// the counter as it was: the breaker does not count it, so a full Redis
// does not open it for every request.
//
// Against a stopped server (connection refused) a Get makes two dial
// attempts, each refused at once, and never sleeps: about 90µs on loopback,
// against 21ms with go-redis's back-off before the retry
// (BenchmarkGetRefused). Once as many dials as the pool has
// connections have failed, go-redis stops dialing and fails calls from
// memory (a few µs), probing the server once a second in the background. A
// server that drops packets costs up to DialTimeout per try until then;
// one that accepts connections but does not answer, up to ReadTimeout per
// try (MaxRetries+1 tries: 1s with the defaults; one try for a Set or a
// Delete, pipelined or not, which the Store does not send again after a
// timeout); less if the context's deadline comes first. On a Cluster the tries are the Cluster client's:
// MaxRedirects+1 (4 with go-redis's default of 3 redirects, so 2s for a
// master that does not answer; lower the URL's max_redirects to bound it
// more tightly), none of them after a sleep, as its node clients make one
// try each and do not back off (go-redis would give them its default
// back-off and MaxRetries inside the Cluster's loop: 8 tries and ~80ms of
// sleeps for a stopped master). A cluster whose seed addresses all accept
// connections and never answer costs more: until go-redis has read the
// cluster's topology, each call tries to read it from every seed in turn,
// up to ReadTimeout each (about 2s a call with four seeds), so give each
// call a context deadline. Callers that must not pay even that during an
// outage put a circuit breaker in front of the Store (the caching package
// does). On a Cluster, a master that failed 3 calls in a row is marked
// down, and the calls for its keys cost nothing for a second at a time
// (see Redis Cluster above).
//
// The Store logs nothing (backend/near's Store logs its watch's failures,
// with its Options.Logger). go-redis itself logs failed dials through its
// process-wide logger; redis.SetLogger replaces it.
package redisstore
