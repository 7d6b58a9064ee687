package filesystem

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPutBackUnderRemovalsKeepsTheVictimIndexed: an eviction skipped a
// victim, whose file is still there, and removals of other keys of its
// stripe (Deletes, evictions) come in between each of putBack's looks at
// the file and its put-back. The victim goes back into the index all the
// same. putBack used to give up after three tries, the victim's file left
// on disk out of the index, never bounded again with SweepInterval -1 and
// no read of its key.
func TestPutBackUnderRemovalsKeepsTheVictimIndexed(t *testing.T) {
	s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
	ctx := context.Background()
	keys := keysInSub(0x42, 2, "pb")
	require.NoError(t, s.Set(ctx, keys[0], []byte("v"), 0))
	e := s.entry(keys[0])
	// The index dropped it as a victim, as shed does.
	s.idx.mu.Lock()
	n, ok := s.idx.get(e.hash)
	require.True(t, ok)
	s.idx.drop(n)
	v := victim{hash: e.hash, size: n.size, gen: s.idx.gen[e.hash[0]]}
	s.idx.mu.Unlock()
	// A Delete of another key of the stripe before the eviction is done,
	// and another between each look and put-back.
	other := s.entry(keys[1]).hash
	s.idx.remove(other)
	putBackHook = func() { s.idx.remove(other) }
	defer func() { putBackHook = nil }()

	s.putBack([]victim{v})
	_, err := os.Lstat(e.path)
	require.NoError(t, err)
	require.True(t, s.idx.has(e.hash), "the victim's file is on disk and out of the index")
}

// TestPutBackLastKeepsTheVictimsOrder: victims that removals kept out on
// every try go back in their order, the least recently used last in the
// list, to be evicted first, as restore puts them. putBack handed them to
// putBackLast one by one in their order, each pushed to the back: the most
// recently used of them ended last, evicted first.
func TestPutBackLastKeepsTheVictimsOrder(t *testing.T) {
	s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
	ctx := context.Background()
	keys := keysInSub(0x42, 4, "pbo")
	var victims []victim
	for _, k := range keys[:3] {
		require.NoError(t, s.Set(ctx, k, []byte("v"), 0))
	}
	s.idx.mu.Lock()
	for _, k := range keys[:3] { // least recently used first, as shed returns them
		n, ok := s.idx.get(s.entry(k).hash)
		require.True(t, ok)
		s.idx.drop(n)
		victims = append(victims, victim{hash: n.hash, size: n.size, gen: s.idx.gen[n.hash[0]]})
	}
	s.idx.mu.Unlock()
	other := s.entry(keys[3]).hash
	s.idx.remove(other)
	putBackHook = func() { s.idx.remove(other) }
	defer func() { putBackHook = nil }()

	s.putBack(victims)
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	var fromBack [][32]byte
	for n := s.idx.tail; n != nil; n = n.prev {
		fromBack = append(fromBack, n.hash)
	}
	require.Equal(t, [][32]byte{victims[0].hash, victims[1].hash, victims[2].hash}, fromBack,
		"the victims, from the back of the list: the least recently used is evicted first")
}
