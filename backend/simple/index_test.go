package simple

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// These tests drive a shard with hashes of their choosing, so that keys
// collide in one group and overflow into the next, which random hashes do
// too rarely to test.

func newTestShard() *shard {
	sh := &shard{maxEntries: 1 << 20, maxBytes: 1 << 40}
	sh.reset()
	return sh
}

func (sh *shard) testPut(key string, h uint64) {
	e := newBytesEntry(key, []byte(key), 0)
	size := e.size()
	if loc, old := sh.lookup(key, h); old != nil {
		sh.replace(loc, old, e, size)
	} else {
		sh.insert(e, h, loc, size)
	}
}

// testDelete deletes key as Delete does, shrinking the shard if it is
// sparse.
func (sh *shard) testDelete(key string, h uint64) bool {
	sh.mu.Lock()
	defer sh.unlock()
	loc, e := sh.lookup(key, h)
	if e != nil {
		sh.remove(sh.slotAt(loc))
	}
	return e != nil
}

// check verifies the shard against live, the keys it must hold and their
// hashes: every key found by a reader with its value, nothing else, and the
// index, the slots and the queue consistent with each other.
func (sh *shard) check(t *testing.T, live map[string]uint64) {
	t.Helper()
	tab := sh.tab.Load()
	if tab != sh.t {
		t.Fatal("the readers' table is not the writers'")
	}
	for k, h := range live {
		if _, _, _, e := tab.find(k, h); e == nil || string(e.bytes()) != k {
			t.Fatalf("reader lost %q (hash %#x)", k, h)
		}
	}
	if sh.entries != int64(len(live)) {
		t.Fatalf("entries = %d, want %d", sh.entries, len(live))
	}
	occupied, tombs := 0, 0
	for gi := range tab.groups {
		g := &tab.groups[gi]
		c := g.ctrl.Load()
		if c>>56 != ctrlTomb {
			t.Fatalf("group %d: byte 7 is %#x", gi, c>>56)
		}
		for j := range groupSlots {
			switch b := c >> (8 * j) & 0x7f; {
			case b == ctrlEmpty || b == ctrlTomb:
				if b == ctrlTomb {
					tombs++
				}
				if g.ptr[j].Load() != nil {
					t.Fatalf("group %d byte %d: free with an entry", gi, j)
				}
			default:
				occupied++
				e := g.ptr[j].Load()
				if e == nil {
					t.Fatalf("group %d byte %d: tag %#x without an entry", gi, j, b)
				}
				i := tab.slotAt[gi*groupSlots+j]
				if s := sh.slot(i); s.loc != uint32(gi)<<3|uint32(j) {
					t.Fatalf("slot %d of %q at loc %#x, index says %d/%d", i, e.key(), s.loc, gi, j)
				}
				if _, ok := live[e.key()]; !ok {
					t.Fatalf("index holds %q, which is not live", e.key())
				}
			}
		}
	}
	if occupied != len(live) || tombs != sh.tombs {
		t.Fatalf("index: %d occupied, %d tombstones; want %d and %d", occupied, tombs, len(live), sh.tombs)
	}
	if (occupied+tombs)*5 > len(tab.groups)*groupSlots*4 {
		t.Fatalf("index over four fifths full: %d of %d", occupied+tombs, len(tab.groups)*groupSlots)
	}
	n, handFound := 0, sh.hand == none
	for i, prev := sh.head, int32(none); i != none; prev, i = i, sh.slot(i).next {
		handFound = handFound || i == sh.hand
		if sh.slot(i).prev != prev {
			t.Fatalf("queue: slot %d's prev is %d, want %d", i, sh.slot(i).prev, prev)
		}
		if n++; n > len(live) {
			t.Fatal("queue longer than the entries")
		}
	}
	if n != len(live) {
		t.Fatalf("queue has %d entries, want %d", n, len(live))
	}
	if !handFound {
		t.Fatalf("the hand (%d) is not in the queue", sh.hand)
	}
	if sh.slots > int32(len(sh.pages))*pageSize || len(sh.pages) > int(sh.slots+pageSize-1)/pageSize {
		t.Fatalf("%d slots in %d pages", sh.slots, len(sh.pages))
	}
}

// groupHash returns a hash whose first group is 0 and whose tag is tag.
func groupHash(tag int) uint64 { return uint64(2 + tag%126) }

func TestIndexOverflowAndTombstones(t *testing.T) {
	sh := newTestShard()
	live := map[string]uint64{}
	// 30 keys whose probe sequences all start at group 0: it fills, and
	// the later keys overflow into the groups after it.
	for i := range 30 {
		k := "k" + strconv.Itoa(i)
		live[k] = groupHash(i)
		sh.testPut(k, live[k])
		sh.check(t, live)
	}
	if got := sh.t.groups[0].ctrl.Load() & low7; hasEmpty(got) {
		t.Fatalf("group 0 has an empty byte: %#x", got)
	}
	// A key deleted from the full group 0 leaves a tombstone: the keys
	// beyond it stay reachable.
	before := sh.tombs
	sh.testDelete("k3", live["k3"])
	delete(live, "k3")
	sh.check(t, live)
	if sh.tombs != before+1 {
		t.Fatalf("deleting from a full group made %d tombstones, want 1", sh.tombs-before)
	}
	// A new key of the same sequence takes the first free place.
	live["new"] = groupHash(99)
	sh.testPut("new", live["new"])
	sh.check(t, live)
	if sh.tombs != before {
		t.Fatal("the insert did not reuse the tombstone")
	}
	// Deleting from the last group, which has an empty byte, leaves it empty.
	last := "k29"
	sh.testDelete(last, live[last])
	delete(live, last)
	sh.check(t, live)
	if sh.tombs != before {
		t.Fatal("deleting from a group with an empty byte made a tombstone")
	}
	// Overwrites keep the slot.
	for k, h := range live {
		sh.testPut(k, h)
	}
	sh.check(t, live)
}

// TestIndexModel runs random operations over few groups' worth of hashes
// against a map, checking every invariant after each.
func TestIndexModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sh := newTestShard()
	live := map[string]uint64{}
	prevGroups, shrunk := 0, false
	hashOf := func(k int) uint64 {
		// 64 keys per starting group, so that groups fill and overflow.
		return uint64(k/64)<<7 | uint64(2+k%126)
	}
	for n := range 20_000 {
		// Phases of many and few keys, so that the index grows and shrinks.
		k := r.IntN(600)
		if n/2000%2 == 1 && r.IntN(3) != 0 {
			k = r.IntN(20)
		}
		key := "k" + strconv.Itoa(k)
		h := hashOf(k)
		if g := len(sh.t.groups); g < prevGroups {
			shrunk = true
		} else {
			prevGroups = g
		}
		if r.IntN(50) == 0 && len(live) > 1 {
			// Move the hand: evict one entry as makeRoom does.
			victim, _ := sh.nextVictim(noLoc, 0)
			e := sh.entryAt(victim)
			delete(live, e.key())
			sh.remove(victim)
		} else if r.IntN(3) == 0 || n/2000%2 == 1 && k >= 20 {
			_, want := live[key]
			if got := sh.testDelete(key, h); got != want {
				t.Fatalf("op %d: delete %q found %v, want %v", n, key, got, want)
			}
			delete(live, key)
		} else {
			sh.testPut(key, h)
			live[key] = h
			if r.IntN(2) == 0 {
				loc, _ := sh.lookup(key, h)
				sh.visit(loc, true)
			}
		}
		if n%50 == 0 || n > 19_000 {
			sh.check(t, live)
		}
	}
	sh.check(t, live)
	if !shrunk {
		t.Error("the index never shrank")
	}
}
