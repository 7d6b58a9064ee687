package simple

import (
	"strconv"
	"testing"
)

// TestEvictionWithEveryEntryReadAgain: the SIEVE hand, which evicts the
// first entry whose visited bit it finds clear, went round for as long as
// readers (which take no lock) set every bit again before it came back:
// the write that made room held the shard's lock all that time, and every
// other write to the shard waited. Past two laps it evicts the entry it is
// at.
func TestEvictionWithEveryEntryReadAgain(t *testing.T) {
	const n = 4
	sh := newTestShard()
	sh.maxEntries = n
	hashes := map[string]uint64{}
	for i := range n {
		k := strconv.Itoa(i)
		hashes[k] = uint64(i+1) << 20
		sh.testPut(k, hashes[k])
	}
	readAll := func() {
		for k, h := range hashes {
			gi, j, ctrl, e := sh.t.find(k, h)
			if e != nil {
				sh.t.groups[gi].markVisited(j, ctrl)
			}
		}
	}
	readAll()
	clears, limit := 0, 1000
	afterClear = func() {
		if clears++; clears < limit {
			readAll() // the readers, faster than the hand
		}
	}
	defer func() { afterClear = nil }()

	sh.mu.Lock()
	sh.makeRoom(1, 0, noLoc, func() int64 { return 1 }, false, nil)
	sh.unlock()
	if clears >= limit {
		t.Fatalf("the hand cleared %d visited bits to evict one of %d entries", clears, n)
	}
	if sh.entries != n-1 || sh.evictions != 1 {
		t.Fatalf("entries %d, evictions %d; want %d and 1", sh.entries, sh.evictions, n-1)
	}
}
