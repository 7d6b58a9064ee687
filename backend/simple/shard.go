package simple

import (
	"sync"
	"sync/atomic"
)

// entry is one stored key. Every field but visited is guarded by the
// shard's lock (written under the write lock, read under either); visited is
// set by readers holding only the read lock, hence atomic.
type entry struct {
	key      string
	value    []byte // the byte value, when !isObj
	obj      any    // the Go value, when isObj
	isObj    bool
	visited  atomic.Bool
	size     int64 // what the entry counts against the byte bound
	expireAt int64 // clock reading (Store.now) at which it expires; 0: never
	// The shard's queue, newest at head: next points to the older
	// neighbour, prev to the newer one.
	prev, next *entry
}

func (e *entry) expired(now int64) bool { return e.expireAt != 0 && now >= e.expireAt }

// shard is one independently locked part of the store: a map for lookups
// and a SIEVE queue for eviction.
//
// SIEVE (Zhang et al., NSDI '24) keeps entries in insertion order and a
// "visited" bit per entry. A hit only sets the bit, so reads never move
// entries and need only the read lock. To make room, a hand walks from the
// oldest entry towards the newest, clearing set bits and evicting the first
// entry whose bit was clear; the hand stays where it stopped. Entries read
// since the hand last passed survive, and one-hit wonders leave quickly,
// which on skewed (Zipf) workloads gives a hit ratio at least LRU's.
type shard struct {
	mu         sync.RWMutex
	m          map[string]*entry
	head, tail *entry // newest, oldest
	hand       *entry // next eviction candidate; nil: start at tail
	entries    int64
	bytes      int64
	evictions  int64
	maxEntries int64
	maxBytes   int64
	_          [64]byte // keep neighbouring shards' locks off this cache line
}

// insert puts a new entry at the head of the queue. The caller has made room.
func (sh *shard) insert(e *entry) {
	sh.m[e.key] = e
	e.next = sh.head
	if sh.head != nil {
		sh.head.prev = e
	}
	sh.head = e
	if sh.tail == nil {
		sh.tail = e
	}
	sh.entries++
	sh.bytes += e.size
}

// remove unlinks e from the map and the queue.
func (sh *shard) remove(e *entry) {
	if sh.hand == e {
		sh.hand = e.prev
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
	delete(sh.m, e.key)
	sh.entries--
	sh.bytes -= e.size
}

// makeRoom evicts entries until addEntries more entries and addBytes more
// bytes fit within the shard's bounds. It never evicts keep (the entry being
// written, or nil). Expired entries the hand meets go first and do not count
// as evictions. It appends the keys of evicted entries to evicted when
// collect is set, and returns it.
func (sh *shard) makeRoom(addEntries, addBytes int64, keep *entry, now func() int64, collect bool, evicted []string) []string {
	var t int64
	haveNow := false
	for sh.entries+addEntries > sh.maxEntries || sh.bytes+addBytes > sh.maxBytes {
		if sh.entries == 0 || sh.entries == 1 && keep != nil {
			return evicted // cannot happen: callers check sizes first
		}
		if !haveNow {
			t, haveNow = now(), true
		}
		victim, expired := sh.nextVictim(keep, t)
		sh.remove(victim)
		if !expired {
			sh.evictions++
			if collect {
				evicted = append(evicted, victim.key)
			}
		}
	}
	return evicted
}

// nextVictim moves the SIEVE hand to the next entry to evict and returns it,
// reporting whether it is an expired entry rather than a cold one.
func (sh *shard) nextVictim(keep *entry, now int64) (victim *entry, expired bool) {
	p := sh.hand
	if p == nil {
		p = sh.tail
	}
	for {
		if p != keep {
			if p.expired(now) {
				sh.hand = p
				return p, true
			}
			if !p.visited.Load() {
				sh.hand = p
				return p, false
			}
			p.visited.Store(false)
		}
		if p = p.prev; p == nil {
			p = sh.tail
		}
	}
}

// sweep removes the shard's expired entries.
func (sh *shard) sweep(now int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for e := sh.tail; e != nil; {
		prev := e.prev
		if e.expired(now) {
			sh.remove(e)
		}
		e = prev
	}
}

// reset empties the shard.
func (sh *shard) reset() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.m = make(map[string]*entry)
	sh.head, sh.tail, sh.hand = nil, nil, nil
	sh.entries, sh.bytes = 0, 0
}
