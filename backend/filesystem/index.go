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
type index struct {
	mu         sync.Mutex
	m          map[[32]byte]*node
	head, tail *node // head: most recently used
	bytes      int64
	maxEntries int   // < 0: no bound
	maxBytes   int64 // < 0: no bound
}

type node struct {
	victim
	used       int64 // last use, Unix nanoseconds; 0 for a victim put back
	prev, next *node
}

// victim is an entry the index dropped to get back under its bounds, whose
// file is to be evicted.
type victim struct {
	hash [32]byte
	size int64
}

func newIndex(maxEntries int, maxBytes int64) *index {
	return &index{m: make(map[[32]byte]*node), maxEntries: maxEntries, maxBytes: maxBytes}
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
	n, ok := x.m[h]
	if ok {
		x.bytes += size - n.size
		n.size = size
		x.unlink(n)
	} else {
		n = &node{victim: victim{hash: h, size: size}}
		x.m[h] = n
		x.bytes += size
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
		if _, ok := x.m[f.hash]; ok {
			continue // written or read by this process since the walk
		}
		for at != nil && at.used > f.mtime {
			at = at.next
		}
		n := &node{victim: victim{hash: f.hash, size: f.size}, used: f.mtime}
		x.m[f.hash] = n
		x.bytes += f.size
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
		victims = append(victims, v.victim)
	}
	return victims
}

// restore puts back victims that were not evicted, as the least recently
// used, the first of them last in the list, so that the next
// eviction tries them first. One written again since it was dropped stays
// where it is.
func (x *index) restore(victims []victim) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := len(victims) - 1; i >= 0; i-- {
		v := victims[i]
		if _, ok := x.m[v.hash]; ok {
			continue
		}
		n := &node{victim: v}
		x.m[v.hash] = n
		x.bytes += v.size
		x.pushBack(n)
	}
}

func (x *index) over() bool {
	return x.maxEntries >= 0 && len(x.m) > x.maxEntries || x.maxBytes >= 0 && x.bytes > x.maxBytes
}

func (x *index) drop(n *node) {
	x.unlink(n)
	delete(x.m, n.hash)
	x.bytes -= n.size
}

// touch marks h, if the index holds it, as the most recently used, and
// reports whether it does and the size it records. It never adds an entry
// nor changes a size: a read does not hold its key's lock, and what it read
// may have been deleted or replaced since (see Store.hit).
func (x *index) touch(h [32]byte) (known bool, size int64) {
	now := time.Now().UnixNano()
	x.mu.Lock()
	n, ok := x.m[h]
	if ok {
		n.used = now
		x.unlink(n)
		x.pushFront(n)
		size = n.size
	}
	x.mu.Unlock()
	return ok, size
}

func (x *index) remove(h [32]byte) {
	x.mu.Lock()
	if n, ok := x.m[h]; ok {
		x.drop(n)
	}
	x.mu.Unlock()
}

// resize records size as h's, if the index holds h, where it is in the
// list, and returns the entries to evict to get back under the bounds, as
// put does. The caller holds h's lock and has seen a file of size bytes at
// its path (another process rewrote it).
func (x *index) resize(h [32]byte, size int64) []victim {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.m[h]
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
	if n, ok := x.m[h]; ok {
		return true, n.size
	}
	return false, 0
}

func (x *index) has(h [32]byte) bool {
	x.mu.Lock()
	_, ok := x.m[h]
	x.mu.Unlock()
	return ok
}

func (x *index) reset() {
	x.mu.Lock()
	x.m = make(map[[32]byte]*node)
	x.head, x.tail, x.bytes = nil, nil, 0
	x.mu.Unlock()
}

func (x *index) stats() (entries, bytes int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return int64(len(x.m)), x.bytes
}
