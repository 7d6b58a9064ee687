package filesystem

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// index is this process's picture of the files in its namespace: their sizes
// and the order in which it last wrote or read them. It bounds the store
// without reading the directory on each Set. It is approximate when several
// processes share the directory: each process sees the files the others
// write only when it reads them or when the sweep walks the directory.
//
// A plain doubly linked list (most recently used at the front) in a map,
// guarded by one mutex; it does no I/O. Each node holds the time of its last
// use, by the system's clock (which stamps files' modification times, not
// Options.Clock), so that a file found on disk is placed among the known
// ones by its modification time (see learn); along the list the times fall
// from the front, but for victims put back (restore) and steps of the clock.
//
// The map is split by stripe (the first byte of the hash, as the
// subdirectories are), so that Clear drops one stripe's keys, under that
// stripe's lock, at the cost of that stripe's entries (see removeStripe).
// Each stripe counts the removals of its keys (gen), so that a victim
// put back after one can be checked against its file (see restore).
type index struct {
	mu         sync.Mutex
	m          [256]map[[32]byte]*node // by h[0]; nil until the first put
	n          int                     // entries, over all of m
	gen        [256]uint64             // removals (remove, removeStripe) per stripe
	head, tail *node                   // head: most recently used
	bytes      int64
	maxEntries int   // < 0: no bound
	maxBytes   int64 // < 0: no bound
}

type node struct {
	hash       [32]byte
	size       int64
	used       int64 // last use, Unix nanoseconds; 0 for a victim put back
	prev, next *node
}

// victim is an entry the index dropped to get back under its bounds, whose
// file is to be evicted. gen is its stripe's count of removals when it was
// dropped: restore puts it back only if no removal in the stripe came since.
type victim struct {
	hash [32]byte
	size int64
	gen  uint64
}

func newIndex(maxEntries int, maxBytes int64) *index {
	return &index{maxEntries: maxEntries, maxBytes: maxBytes}
}

// get returns h's node, if the index holds h. The caller holds x.mu.
func (x *index) get(h [32]byte) (*node, bool) {
	n, ok := x.m[h[0]][h]
	return n, ok
}

// add records n in the map (not in the list). The caller holds x.mu.
func (x *index) add(n *node) {
	m := x.m[n.hash[0]]
	if m == nil {
		m = make(map[[32]byte]*node)
		x.m[n.hash[0]] = m
	}
	m[n.hash] = n
	x.n++
	x.bytes += n.size
}

func (x *index) unlink(n *node) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		x.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		x.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (x *index) pushFront(n *node) {
	n.next = x.head
	if x.head != nil {
		x.head.prev = n
	}
	x.head = n
	if x.tail == nil {
		x.tail = n
	}
}

func (x *index) pushBack(n *node) {
	n.prev = x.tail
	if x.tail != nil {
		x.tail.next = n
	}
	x.tail = n
	if x.head == nil {
		x.head = n
	}
}

// put records a file of size bytes for h as the most recently used, last
// used at used (Unix nanoseconds), and returns the entries to evict to get
// back under the bounds, least recently used first; they are already gone
// from the index, and h is never among them.
func (x *index) put(h [32]byte, size int64, used int64) []victim {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.get(h)
	if ok {
		x.bytes += size - n.size
		n.size = size
		x.unlink(n)
	} else {
		n = &node{hash: h, size: size}
		x.add(n)
	}
	n.used = used
	x.pushFront(n)
	return x.shed(n)
}

// found is an entry file the index did not know, found on disk.
type found struct {
	hash  [32]byte
	size  int64
	mtime int64 // Unix nanoseconds
}

// learn indexes the files of all that it does not know yet, each placed
// among the known entries by its modification time, as if it had been
// used then (files found on disk count from their modification time: a
// file another process wrote a moment ago is not the least recently used),
// and returns the entries to evict to get back under the bounds, as put
// does. One merge from the front of the list: its cost is the number of
// files plus the depth of the oldest one, not a walk per file.
func (x *index) learn(all []found) []victim {
	slices.SortFunc(all, func(a, b found) int { return cmp.Compare(b.mtime, a.mtime) }) // newest first
	x.mu.Lock()
	defer x.mu.Unlock()
	at := x.head // the first node used no later than the next file
	for _, f := range all {
		if _, ok := x.get(f.hash); ok {
			continue // written or read by this process since the walk
		}
		for at != nil && at.used > f.mtime {
			at = at.next
		}
		n := &node{hash: f.hash, size: f.size, used: f.mtime}
		x.add(n)
		x.insertBefore(n, at)
	}
	return x.shed(nil)
}

// insertBefore links n in front of at, or at the back when at is nil.
func (x *index) insertBefore(n, at *node) {
	if at == nil {
		x.pushBack(n)
		return
	}
	n.prev, n.next = at.prev, at
	if at.prev != nil {
		at.prev.next = n
	} else {
		x.head = n
	}
	at.prev = n
}

// trim returns the entries to evict to get back under the bounds, as put
// does; there are some when victims an eviction skipped were restored.
func (x *index) trim() []victim {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.shed(nil)
}

// shed drops the least recently used entries but keep until the index is
// within its bounds, and returns them.
func (x *index) shed(keep *node) (victims []victim) {
	for x.over() && x.tail != nil && x.tail != keep {
		v := x.tail
		x.drop(v)
		victims = append(victims, victim{hash: v.hash, size: v.size, gen: x.gen[v.hash[0]]})
	}
	return victims
}

// restore puts back victims that were not evicted, as the least recently
// used, the first of them last in the list, so that the next
// eviction tries them first. One written again since it was dropped stays
// where it is. One whose stripe had a removal since it was dropped (its
// gen is not the stripe's) is not put back but returned: a Delete or Clear
// of the key, finding it out of the index, removed its file and nothing
// else, and putting it back would leave a key with no file behind it. The
// caller checks the file of each returned, with the stripe's gen read
// before (see Store.putBack).
func (x *index) restore(victims []victim) (stale []victim) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := len(victims) - 1; i >= 0; i-- {
		v := victims[i]
		if _, ok := x.get(v.hash); ok {
			continue
		}
		if v.gen != x.gen[v.hash[0]] {
			stale = append(stale, v)
			continue
		}
		n := &node{hash: v.hash, size: v.size}
		x.add(n)
		x.pushBack(n)
	}
	slices.Reverse(stale) // in victims' order
	return stale
}

// restoreAny puts v back as restore does, whatever removals its stripe had
// since it was dropped: the caller has seen its file (see
// Store.putBackLast).
func (x *index) restoreAny(v victim) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.get(v.hash); ok {
		return
	}
	n := &node{hash: v.hash, size: v.size}
	x.add(n)
	x.pushBack(n)
}

// genOf returns the count of removals in stripe b (see restore).
func (x *index) genOf(b byte) uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.gen[b]
}

func (x *index) over() bool {
	return x.maxEntries >= 0 && x.n > x.maxEntries || x.maxBytes >= 0 && x.bytes > x.maxBytes
}

func (x *index) drop(n *node) {
	x.unlink(n)
	delete(x.m[n.hash[0]], n.hash)
	x.n--
	x.bytes -= n.size
}

// touch marks h, if the index holds it, as the most recently used, and
// reports whether it does and the size it records. It never adds an entry
// nor changes a size: a read does not hold its key's lock, and what it read
// may have been deleted or replaced since (see Store.hit).
func (x *index) touch(h [32]byte) (known bool, size int64) {
	now := time.Now().UnixNano()
	x.mu.Lock()
	n, ok := x.get(h)
	if ok {
		n.used = now
		x.unlink(n)
		x.pushFront(n)
		size = n.size
	}
	x.mu.Unlock()
	return ok, size
}

// remove drops h, and counts a removal in its stripe whether the index
// held h or not: an eviction may hold h as a victim, to put back (see
// restore).
func (x *index) remove(h [32]byte) {
	x.mu.Lock()
	if n, ok := x.get(h); ok {
		x.drop(n)
	}
	x.gen[h[0]]++
	x.mu.Unlock()
}

// removeStripe drops every key of stripe b (whose hash starts with b), and
// counts a removal in it, as remove does for one key. The caller holds the
// stripe's lock (Clear), so that no write of one of its keys is dropped
// with its file still on disk.
func (x *index) removeStripe(b byte) {
	x.mu.Lock()
	for _, n := range x.m[b] {
		x.unlink(n)
		x.bytes -= n.size
	}
	x.n -= len(x.m[b])
	x.m[b] = nil
	x.gen[b]++
	x.mu.Unlock()
}

// resize records size as h's, if the index holds h, where it is in the
// list, and returns the entries to evict to get back under the bounds, as
// put does. The caller holds h's lock and has seen a file of size bytes at
// its path (another process rewrote it).
func (x *index) resize(h [32]byte, size int64) []victim {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.get(h)
	if !ok {
		return nil
	}
	x.bytes += size - n.size
	n.size = size
	return x.shed(nil)
}

// sizeOf reports whether the index holds h, and the size it records.
func (x *index) sizeOf(h [32]byte) (known bool, size int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n, ok := x.get(h); ok {
		return true, n.size
	}
	return false, 0
}

// unlisted returns the keys of stripe b that the index holds and names
// does not.
func (x *index) unlisted(b byte, names map[[32]byte]struct{}) (keys [][32]byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for h := range x.m[b] {
		if _, ok := names[h]; !ok {
			keys = append(keys, h)
		}
	}
	return keys
}

func (x *index) has(h [32]byte) bool {
	x.mu.Lock()
	_, ok := x.get(h)
	x.mu.Unlock()
	return ok
}

func (x *index) stats() (entries, bytes int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return int64(x.n), x.bytes
}
