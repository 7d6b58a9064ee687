package simple

import (
	"sync"
	"sync/atomic"
)

// none marks the absence of a node index.
const none = -1

// slot is what the map holds for a key: everything a read needs, inline, so
// that a hit touches the map and nothing else (the visited bitmap is small
// and stays in cache).
type slot struct {
	value    []byte // the byte value, when !isObj
	obj      any    // the Go value, when isObj
	expireAt int64  // clock reading (Store.now) at which it expires; 0: never
	node     int32  // the key's index in shard.nodes and shard.visited
	isObj    bool
}

func expired(expireAt, now int64) bool { return expireAt != 0 && now >= expireAt }

// node is a key's place in the shard's eviction queue, newest at head: next
// points to the older neighbour, prev to the newer one.
type node struct {
	key        string
	size       int64 // what the entry counts against the byte bound
	expireAt   int64 // as in its slot
	prev, next int32
}

// shard is one independently locked part of the store: a map for lookups
// and a SIEVE queue for eviction. Everything is guarded by mu, except that
// readers holding only the read lock set bits of visited atomically.
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
	m          map[string]slot
	nodes      []node
	visited    []uint64 // bit i: node i was read since the hand last passed it
	free       []int32  // indices of unused nodes
	head, tail int32    // newest, oldest
	hand       int32    // next eviction candidate; none: start at tail
	entries    int64
	bytes      int64
	evictions  int64
	maxEntries int64
	maxBytes   int64
	_          [64]byte // keep neighbouring shards' locks off this cache line
}

// reset empties the shard.
func (sh *shard) reset() {
	sh.m = make(map[string]slot)
	sh.nodes, sh.visited, sh.free = nil, nil, nil
	sh.head, sh.tail, sh.hand = none, none, none
	sh.entries, sh.bytes = 0, 0
}

// markVisited sets node i's visited bit. Readers call it under the read
// lock: it writes only if the bit is clear, so hot keys do not bounce the
// cache line between cores.
func (sh *shard) markVisited(i int32) {
	w, bit := &sh.visited[i>>6], uint64(1)<<(uint32(i)&63)
	if atomic.LoadUint64(w)&bit == 0 {
		atomic.OrUint64(w, bit)
	}
}

// testAndClearVisited clears node i's visited bit and reports whether it was
// set. The caller holds the write lock.
func (sh *shard) testAndClearVisited(i int32) bool {
	bit := uint64(1) << (uint32(i) & 63)
	return atomic.AndUint64(&sh.visited[i>>6], ^bit)&bit != 0
}

// insert adds key with sl at the head of the queue. The caller has made room.
func (sh *shard) insert(key string, sl slot, size int64) {
	var i int32
	if n := len(sh.free); n > 0 {
		i, sh.free = sh.free[n-1], sh.free[:n-1]
	} else {
		i = int32(len(sh.nodes))
		sh.nodes = append(sh.nodes, node{})
		if int(i>>6) >= len(sh.visited) {
			sh.visited = append(sh.visited, 0)
		}
	}
	sh.testAndClearVisited(i)
	sh.nodes[i] = node{key: key, size: size, expireAt: sl.expireAt, prev: none, next: sh.head}
	if sh.head != none {
		sh.nodes[sh.head].prev = i
	}
	sh.head = i
	if sh.tail == none {
		sh.tail = i
	}
	sl.node = i
	sh.m[key] = sl
	sh.entries++
	sh.bytes += size
}

// update replaces the slot of a present key, whose current slot is old.
func (sh *shard) update(key string, old, sl slot, size int64) {
	n := &sh.nodes[old.node]
	sh.bytes += size - n.size
	n.size, n.expireAt = size, sl.expireAt
	sl.node = old.node
	sh.m[key] = sl
}

// remove deletes node i's key from the map and the queue.
func (sh *shard) remove(i int32) {
	n := &sh.nodes[i]
	if sh.hand == i {
		sh.hand = n.prev
	}
	if n.prev != none {
		sh.nodes[n.prev].next = n.next
	} else {
		sh.head = n.next
	}
	if n.next != none {
		sh.nodes[n.next].prev = n.prev
	} else {
		sh.tail = n.prev
	}
	delete(sh.m, n.key)
	sh.entries--
	sh.bytes -= n.size
	*n = node{prev: none, next: none} // drop the key
	sh.free = append(sh.free, i)
}

// makeRoom evicts entries until addEntries more entries and addBytes more
// bytes fit within the shard's bounds. It never evicts node keep (the entry
// being written, or none). Expired entries the hand meets go first and do
// not count as evictions. It appends the keys of evicted entries to evicted
// when collect is set, and returns it.
func (sh *shard) makeRoom(addEntries, addBytes int64, keep int32, now func() int64, collect bool, evicted []string) []string {
	var t int64
	haveNow := false
	for sh.entries+addEntries > sh.maxEntries || sh.bytes+addBytes > sh.maxBytes {
		if sh.entries == 0 || sh.entries == 1 && keep != none {
			return evicted // cannot happen: callers check sizes first
		}
		if !haveNow {
			t, haveNow = now(), true
		}
		victim, wasExpired := sh.nextVictim(keep, t)
		key := sh.nodes[victim].key
		sh.remove(victim)
		if !wasExpired {
			sh.evictions++
			if collect {
				evicted = append(evicted, key)
			}
		}
	}
	return evicted
}

// nextVictim moves the SIEVE hand to the next entry to evict and returns it,
// reporting whether it is an expired entry rather than a cold one.
func (sh *shard) nextVictim(keep int32, now int64) (victim int32, wasExpired bool) {
	p := sh.hand
	if p == none {
		p = sh.tail
	}
	for {
		if p != keep {
			if expired(sh.nodes[p].expireAt, now) {
				sh.hand = p
				return p, true
			}
			if !sh.testAndClearVisited(p) {
				sh.hand = p
				return p, false
			}
		}
		if p = sh.nodes[p].prev; p == none {
			p = sh.tail
		}
	}
}

// sweep removes the shard's expired entries.
func (sh *shard) sweep(now int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := sh.tail; i != none; {
		prev := sh.nodes[i].prev
		if expired(sh.nodes[i].expireAt, now) {
			sh.remove(i)
		}
		i = prev
	}
}
