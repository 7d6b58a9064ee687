package simple

import "testing"

// TestDropOfAnEntryMarkedDropperWrongly removes an entry whose vlen has the
// Dropper mark but whose value is no Dropper, as a size reaching that bit
// once made it: the removal must not panic, which would leave the shard's
// lock held, and must keep the counts right.
func TestDropOfAnEntryMarkedDropperWrongly(t *testing.T) {
	sh := newTestShard()
	e := newValueEntry("k", new(int), 8, 0)
	e.vlen |= dropperBit
	sh.mu.Lock()
	loc, _ := sh.lookup("k", 42)
	sh.insert(e, 42, loc, e.size())
	loc, found := sh.lookup("k", 42)
	if found != e {
		t.Fatal("the entry was not stored")
	}
	sh.remove(sh.slotAt(loc))
	sh.unlock()
	if sh.entries != 0 || sh.bytes != 0 || sh.droppers != 0 {
		t.Fatalf("entries, bytes, droppers = %d, %d, %d; want 0, 0, 0", sh.entries, sh.bytes, sh.droppers)
	}
}
