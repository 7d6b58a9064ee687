// Package memcached provides a backend.Backend on memcached servers, through
// github.com/bradfitz/gomemcache.
//
// # Servers
//
// Options.Servers lists the servers; one is picked per key as gomemcache's
// ServerList picks it (CRC-32 of the key modulo the number of servers:
// adding or removing a server moves most keys), so that keys land where
// other gomemcache clients put them. Host names are resolved at each new
// connection, not by New (which checks only each server's syntax): a name
// that does not resolve yet (DNS not ready at start-up) makes the calls for
// its keys fail, as a server that is down does, until it resolves, and a
// server whose address changes is dialled at its new one (the idle
// connections to the old one are used until they fail). Each call's dial, read and write is bounded by
// Options.Timeout (default 250ms), and so is each batch of a GetMany (see
// Capabilities); Options.MaxIdleConns connections per server are kept open
// (default 16).
//
// gomemcache takes no context: a call whose context is already done returns
// its error without contacting a server, and a call under way is bounded by
// Options.Timeout rather than by the context's deadline (a GetMany of many
// keys checks the context again before each batch, and a Delete or
// DeleteCount, one round trip per key, before starting each key: stopped
// partway, it returns the context's error once the deletes under way have
// ended, the keys started before the stop deleted, and DeleteCount counts
// them). A call tried again (below) is not once its context is done: its
// error then wraps the context's and that of a try that may have run (the
// first, where its connection dropped after the request was written; else
// the last).
// A call that reads the namespace generation (see Namespace and Clear), or
// waits for another's read of it (none read within GenerationGrace), stops
// waiting once its context is done, with the context's error (not Delete
// and DeleteCount, whose read of it, made afresh on the caller's goroutine,
// is bounded by Options.Timeout as their deletes are, and not tried again
// once the context is done): the read,
// on a goroutine of its own, goes on for the calls that still wait for it
// and ends on its own, its round trips bounded by Options.Timeout as any
// call's (with GenerationTTL -1, each call's own read is not tried again
// once its context is done), and at Close at the latest (but for a dial
// under way then, bounded by Timeout: gomemcache's dial takes no context
// of the Store's). With GenerationTTL -1, while Options.MaxIdleConns
// reads are so left in flight (each holds a connection), a call waits its
// own read out, whatever its context, so that callers that leave at once
// and call again do not pile reads up against a slow server.
//
// Close closes every connection the Store opened, those in use by calls
// under way too (gomemcache's own Close closes only the idle ones, and a
// connection in use would go back to a fresh pool, never closed): those
// calls fail with backend.ErrClosed, and no connection is opened after it,
// so a program that makes and closes Stores leaks no sockets.
//
// A server that is down makes the calls for its keys fail fast with an error
// that is not backend.ErrNotFound (calls for keys on the other servers go on,
// also when it is the server that holds the namespace's generation: see
// Namespace and Clear): a stopped server refuses the one dial a call makes, at
// once (about 14µs on loopback, BenchmarkGetRefused; nothing is retried or
// slept on), and one that drops packets costs Timeout per call. After 3
// failures in a row (dials that fail, reads or writes that time out, new
// connections closed or reset before they read anything, as by a proxy
// whose server is gone or a server past its connection limit, replies
// that break the protocol, a get's reply that breaks or stops within its
// values included, which is an answer only once its END comes; not the
// server's answers, such as a miss, nor pooled connections a restart
// closed), or after a second of "SERVER_ERROR ..." replies and no other
// (at least 3 of them) and a probe (below) that gets no normal reply either,
// the server is marked down for a second: the calls for its keys are
// refused at once, dialing nothing, with an error wrapping
// backend.ErrServerDown that names the command and the server, as the
// Store's other errors do ("memcached: set 10.0.0.5:11211: server marked
// down after 3 failures in a row, the last: ..."). A proxy such as mcrouter, twemproxy or memcached's
// proxy mode answers "SERVER_ERROR ..." for the keys of a server behind it
// that is down, and serves the others: it stays up, its normal replies
// between the errors (under light traffic too, where only the dead
// server's keys may be asked for a while: the probe's keys find the live
// ones). Such an error reply, within a second of a normal reply
// of the same server, wraps backend.ErrKeyRefused, which the caching
// package's circuit breaker does not count: the proxy's live servers keep
// the cache on. (twemproxy answers a multi-get with one key on the dead
// server with an error as a whole: GetMany then reads that multi-get's keys
// again with one get each, within Timeout, and only the dead server's are
// unread, with ErrKeyRefused. When the proxy gave no normal reply in the
// last second, its error is no refusal, and the GetMany's keys on it are
// unread together.) Once every server behind it is down
// a proxy answers everything so, its errors are failures, and it is marked
// down as a dead server is. A SERVER_ERROR that refuses one item (too
// large, out of memory), a CLIENT_ERROR and an ERROR are answers: the
// server works. Then the first call for one of its keys, of whatever kind
// (a GetMany with several keys on it too), first probes it with gets of up
// to 32 keys <Namespace>:probe:<random> (new ones each time, one get each, so
// that keys a proxy sends to its one server still down do not keep it
// down, and no one can store values under them beforehand),
// the gets on one connection, an error reply followed by a version
// command whose reply is read before the next get, so that a late rest of
// the error reply is not the next get's (a server that does not answer
// version has the next get on a connection of its own: at most 32 dials a
// probe, a probe a second; the version is never sent with the get, which
// twemproxy before 0.5.0, closing the connection on the version it does
// not know, would leave unanswered), under Timeout: a normal reply (a miss or a
// value) marks it up and the call goes ahead; a failure, or error replies
// to all 32, leave it down for another second, and the call is refused like
// the others. A server back up is thus served again within about a second.
// The caching package's circuit breaker does not count
// backend.ErrServerDown (the failures that marked the server down counted
// already), so that one server down does not open it against the others (a
// proxy's error replies in the second before it is marked down, a second
// after its last normal reply, are counted: with enough traffic they may
// open the breaker once, for its cool-down); while every server is
// marked down, the refusals do not wrap backend.ErrServerDown (nor do the
// calls that fail for want of the namespace generation, its server marked
// down), and the breaker opens as for any backend that is down. Checking
// whether a key's server is down costs one atomic load per call.
//
// GetMany reads its keys with one GetMulti (one round trip per server, the
// servers in parallel); when that fails, it keeps the values it read whole
// before the failure, and reads the keys it got no value for again, each
// server's apart, of the servers that failed it only (those that answered
// whole are not asked for their misses again): while a server is down, a GetMany with
// keys on it returns the values of the other servers' keys with a
// *backend.GetManyError naming the keys not read (it fails as a whole only
// when none was read). One server or several, a failure after every key's
// value leaves nothing unread, and is counted in the server's health
// only. A server whose read timed out is not asked again:
// one that hangs makes such a GetMany wait Timeout once, until it is marked
// down. The caching package still takes such an
// error for a failed read, and serves those lookups uncached. Delete and
// DeleteCount delete the keys whose servers answer, and fail (see
// Capabilities). With Options.FlushOnClear, Clear flushes every server it
// can reach.
//
// A call on a pooled
// connection that a server restart broke is retried once on a new connection
// when it changes nothing (Get, GetMany, Has) or is idempotent (Set, Delete);
// a GetMany over several servers asks again only the keys its multi-get
// got no value for of the servers that failed it, each server's apart, not
// the servers that answered whole, for their misses or anything else.
// On Unix systems the check each request on a pooled connection starts
// with (below) finds most such connections closed before anything is
// written: a server restarted, memcached's -o idle_timeout or a proxy
// closing its idle clients closes every pooled connection at once, and
// any call (an Add, Incr or Clear too) passes over them, up to
// MaxIdleConns+1 tries, to a connection of its own.
//
// gomemcache closes a connection after any reply it does not expect, a
// "SERVER_ERROR ..." among them. A one-line request of one key (a one-key
// get: Get, Has, and GetMany's gets one key each; a delete: Delete,
// DeleteCount; an incr or decr: Incr) whose whole reply was one
// SERVER_ERROR line, with nothing after it, keeps its connection instead:
// the Store parks it (up to MaxIdleConns per server, besides gomemcache's
// idle ones) and the next connection to that server takes it, once a "version" command sent on it
// was answered within Timeout with nothing but END lines before the
// VERSION line, and nothing after it. Silence after the error line proves
// nothing: a proxy may send the rest of the refused get's reply late, in a
// write of its own (mcrouter writes a get's per-key error, then END), and
// a command sent before it came would read it as its reply, leaving its
// own for the next command: another key's value read as its own. Any other
// reply, or none, closes the connection, which is then dialed anew, as
// gomemcache would. A proxy with one upstream down so costs a round trip
// per refused key and one for the version, not a new TCP connection (a
// dial, and a socket in TIME_WAIT for a minute: a few hundred refused gets
// a second would exhaust a client's ephemeral ports). memcached, mcrouter
// and twemproxy (from 0.5.0) answer version; a proxy that answers it
// otherwise, or closes the connection (older twemproxy), costs a dial per
// refused request, as before. The reply to a multi-get after an error line
// differs from proxy to proxy, and closes the connection, as do the error
// replies to storage commands (Set, Add: a data block the server may not
// have read yet). The resync proves that every reply to a command sent
// before it has come (memcached and the proxies answer in order); a
// server that sends a line nobody asked for after the VERSION line, in a
// later write, puts a parked connection out of step as it would a pooled
// one: a get then fails (below), another command reads the line as its
// reply.
//
// A get whose reply is the value of another key (a connection out of step
// with its replies, whatever the cause) fails, as a broken reply does, and
// the Store closes its idle connections: gomemcache would return that
// value as the key's. The connection that read it writes nothing again:
// gomemcache puts it back in its pool before the Store sees the value, and
// a call that takes it before the idle connections are closed fails its
// write, nothing sent, and is tried on another connection, whatever the
// call, up to MaxIdleConns+1 times, for several such connections in the
// pool at once (a Get, GetMany, Set, Delete, Add, Incr or Clear, the
// namespace generation's read and set among them; the reply's
// keys are checked against its get's as they are read, a pass over the
// get's keys a reply). A connection that read more than one reply to a
// request (a server or proxy that sent one twice, in one write) writes
// nothing again either: every later get on it would read the reply to the
// one before, the values of its own keys one request old, which no check
// of the keys tells. Nor does one with bytes waiting on its socket, unread,
// when a request starts after the last one's reply (a reply sent again,
// late, in a write of its own): each request on a pooled connection starts
// with a non-blocking peek (a recvfrom with MSG_PEEK, on Unix systems;
// about 0.2 µs, no allocation). So does a GetMany's multi-get whose reply holds a
// value of a key it did not ask for: gomemcache would read the keys asked
// as misses; the values of the keys asked that the reply held are
// dropped, also when the reply broke before that key's value was read
// whole (they may be an earlier get's, one request old). With several servers, whose replies gomemcache merges, the
// keys of the server the keys not asked are on (the one out of step) are
// read again on new connections; the other servers' values are kept, and
// their misses taken as misses, as after any failure of a multi-get.
//
// Every reply is checked against memcached's framing as it is read, before
// gomemcache parses it: gomemcache allocates a value as large as its
// "VALUE <key> <flags> <size>" line declares (up to 4 GiB) before it reads
// a byte of it, so that one line of a broken or hostile server or proxy
// could exhaust the client's memory. A VALUE line that declares more than
// any memcached holds (1 GiB, the largest -I), a reply line over 4 KiB, a
// line or value that does not end in "\r\n" (a bare "\n" among them, which
// gomemcache's incr parse panicked on), or a reply of more values than
// its get asked for keys (at most 1000: gomemcache keeps every value of a
// multi-get's reply, asked for or not, and extends its deadline before
// each; a value of a key not asked is never returned) fails the call at once, allocating nothing of the
// size declared, with an error that names the command and the server
// ("memcached: get 10.0.0.5:11211: a reply that breaks the protocol: a
// value of over 1073741824 bytes ..."); the connection is closed, neither
// pooled nor parked, and any read of it after fails alike. Such a reply is
// a failure of the server, as a connection it drops is (3 in a row mark it
// down), and the caching package's breaker counts it. A value over
// Options.MaxItemSize, and no more than a server may hold, is a refusal of
// its key (backend.ErrKeyRefused), not a failure of the server: such a
// value was stored by a process told a larger MaxItemSize (set it to the
// servers' -I in every process that shares the namespace). Its data is
// read off the connection and dropped as it comes, allocating nothing, and
// the reply read on: the connection goes back to the pool, a Get's error
// says the value's size and the limit ("...: 2097152 bytes, over
// 1048576"), and a GetMany returns the other keys of its reply, with a
// *backend.GetManyError naming that one (its error names each server that
// sent such a value, three and then how many more). Such values are skipped up to 8
// MiB a reply; a larger one, or one whose data (or the "\r\n" after it)
// does not come within Options.Timeout, fails the read, still as a refusal
// of its key, and closes the connection (a GetMany then reads the server's
// keys it has no value for one get each). Refusals prove nothing against
// the server, however many come in a row: a healthy one holding many such
// values, read again and again, gives nothing else. A server whose get
// replies are all such values, and no other reply, for a second (at least
// 3 of them) is therefore probed (see below) with gets of keys that no
// Store writes: a healthy one answers with a miss and stays up, and one
// that answers with a value over MaxItemSize there too (broken, or
// hostile: it answers every get so) is marked down, as a failing server
// is, rather than cost every read of its keys up to 8 MiB skipped.
// The check skips each value's data without looking inside it:
// a hit costs it a pass over its reply's short lines (BenchmarkGet: within
// the noise of a round trip).
//
// A read whose deadline passed takes what the server sent before it fails:
// a process starved of CPU past the deadline (a GC pause, a loaded machine),
// whose reply came in time, reads it rather than timing out and counting
// a failure against the server (on Unix systems).
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
// is sent only with Options.FlushOnClear (to every server, those after a
// server that fails too: Clear then fails with the servers' errors).
//
// Each process caches the generation for Options.GenerationTTL (default 1s),
// a suspend of the machine included. For up to that long after a Clear in another process (or after memcached
// evicts the generation key and another process starts a new one), a process
// that has not read the new generation yet still works in the old one: it
// may read the old generation's entries, and what it writes then (Set, Add,
// Incr) goes to the old generation, which nobody reads after the window: the
// write is lost, as if it had been made before the Clear. A lost write never
// undoes an invalidation: the caching package's tag versions are random
// numbers, written with Add (or Set, when one is renewed), so a version lost
// to the old generation only makes entries miss. Add may therefore
// succeed in both generations (two processes may both take one of the
// caching package's leases, and both compute). After the window every
// process converges on the new generation.
//
// Deletes are never lost. Delete and DeleteCount do not trust the cached
// generation: they read it first (one round trip more per call, not per
// key) and delete under it, so that a delete made just after another
// process's Clear removes what was written since; a delete under the old
// generation alone would leave that entry valid until its TTL. When the
// generation read differs from the ones the process trusted before the
// read or trusts after it (a read of its own may overtake the delete's),
// they delete under those too, for the processes still on them. The
// caching package invalidates by deleting (InvalidateTags, InvalidatePath,
// ForgetAll, InvalidateOnWrite delete version keys), so its invalidations
// reach the current generation at once, for every process. A process
// still on an old generation serves that generation's entries until its
// GenerationTTL runs out, as after any Clear (from the generation the
// deleting process was on, the keys are deleted too).
//
// If memcached evicts the generation key, a new one is started from the
// current time in nanoseconds: the namespace is then cleared, never
// resurrected.
//
// The generation key lives on one server. While it cannot be read (that
// server down, hung or timing out), a process goes on in the generation it
// read last, for up to Options.GenerationGrace (default 1 minute) past
// GenerationTTL, so that calls for keys on the other servers still work: one
// read at a time tries the generation again, the calls that find it in
// flight do not wait for it, and a read that failed is not tried again for a
// second, the calls meanwhile dialing nothing for it (Deletes only when the
// read timed out: see below). A
// Clear made meanwhile by another
// process that can reach the server is seen up to GenerationTTL +
// GenerationGrace late, and the writes made to the old generation until then
// are lost, as within GenerationTTL. Deletes do not rely on the grace: a
// Delete or DeleteCount that cannot read the generation deletes its keys
// under the one read last, and fails all the same, with a count of 0 (those
// entries may have been none live, after another process's Clear), so that
// the caller tries again once the generation can be read (within the second after a read
// that timed out, without reading it: a hung server costs a Delete nothing,
// not Options.Timeout). Before the first generation is
// read, and once the grace has run out, calls fail while the generation
// cannot be read (between two reads, at once, with the last read's error).
// A restarted server has lost the generation key: the first process to read
// it starts a new generation, a Clear, and the others follow within a second
// of the server answering again. A Clear in this process is seen by it at
// once, as always; with the server down it fails.
//
// # Values and TTLs
//
// A value that does not fit the servers' item size (Options.MaxItemSize,
// memcached's -I, default 1 MiB) with its key and 96 bytes of item overhead
// gets backend.ErrValueTooLarge, and nothing is stored; a Set so refused
// deletes the older value under the key (one round trip more), as memcached
// itself does for a value the server refuses, so that a refused write never
// leaves a stale value readable. A server whose memory is full of smaller
// items may also refuse a value within the limit ("SERVER_ERROR out of
// memory", common for values over half of -I, which it stores in chunks):
// that refusal is backend.ErrValueTooLarge too, the older value is deleted
// (memcached keeps it in that case), and it does not count against the
// server in the Cache's circuit breaker, which a client making large
// responses could otherwise open for everyone.
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
// server, in parallel, for up to 1000 keys (fewer when they are long, at most
// 64 KiB of keys). More keys are sent in batches of that size, one after the
// other, each with its own Timeout: one multi-get must be sent and all its
// keys looked up within Timeout, which 50,000 keys did not always do in
// 250ms. A context done during a batch stops the call before the next one,
// with the context's error; a Store closed fails the batch under way with
// backend.ErrClosed. A server that fails fails its own keys only: the
// other servers' values come back with a *backend.GetManyError naming the
// keys not read (see Store.GetMany).
//
// Delete is one delete command per key (gomemcache has no multi-key nor
// pipelined delete): a Delete or DeleteCount of several keys deletes them on
// its caller's goroutine, one after the other, and on helper goroutines
// beside it, which the Store shares among all its calls: at most
// min(8, Options.MaxIdleConns)-1 helpers run at once per Store, not per
// call, so that a call alone has up to 8 deletes in flight (1000 keys take
// about 125 round trips instead of 1000), each on a connection of the pool,
// and n calls at once (a burst of invalidations) at most n+7 with the
// default MaxIdleConns, one connection each and the helpers', rather than
// 8 each, dialing connections past the pool only to close them. A call that
// finds no helper free goes on alone and takes helpers as they are freed:
// none waits for another call, but a helper stays with the call that took
// it until that call's keys run out, so a long call may keep them all while
// another runs one key at a time. A key whose delete fails (its server
// down or hung) does not stop the others: the call deletes every key it
// can, then fails with the first error, with the count of those deleted,
// so that a server down does not leave the keys on the others (the caching
// package's tag and path versions) undeleted. A context done, or the Store
// closed, starts no more keys and fails the call once those under way have
// ended.
//
// Incr uses incr and decr, creating a missing counter with add (retried if
// another client wins): counters are unsigned to memcached, so a decrement
// stops at 0. memcached rewrites a counter in place and pads a result with
// fewer digits with spaces up to the old length (10 decremented by 1 is
// stored as "9 "); Get and GetMany return a value of digits followed by
// spaces without the spaces, so a counter reads back as the number Incr
// returned. (A value of that shape written with Set reads back trimmed too.)
// memcached reads a value as C's strtoull does: leading blanks, a '+' sign,
// leading zeros and anything after the digits and a space are accepted, so
// an Incr of a foreign value such as "5 apples", " 5", "+5" or "005" counts
// from 5 and replaces it, and "-0" counts from 0, where backend.Incrementer
// asks for ErrNotInteger and the value left alone (Redis and this module's
// other stores count only from an integer as strconv.FormatInt writes it).
// A '-' before a number past 2^63 is read modulo 2^64
// ("-9223372036854775809" as 2^63-1). The Store does not check: telling
// them apart would take a read before every incr (or a cas loop instead of
// incr), and the caching package only ever stores integers as
// strconv.FormatInt writes them where it counts. Values memcached refuses
// ("-3", "12abc", "0x10", an empty value) give ErrNotInteger. Has is a Get (memcached has no existence check that leaves the
// expiry alone): it transfers the value. There is no SetMany (gomemcache has
// no multi-set) and no Stats.
package memcached
