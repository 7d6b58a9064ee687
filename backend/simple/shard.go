package simple

import (
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
)

// The index of a shard is open addressing over groups of 7 entries, each
// group one 64-byte cache line: a control word and 7 entry pointers. Byte j
// of the control word describes entry j: 0 empty, 1 deleted (a tombstone,
// so that a reader without the lock never sees a present key move), else
// the low 7 bits of the key's hash (2 to 127), and in its top bit the SIEVE
// "visited" bit. Byte 7 is always 1. A key's probe sequence starts at the
// group its hash picks and moves to the next group while the group has no
// empty byte.
const (
	groupSlots = 7
	lsb        = 0x0101010101010101
	msb        = 0x0080808080808080 // the top bits of bytes 0..6
	low7       = 0x7f7f7f7f7f7f7f7f
	ctrlEmpty  = 0
	ctrlTomb   = 1
	ctrlInit   = ctrlTomb << 56 // a new group: all empty, byte 7 set
	visitedBit = 0x80
)

// group is 7 places of the index, one cache line.
type group struct {
	ctrl atomic.Uint64
	ptr  [groupSlots]atomic.Pointer[entry]
}

// table is the index of a shard. A rehash replaces it; in place, writers
// change only control bytes and entry pointers, atomically, so that readers
// need no lock.
type table struct {
	groups []group
	mask   uint64  // len(groups)-1
	slotAt []int32 // the writers' alone: the slot of each place, group*7+byte
}

// find returns key's entry, of hash h, its group and byte, and the group's
// control word as it read it; e is nil if key is absent. It takes no lock.
func (t *table) find(key string, h uint64) (gi uint64, j uint, ctrl uint64, e *entry) {
	tag := tagOf(h)
	for gi = h >> 7 & t.mask; ; gi = (gi + 1) & t.mask {
		g := &t.groups[gi]
		ctrl = g.ctrl.Load()
		c := ctrl & low7
		for m := matches(c, tag); m != 0; m &= m - 1 {
			j = uint(bits.TrailingZeros64(m)) >> 3
			if e = g.ptr[j].Load(); e != nil && e.is(key) {
				return gi, j, ctrl, e
			}
		}
		if hasEmpty(c) {
			return 0, 0, 0, nil
		}
	}
}

// tagOf returns the control byte of a key of hash h: 7 bits, never 0 or 1.
func tagOf(h uint64) uint64 {
	t := h & 0x7f
	if t < 2 {
		t += 2
	}
	return t
}

// matches returns the top bit of each byte of c (bytes 0..6, visited bits
// cleared) that may equal tag; it can report a byte above a true match, so
// callers compare keys.
func matches(c, tag uint64) uint64 {
	x := c ^ tag*lsb
	return (x - lsb) &^ x & msb
}

// hasEmpty reports whether a control word (visited bits cleared) has an
// empty byte.
func hasEmpty(c uint64) bool { return (c-lsb)&^c&msb != 0 }

// The slots of a shard are the writers' alone: each entry in the index has
// one, which holds its place in the eviction queue and in the index.
const (
	pageBits = 8
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// none marks the absence of a slot.
const none = -1

// slot is an entry's place in the shard's eviction queue, newest at head
// (next points to the older neighbour, prev to the newer one; a free slot's
// next is the next free slot), and in the index.
type slot struct {
	prev, next int32
	loc        uint32 // group<<3 | byte of the entry in the index
	hash       uint32 // the key's hash >> 7, which picks its first group
}

// shard is one part of the store. Readers load tab and search it without a
// lock; writers hold mu, and publish a new table when the index grows or
// shrinks.
// Everything after mu is guarded by it.
//
// Eviction is SIEVE (Zhang et al., NSDI '24): entries queue in insertion
// order with a "visited" bit each. A hit only sets the bit, so reads never
// move entries. To make room, a hand walks from the oldest entry towards
// the newest, clearing set bits and evicting the first entry whose bit was
// clear; the hand stays where it stopped. Entries read since the hand last
// passed survive, and one-hit wonders leave quickly, which on skewed (Zipf)
// workloads gives a hit ratio at least LRU's.
type shard struct {
	tab atomic.Pointer[table]
	_   [56]byte // keep the writers' fields off the readers' cache line

	mu         sync.Mutex
	t          *table // tab, for writers
	pages      []*[pageSize]slot
	slots      int32 // slots ever used in pages
	free       int32 // first free slot below slots, or none
	head, tail int32 // newest, oldest
	hand       int32 // next eviction candidate; none: start at tail
	tombs      int   // tombstones in t
	entries    int64
	bytes      int64
	droppers   int64 // entries whose value is a Dropper
	evictions  int64
	maxEntries int64
	maxBytes   int64
	panicked   any      // what a Dropper panicked with, raised again by unlock
	_          [64]byte // keep the next shard's readers off this cache line
}

// reset empties the shard, telling its Droppers.
func (sh *shard) reset() {
	for i := sh.tail; sh.droppers > 0 && i != none; i = sh.slot(i).prev {
		sh.drop(sh.entryAt(i))
	}
	sh.droppers = 0
	sh.publish(newTable(1))
	sh.pages = nil
	sh.slots, sh.free = 0, none
	sh.head, sh.tail, sh.hand = none, none, none
	sh.tombs = 0
	sh.entries, sh.bytes = 0, 0
}

func newTable(groups int) *table {
	t := &table{groups: make([]group, groups), mask: uint64(groups - 1), slotAt: make([]int32, groups*groupSlots)}
	for i := range t.groups {
		t.groups[i].ctrl.Store(ctrlInit)
	}
	return t
}

// publish makes t the shard's table, for writers and then readers.
func (sh *shard) publish(t *table) {
	sh.t = t
	sh.tab.Store(t)
}

func (sh *shard) slot(i int32) *slot { return &sh.pages[i>>pageBits][i&pageMask] }

// at returns the group and byte of loc in the writers' table.
func (sh *shard) at(loc uint32) (*group, uint) {
	return &sh.t.groups[loc>>3], uint(loc & 7)
}

func (sh *shard) entryAt(i int32) *entry {
	g, j := sh.at(sh.slot(i).loc)
	return g.ptr[j].Load()
}

// setCtrl sets byte j of g's control word to b, clearing its visited bit.
// Readers set visited bits meanwhile, so it retries rather than overwrite
// them.
func (g *group) setCtrl(j uint, b uint64) {
	for {
		old := g.ctrl.Load()
		if g.ctrl.CompareAndSwap(old, old&^(0xff<<(8*j))|b<<(8*j)) {
			return
		}
	}
}

// markVisited sets byte j's visited bit. Readers call it without a lock:
// ctrl is the control word they read, and it writes only if the bit was
// clear there, so hot keys do not bounce the cache line between cores.
func (g *group) markVisited(j uint, ctrl uint64) {
	if bit := uint64(visitedBit) << (8 * j); ctrl&bit == 0 {
		g.ctrl.Or(bit)
	}
}

// testAndClearVisited clears the visited bit of the entry at loc and
// reports whether it was set.
func (sh *shard) testAndClearVisited(loc uint32) bool {
	g, j := sh.at(loc)
	bit := uint64(visitedBit) << (8 * j)
	return g.ctrl.And(^bit)&bit != 0
}

// visit sets the visited bit of the entry at loc if used, else clears it.
func (sh *shard) visit(loc uint32, used bool) {
	if !used {
		sh.testAndClearVisited(loc)
		return
	}
	g, j := sh.at(loc)
	g.markVisited(j, g.ctrl.Load())
}

// noLoc is a loc that no entry has.
const noLoc = ^uint32(0)

// lookup finds key, of hash h, for a writer: its entry e and loc, or a nil e
// and the loc where to insert it.
func (sh *shard) lookup(key string, h uint64) (loc uint32, e *entry) {
	if gi, j, _, e := sh.t.find(key, h); e != nil {
		return uint32(gi)<<3 | uint32(j), e
	}
	return sh.freeLoc(h), nil
}

// slotAt returns the slot of the entry at loc.
func (sh *shard) slotAt(loc uint32) int32 {
	return sh.t.slotAt[int(loc>>3)*groupSlots+int(loc&7)]
}

// firstFree returns the first empty or deleted byte of a control word
// (visited bits cleared), if any.
func firstFree(c uint64) (uint, bool) {
	for j := uint(0); j < groupSlots; j++ {
		if c>>(8*j)&0xff < 2 {
			return j, true
		}
	}
	return 0, false
}

// insert stores e, of hash h and size size, in a new slot at the head of
// the queue; loc is from lookup. The caller has made room.
func (sh *shard) insert(e *entry, h uint64, loc uint32, size int64) {
	if (int(sh.entries)+sh.tombs+1)*5 > len(sh.t.groups)*groupSlots*4 {
		sh.rehash(int(sh.entries) + 1)
		loc = sh.freeLoc(h)
	}
	i := sh.newSlot()
	s := sh.slot(i)
	s.prev, s.next = none, sh.head
	if sh.head != none {
		sh.slot(sh.head).prev = i
	}
	sh.head = i
	if sh.tail == none {
		sh.tail = i
	}
	s.loc, s.hash = loc, uint32(h>>7)
	g, j := sh.at(loc)
	if c := g.ctrl.Load() >> (8 * j) & 0x7f; c == ctrlTomb {
		sh.tombs--
	}
	sh.t.slotAt[int(loc>>3)*groupSlots+int(j)] = i
	g.ptr[j].Store(e)
	g.setCtrl(j, tagOf(h))
	sh.entries++
	sh.bytes += size
	if e.isDropper() {
		sh.droppers++
	}
}

// freeLoc returns the first free (empty or deleted) place of hash h's probe
// sequence.
func (sh *shard) freeLoc(h uint64) uint32 {
	t := sh.t
	for gi := h >> 7 & t.mask; ; gi = (gi + 1) & t.mask {
		if j, ok := firstFree(t.groups[gi].ctrl.Load() & low7); ok {
			return uint32(gi)<<3 | uint32(j)
		}
	}
}

// newSlot returns a free slot, adding a page if there is none.
func (sh *shard) newSlot() int32 {
	if i := sh.free; i != none {
		sh.free = sh.slot(i).next
		return i
	}
	i := sh.slots
	if int(i>>pageBits) == len(sh.pages) {
		sh.pages = append(sh.pages, new([pageSize]slot))
	}
	sh.slots++
	return i
}

// rehash rebuilds the index without tombstones, for n entries, at a size
// that leaves it between a quarter and half full (twice the size when it
// grows from four fifths full), and renumbers the slots in queue order, so
// that the slot pages hold no free slots. Slot numbers held across a call
// are stale after it.
func (sh *shard) rehash(n int) {
	groups := 1
	for groups*groupSlots < n*2 {
		groups *= 2
	}
	t := newTable(groups)
	pages := make([]*[pageSize]slot, (int(sh.entries)+pageSize-1)>>pageBits)
	hand := int32(none)
	k := int32(0) // the new number of slot i, oldest first
	for i := sh.tail; i != none; i, k = sh.slot(i).prev, k+1 {
		s := sh.slot(i)
		if k&pageMask == 0 {
			pages[k>>pageBits] = new([pageSize]slot)
		}
		ns := &pages[k>>pageBits][k&pageMask]
		ns.hash, ns.prev, ns.next = s.hash, k+1, k-1
		if i == sh.hand {
			hand = k
		}
		og, oj := sh.at(s.loc)
		c := og.ctrl.Load() >> (8 * oj) & 0xff // with the visited bit
		for gi := uint64(s.hash) & t.mask; ; gi = (gi + 1) & t.mask {
			g := &t.groups[gi]
			if j, ok := firstFree(g.ctrl.Load() & low7); ok {
				g.ptr[j].Store(og.ptr[oj].Load())
				g.ctrl.Store(g.ctrl.Load()&^(0xff<<(8*j)) | c<<(8*j))
				ns.loc = uint32(gi)<<3 | uint32(j)
				t.slotAt[int(gi)*groupSlots+int(j)] = k
				break
			}
		}
	}
	if k > 0 {
		pages[(k-1)>>pageBits][(k-1)&pageMask].prev = none
		sh.tail, sh.head = 0, k-1
	}
	sh.pages, sh.slots, sh.free, sh.hand = pages, k, none, hand
	sh.tombs = 0
	sh.publish(t)
}

// unlock releases a writer's lock. First, if the entries fill under a fifth
// of the index, it rebuilds the index and the slots at a size for them, so
// that a shard that held many entries and now holds few does not keep the
// memory of many. Then, if a Dropper panicked under the lock, it panics
// with the same value.
func (sh *shard) unlock() {
	if p := sh.unlockKeep(); p != nil {
		panic(p)
	}
}

// replace puts e, of size size, in place of the entry old at loc. A
// Dropper that e holds again (the same pointer, stored over itself to
// renew its TTL) is not told: the store still holds it.
func (sh *shard) replace(loc uint32, old, e *entry, size int64) {
	g, j := sh.at(loc)
	g.ptr[j].Store(e)
	sh.bytes += size - old.size()
	if old.isDropper() && e.isDropper() && sameValue(old.value(), e.value()) {
		return // one Dropper held, as before
	}
	if e.isDropper() {
		sh.droppers++
	}
	sh.drop(old)
}

// remove deletes slot i's entry from the index and the queue.
func (sh *shard) remove(i int32) {
	s := sh.slot(i)
	g, j := sh.at(s.loc)
	e := g.ptr[j].Load()
	// A group with an empty byte ends every probe sequence that reaches it,
	// so a byte freed there can be empty again rather than deleted.
	if hasEmpty(g.ctrl.Load() & low7) {
		g.setCtrl(j, ctrlEmpty)
	} else {
		g.setCtrl(j, ctrlTomb)
		sh.tombs++
	}
	g.ptr[j].Store(nil)
	if sh.hand == i {
		sh.hand = s.prev
	}
	if s.prev != none {
		sh.slot(s.prev).next = s.next
	} else {
		sh.head = s.next
	}
	if s.next != none {
		sh.slot(s.next).prev = s.prev
	} else {
		sh.tail = s.prev
	}
	s.prev, s.next = none, sh.free
	sh.free = i
	sh.entries--
	sh.bytes -= e.size()
	sh.drop(e)
}

// drop tells e's value, if it is a Dropper, that the shard no longer holds
// it. A panic of Dropped is kept for unlock to raise again once the
// operation is complete and the lock released, so that it cannot leave the
// shard locked or half changed, nor other Droppers untold.
func (sh *shard) drop(e *entry) {
	if e.isDropper() {
		sh.droppers--
		// An entry is marked a Dropper only if its value is one; the
		// checked assertion makes sure that a wrong mark could never
		// panic here, with the lock held.
		if d, ok := e.value().(Dropper); ok {
			sh.tell(d)
		}
	}
}

func (sh *shard) tell(d Dropper) {
	defer func() {
		if r := recover(); r != nil && sh.panicked == nil {
			sh.panicked = r
		}
	}()
	d.Dropped()
}

// unlockKeep releases a writer's lock as unlock does, and returns what a
// Dropper panicked with meanwhile, if any, rather than raise it.
func (sh *shard) unlockKeep() any {
	if len(sh.t.groups) > 1 && sh.entries*5 < int64(len(sh.t.groups)*groupSlots) {
		sh.rehash(int(sh.entries))
	}
	p := sh.panicked
	sh.panicked = nil
	sh.mu.Unlock()
	return p
}

// makeRoom evicts entries until addEntries more entries and addBytes more
// bytes fit within the shard's bounds. It never evicts the entry at loc
// keep (the entry being written, or noLoc). Expired entries the hand meets go first and do
// not count as evictions. It appends the keys of evicted entries to evicted
// when collect is set, and returns it.
func (sh *shard) makeRoom(addEntries, addBytes int64, keep uint32, now func() int64, collect bool, evicted []string) []string {
	var t int64
	haveNow := false
	for sh.entries+addEntries > sh.maxEntries || sh.bytes+addBytes > sh.maxBytes {
		if sh.entries == 0 || sh.entries == 1 && keep != noLoc {
			return evicted // cannot happen: callers check sizes first
		}
		if !haveNow {
			t, haveNow = now(), true
		}
		victim, wasExpired := sh.nextVictim(keep, t)
		if !wasExpired {
			sh.evictions++
			if collect {
				evicted = append(evicted, strings.Clone(sh.entryAt(victim).key()))
			}
		}
		sh.remove(victim)
	}
	return evicted
}

// nextVictim moves the SIEVE hand to the next entry to evict and returns it,
// reporting whether it is an expired entry rather than a cold one.
//
// Readers set visited bits without the lock while the hand clears them: on
// many cores reading every entry of a small shard, they could set each bit
// again before the hand came back to it, and keep the hand going round,
// the lock held and the shard's writers waiting, for as long as they read.
// Two laps clear every bit set when the walk began, so past them the hand
// takes the entry it is at, visited or not.
func (sh *shard) nextVictim(keep uint32, now int64) (victim int32, wasExpired bool) {
	p := sh.hand
	if p == none {
		p = sh.tail
	}
	for steps := 2 * sh.entries; ; steps-- {
		if s := sh.slot(p); s.loc != keep {
			g, j := sh.at(s.loc)
			if expired(g.ptr[j].Load().expireAt, now) {
				sh.hand = p
				return p, true
			}
			if !sh.testAndClearVisited(s.loc) || steps <= 0 {
				sh.hand = p
				return p, false
			}
			if afterClear != nil {
				afterClear()
			}
		}
		if p = sh.slot(p).prev; p == none {
			p = sh.tail
		}
	}
}

// afterClear, set by tests only, runs each time the hand clears a visited
// bit: it stands for the readers that set bits meanwhile.
var afterClear func()

// sweep removes the shard's expired entries. It does not raise what a
// Dropper panicked with: the sweep goroutine has no caller to raise it to,
// and a panic there would end the process (see Dropper).
func (sh *shard) sweep(now int64) {
	sh.mu.Lock()
	defer func() { _ = sh.unlockKeep() }()
	for i := sh.tail; i != none; {
		prev := sh.slot(i).prev
		if expired(sh.entryAt(i).expireAt, now) {
			sh.remove(i)
		}
		i = prev
	}
}
