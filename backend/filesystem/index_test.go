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
		x.put(h(b), 10, false)
	}
	// 0 and 1 were evicted at the third and fourth puts.
	x.restore([]victim{{h(0), 10}, {h(1), 10}})
	n, bytes := x.stats()
	assert.EqualValues(t, 4, n)
	assert.EqualValues(t, 40, bytes)
	assert.Equal(t, []victim{{h(0), 10}, {h(1), 10}}, x.trim(), "least recently used first")

	assert.Equal(t, []victim{{h(2), 10}}, x.put(h(4), 10, false))
	assert.Equal(t, []victim{{h(3), 10}}, x.put(h(2), 20, false), "2 written again before its eviction")
	x.restore([]victim{{h(2), 10}, {h(3), 10}})
	n, bytes = x.stats()
	assert.EqualValues(t, 3, n)
	assert.EqualValues(t, 40, bytes, "2 kept its new size")
	assert.Equal(t, []victim{{h(3), 10}}, x.trim())
}
