package argkey

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type node struct {
	V    int
	Next *node
}

func list(n int) *node {
	var head *node
	for i := range n {
		head = &node{V: i, Next: head}
	}
	return head
}

// TestDeepValueIsAnError: the encoder recursed once per pointer with no
// limit, so a long enough linked list overflowed the goroutine's stack,
// which kills the process (it cannot be recovered). Past encoding/json's
// nesting limit it is an error now; a long list within it still encodes.
func TestDeepValueIsAnError(t *testing.T) {
	a, err := Append(nil, list(maxDepth/2-1))
	require.NoError(t, err)
	b, err := Append(nil, list(maxDepth/2-1))
	require.NoError(t, err)
	assert.Equal(t, a, b)

	_, err = Append(nil, list(maxDepth/2+1))
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = AppendOf(nil, list(3*maxDepth/2))
	require.ErrorIs(t, err, ErrUnsupported)
}
