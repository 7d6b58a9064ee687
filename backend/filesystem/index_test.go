package filesystem

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIndexRestoreKeepsUseOrder: victims an eviction could not remove go
// back as the least recently used, in their order, and come out first
// again; one written again meanwhile is not put back.
func TestIndexRestoreKeepsUseOrder(t *testing.T) {
	x := newIndex(2, -1)
	h := func(b byte) [32]byte { return [32]byte{b} }
	for b := range byte(4) {
		x.put(h(b), 10, 1)
	}
	// 0 and 1 were evicted at the third and fourth puts.
	x.restore([]victim{{hash: h(0), size: 10}, {hash: h(1), size: 10}})
	n, bytes := x.stats()
	assert.EqualValues(t, 4, n)
	assert.EqualValues(t, 40, bytes)
	assert.Equal(t, []victim{{hash: h(0), size: 10}, {hash: h(1), size: 10}}, x.trim(), "least recently used first")

	assert.Equal(t, []victim{{hash: h(2), size: 10}}, x.put(h(4), 10, 1))
	assert.Equal(t, []victim{{hash: h(3), size: 10}}, x.put(h(2), 20, 1), "2 written again before its eviction")
	x.restore([]victim{{hash: h(2), size: 10}, {hash: h(3), size: 10}})
	n, bytes = x.stats()
	assert.EqualValues(t, 3, n)
	assert.EqualValues(t, 40, bytes, "2 kept its new size")
	assert.Equal(t, []victim{{hash: h(3), size: 10}}, x.trim())
}

// TestIndexLearnPlacesByTime: files found on disk go among the known
// entries by their modification time, not first in line for eviction;
// known ones are left where they are.
func TestIndexLearnPlacesByTime(t *testing.T) {
	x := newIndex(-1, -1)
	h := func(b byte) [32]byte { return [32]byte{b} }
	for _, b := range []byte{10, 20, 30} { // used at 10, 20, 30
		x.put(h(b), 1, int64(b))
	}
	assert.Empty(t, x.learn([]found{{h(25), 1, 25}, {h(5), 1, 5}, {h(20), 7, 99}, {h(40), 1, 40}}))
	n, bytes := x.stats()
	assert.EqualValues(t, 6, n)
	assert.EqualValues(t, 6, bytes, "20 kept its size")
	assert.Equal(t, []victim{{hash: h(5), size: 1}, {hash: h(10), size: 1}, {hash: h(20), size: 1}, {hash: h(25), size: 1}, {hash: h(30), size: 1}, {hash: h(40), size: 1}}, x.trimTo(0),
		"least recently used first; 20 kept its place")

	// Over a bound, learn sheds as put does.
	x = newIndex(2, -1)
	x.put(h(10), 1, 10)
	x.put(h(30), 1, 30)
	assert.Equal(t, []victim{{hash: h(10), size: 1}}, x.learn([]found{{h(20), 1, 20}}))
}

// trimTo lowers the entry bound to n and returns the entries dropped.
func (x *index) trimTo(n int) []victim {
	x.mu.Lock()
	x.maxEntries = n
	x.mu.Unlock()
	return x.trim()
}

// TestIndexRestoreRefusesAfterARemoval: a victim whose stripe had a removal
// since it was dropped (a Delete or Clear of the key, which found it out of
// the index) is not put back but returned, for its file to be looked at;
// a victim of another stripe goes back.
func TestIndexRestoreRefusesAfterARemoval(t *testing.T) {
	x := newIndex(1, -1)
	a, b := [32]byte{1, 1}, [32]byte{2}
	x.put(a, 10, 1)
	victims := x.put(b, 10, 2)
	assert.Equal(t, []victim{{hash: a, size: 10}}, victims)
	x.remove(a) // a Delete of a, while the eviction holds it
	assert.Equal(t, victims, x.restore(victims), "returned: a removal in its stripe came since")
	assert.False(t, x.has(a))

	x.remove([32]byte{1, 2}) // another key of a's stripe
	victims = x.put([32]byte{3}, 10, 3)
	assert.Equal(t, []victim{{hash: b, size: 10}}, victims)
	assert.Empty(t, x.restore(victims), "no removal in b's stripe")
	assert.True(t, x.has(b))
}

// TestIndexRemoveStripe: removeStripe drops the keys of one stripe and
// keeps the others, with their bytes, and a victim of that stripe dropped
// before it does not come back.
func TestIndexRemoveStripe(t *testing.T) {
	x := newIndex(3, -1)
	var victims []victim
	for _, h := range [][32]byte{{1, 1}, {1, 2}, {2, 1}, {1, 3}} {
		victims = append(victims, x.put(h, 10, 1)...)
	}
	x.removeStripe(1)
	n, bytes := x.stats()
	assert.EqualValues(t, 1, n)
	assert.EqualValues(t, 10, bytes)
	assert.True(t, x.has([32]byte{2, 1}))
	assert.Empty(t, x.trim())
	assert.Equal(t, []victim{{hash: [32]byte{1, 1}, size: 10}}, victims)
	assert.Equal(t, victims, x.restore(victims))
	n, _ = x.stats()
	assert.EqualValues(t, 1, n)
}
