package argkey_test

import (
	"testing"

	"github.com/go-caching/caching/internal/argkey"
	"github.com/stretchr/testify/require"
)

type dagNode struct{ L, R *dagNode }

// TestSharedPointersBoundKeySize: pointers are followed, and a pointer
// reached twice is encoded twice, so a value of n+1 nodes in which each
// node points twice to the next (shared subtrees, as a hash-consed AST or a
// graph has) encoded to ~2^n values: 20 nodes gave a 16 MB key, 24 a 268 MB
// one (10 s), 30 exhausted memory, as neither the cycle check nor the depth
// bound saw it. Past maxNodes values visited it is an error now.
func TestSharedPointersBoundKeySize(t *testing.T) {
	d := &dagNode{}
	const n = 20
	for range n {
		d = &dagNode{d, d}
	}
	b, err := argkey.Append(nil, d)
	require.ErrorIs(t, err, argkey.ErrUnsupported, "a value of %d nodes encoded to %d bytes", n+1, len(b))
	require.ErrorContains(t, err, "values in all")
	_, err = argkey.AppendOf[any](nil, d)
	require.ErrorIs(t, err, argkey.ErrUnsupported)

	// A shared value within the bound still encodes, as its copies would.
	d = &dagNode{}
	for range 10 {
		d = &dagNode{d, d}
	}
	_, err = argkey.Append(nil, d)
	require.NoError(t, err)
}
