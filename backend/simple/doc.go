// Package simple is the in-process store, the default backend of package
// caching: a sharded hash table in the process's memory, bounded by entries
// and bytes, with real eviction and TTL expiry.
//
//	s, err := simple.New(simple.Options{MaxEntries: 50_000, MaxBytes: 256 << 20})
//	if err != nil { ... }
//	defer s.Close()
//
// It implements backend.Backend and the optional backend.GetManyer,
// backend.SetManyer, backend.Incrementer, backend.Haser, backend.Statser and
// backend.ValueStore, looks Go values up by a key in a byte slice too
// (Store.LoadValueBytesAt), and pins values apart from its entries
// (Store.Pin).
//
// # Defaults
//
// Options{} is a valid configuration: at most 100,000 entries and 64 MiB
// (keys, values and each entry's bookkeeping), an expiry sweep every
// minute, and a shard count derived from GOMAXPROCS (at most 16 with the
// default byte bound). See Options for each field.
//
// # Bounds
//
// The bounds are hard: a store with MaxEntries N never holds more than N
// entries, and never more than MaxBytes bytes. An entry counts its key, its
// value (for a Go value, the size given to StoreValue) and what the store
// spends on it besides (EntryOverhead, or ValueOverhead for a Go value), so
// that MaxBytes bounds the memory the store really holds, whatever the
// size of the entries. Each of the Shards shards holds an even share of
// both bounds, so a store may evict while other shards still have room, and
// one entry counting more than MaxBytes/Shards (Store.MaxValueSize) is
// rejected with backend.ErrValueTooLarge and not stored.
//
// # Memory
//
// A byte value's entry is one allocation: a 16-byte header (expiry, key and
// value lengths), the key and the value. Each shard indexes its entries in
// a hash table of its own, keyed by the one hash that also picks the shard:
// groups of 7 entries in one 64-byte cache line (a control word with 7 bits
// of each key's hash and its SIEVE bit, and 7 entry pointers), kept between
// a fifth and four fifths full, plus 16 bytes of eviction-queue slot per
// entry. A Go value's entry is a 48-byte holder of the header, the key and
// the value's interface. A 16-byte key and a 64-byte value take about 135
// bytes of heap in all. The index and the slots shrink when the entries
// no longer fill a fifth of the index, so a store that held many small
// entries and now holds a few large ones does not keep the memory of many.
//
// # Eviction
//
// Each shard evicts with SIEVE (Zhang et al., "SIEVE is Simpler than LRU",
// NSDI '24): entries queue in insertion order with a "visited" bit; a hit
// sets the bit, and eviction moves a hand from the oldest entry towards the
// newest, clearing set bits and evicting the first entry whose bit is clear.
// It is chosen over LRU because a hit does not reorder a list, so reads take
// no lock and scale with cores, and because on the skewed access
// patterns of web caches its hit ratio matches or beats LRU's (the package
// benchmarks measure both on a Zipf trace). The order is by use, not by
// expiry: entries that never expire are not evicted first, and entries with
// a TTL are not kept longer for having one. Expired entries the hand meets
// are removed first and not counted as evictions. Hits set bits without a
// lock while the hand clears them: past two laps of the queue (readers
// setting every bit again as fast as it clears them), the hand evicts the
// entry it is at, so that reads cannot hold a write, and the shard's lock,
// for as long as they go on.
//
// # Expiry
//
// An expired entry is never returned: every read checks the deadline against
// the clock (Options.Clock, default time.Now, monotonic). A background
// goroutine also removes expired entries every SweepInterval, so that
// unread ones do not hold memory; Close stops it. A read that finds an
// entry expired removes it, unless its value is a Dropper, which a read
// leaves for the sweep, the eviction hand or a write of its key (see
// Dropper). Add and AddValue treat an expired entry as absent.
//
// With the default clock, a TTL counts each interval as the larger of the
// monotonic clock's progress and the wall clock's. The monotonic clock
// stops while the machine (or virtual machine) is suspended; the wall
// clock's progress past it counts too, so that an entry does not live its
// whole TTL of awake time more after a resume, however long the machine
// slept. A wall clock stepped back adds no life and expires nothing; one
// stepped forward expires entries early, the safe direction. Hits read
// only the monotonic clock, as reading the wall clock too would double
// their clock's cost: the store reads the wall clock at each write with a
// TTL, at each sweep, and at a read once a second, and counts a suspend
// from then on, so that an entry past its TTL may still be read within
// the first second awake after the resume, until the first write with a
// TTL or sweep. A difference of the clocks' progress under a second is
// counted only once such differences add up to a second.
//
// # Concurrency
//
// A Store is safe for concurrent use by multiple goroutines. Keys are spread
// over shards by hash/maphash with a per-store seed; each shard has its own
// sync.Mutex, which only writes take. Get, GetMany, Has, LoadValue and
// LoadValueAt take no lock: entries are immutable once stored (a write
// stores a new one), a shard's index changes only by atomic stores, and a
// grown index is a new one, published atomically, so a read sees each entry
// either before or after a concurrent write, and a hit sets the entry's
// visited bit with one atomic operation, only when it is clear. Writes to
// one shard are serialized. Add, AddValue and Incr are atomic. OnEvict runs
// after the lock is released.
//
// # Read-only results
//
// Get and GetMany return the stored slice, not a copy, so that a hit
// allocates nothing: callers must not modify it (copy it first). Set, Add
// and SetMany copy the caller's slice, so the caller may reuse it. Values
// stored with StoreValue are kept as they are and shared by every
// LoadValue: treat them as read-only.
//
// # Byte values and Go values
//
// Byte values (Set, Add, SetMany, Incr) and Go values (StoreValue, AddValue)
// share one key space and one pair of bounds, but Get does not see Go
// values and LoadValue does not see byte values: each misses. Writing one
// kind under a key replaces the other; Delete, Clear, expiry and eviction
// apply to both.
package simple
