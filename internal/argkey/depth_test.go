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

type expr interface{}

type not struct{ X expr }

type arrayNest struct{ A [1]any }

// TestDeepInterfaceValueIsAnError: only pointers, maps and slices counted
// against maxDepth, so structs nested by value through interfaces (an
// expression tree a parser builds) or arrays recursed without a bound: a
// million levels overflowed the stack, which kills the process. Every level
// counts now. (Just past the bound the old encoder did not crash, so this
// test fails on it rather than taking the test binary down.)
func TestDeepInterfaceValueIsAnError(t *testing.T) {
	nest := func(levels int, wrap func(expr) expr) expr {
		var e expr = "x"
		for range levels {
			e = wrap(e)
		}
		return e
	}
	for name, wrap := range map[string]func(expr) expr{
		"struct":       func(e expr) expr { return not{e} },
		"struct-array": func(e expr) expr { return arrayNest{[1]any{e}} },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := AppendOf[any](nil, nest(maxDepth/4, wrap))
			require.NoError(t, err)
			_, err = AppendOf[any](nil, nest(maxDepth, wrap))
			require.ErrorIs(t, err, ErrUnsupported)
			require.ErrorContains(t, err, "nested deeper than")
			_, err = Append(nil, nest(maxDepth, wrap))
			require.ErrorIs(t, err, ErrUnsupported)
		})
	}
}
