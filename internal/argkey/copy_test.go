package argkey

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopierOfValuesIsNil: types whose values assignment copies need no
// copier.
func TestCopierOfValuesIsNil(t *testing.T) {
	type point struct {
		X, Y int
		Name string
		At   time.Time
		_    sync.Mutex
	}
	assert.Nil(t, CopierOf[int]())
	assert.Nil(t, CopierOf[string]())
	assert.Nil(t, CopierOf[struct{}]())
	assert.Nil(t, CopierOf[time.Time]())
	assert.Nil(t, CopierOf[[3]string]())
	assert.Nil(t, CopierOf[point]())
	assert.Nil(t, CopierOf[[0]*int]())
}

// TestCopierOfCopiesWhatTheKeyReads: a change to the original after the
// copy (a slice element, a map, a pointed-to struct, a value inside an
// interface) does not reach the copy, and the copy is complete.
func TestCopierOfCopiesWhatTheKeyReads(t *testing.T) {
	type inner struct{ IDs []string }
	type query struct {
		IDs    []string
		Filter map[string][]int
		In     *inner
		Any    any
		Arr    [2][]byte
		Nil    []string
		At     *time.Time
	}
	now := time.Unix(1, 0)
	q := &query{
		IDs:    []string{"alice"},
		Filter: map[string][]int{"age": {30}},
		In:     &inner{IDs: []string{"a"}},
		Any:    []string{"x"},
		Arr:    [2][]byte{[]byte("b")},
		At:     &now,
	}
	c, complete := CopierOf[*query]()(q)
	require.True(t, complete)
	before, err := Append(nil, c)
	require.NoError(t, err)

	q.IDs[0] = "mallory"
	q.Filter["age"][0] = 99
	q.Filter["new"] = nil
	q.In.IDs[0] = "z"
	q.Any.([]string)[0] = "y"
	q.Arr[0][0] = 'c'
	*q.At = time.Unix(2, 0)

	after, err := Append(nil, c)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the copy's key changed with the original")
	assert.Equal(t, []string{"alice"}, c.IDs)
	assert.Nil(t, c.Nil, "a nil slice stays nil")
	assert.Equal(t, map[string][]int{"age": {30}}, c.Filter)
}

// TestCopierOfSharedAndCyclic: pointers the original shares are shared in
// the copy, and a cycle ends.
func TestCopierOfSharedAndCyclic(t *testing.T) {
	type node struct {
		Name string
		Next *node
	}
	a := &node{Name: "a"}
	a.Next = a
	c, complete := CopierOf[*node]()(a)
	require.True(t, complete)
	assert.NotSame(t, a, c)
	assert.Same(t, c, c.Next, "the cycle is kept")

	shared := &node{Name: "s"}
	pair := [2]*node{shared, shared}
	cp, _ := CopierOf[[2]*node]()(pair)
	assert.Same(t, cp[0], cp[1])
	assert.NotSame(t, shared, cp[0])
}

// lockedQuery has state of its own behind unexported fields.
type lockedQuery struct {
	_   sync.Mutex
	ids []string
}

// TestCopierOfOpaqueIsShared: what the copier cannot copy safely (a
// pointer to a struct with unexported fields, an unexported field's
// references) is shared and the copy reported incomplete.
func TestCopierOfOpaqueIsShared(t *testing.T) {
	q := &lockedQuery{ids: []string{"a"}}
	c, complete := CopierOf[*lockedQuery]()(q)
	assert.False(t, complete)
	assert.Same(t, q, c)

	type withHidden struct {
		Name string
		ids  []string
	}
	w := withHidden{Name: "n", ids: []string{"a"}}
	cw, complete := CopierOf[withHidden]()(w)
	assert.False(t, complete)
	assert.Equal(t, w.Name, cw.Name)

	var iface any = q
	_, complete = CopierOf[any]()(iface)
	assert.False(t, complete, "an interface holding an opaque pointer")

	_, complete = CopierOf[map[*int]int]()(map[*int]int{new(int): 1})
	assert.False(t, complete, "map keys are kept")
}
