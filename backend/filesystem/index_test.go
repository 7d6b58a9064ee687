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
	x.restore([]victim{{h(0), 10}, {h(1), 10}})
	n, bytes := x.stats()
	assert.EqualValues(t, 4, n)
	assert.EqualValues(t, 40, bytes)
	assert.Equal(t, []victim{{h(0), 10}, {h(1), 10}}, x.trim(), "least recently used first")

	assert.Equal(t, []victim{{h(2), 10}}, x.put(h(4), 10, 1))
	assert.Equal(t, []victim{{h(3), 10}}, x.put(h(2), 20, 1), "2 written again before its eviction")
	x.restore([]victim{{h(2), 10}, {h(3), 10}})
	n, bytes = x.stats()
	assert.EqualValues(t, 3, n)
	assert.EqualValues(t, 40, bytes, "2 kept its new size")
	assert.Equal(t, []victim{{h(3), 10}}, x.trim())
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
	assert.Equal(t, []victim{{h(5), 1}, {h(10), 1}, {h(20), 1}, {h(25), 1}, {h(30), 1}, {h(40), 1}}, x.trimTo(0),
		"least recently used first; 20 kept its place")

	// Over a bound, learn sheds as put does.
	x = newIndex(2, -1)
	x.put(h(10), 1, 10)
	x.put(h(30), 1, 30)
	assert.Equal(t, []victim{{h(10), 1}}, x.learn([]found{{h(20), 1, 20}}))
}

// trimTo lowers the entry bound to n and returns the entries dropped.
func (x *index) trimTo(n int) []victim {
	x.mu.Lock()
	x.maxEntries = n
	x.mu.Unlock()
	return x.trim()
}
