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

// TestCopierOfOpaqueIsShared: what the encoder does not read field by
// field (a pointer to a struct with unexported fields, keyed by a method or
// not encodable) is shared and the copy reported incomplete.
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

// keyedState chooses its own key: the encoder never reads Items.
type keyedState struct {
	ID    string
	Items map[string]int
}

func (k keyedState) CacheKey() string { return k.ID }

// TestCopierOfReadsWhatTheEncoderReads: a value of a type keyed by a
// method, at the top or nested, is not walked (the encoder reads only its
// method's result): its references, and a pointer to it, are shared and
// the copy reported incomplete.
func TestCopierOfReadsWhatTheEncoderReads(t *testing.T) {
	k := keyedState{ID: "a", Items: map[string]int{"x": 1}}
	c, complete := CopierOf[keyedState]()(k)
	assert.False(t, complete)
	k.Items["y"] = 2
	assert.Len(t, c.Items, 2, "the map is shared, not copied")

	type outer struct {
		Names []string
		Key   *keyedState
		In    any
	}
	o := outer{Names: []string{"n"}, Key: &k, In: k}
	co, complete := CopierOf[outer]()(o)
	assert.False(t, complete)
	assert.Same(t, o.Key, co.Key, "a pointer to a method-keyed value is shared")
	o.Names[0] = "m"
	assert.Equal(t, []string{"n"}, co.Names, "what the encoder reads is copied")
}

// TestCopierOfSharedSlicesIsLinear: a slice held twice (a DAG of slices,
// or a slice that holds itself) is copied once and shared in the copy as
// in the original: the copy enters no value twice.
func TestCopierOfSharedSlicesIsLinear(t *testing.T) {
	s := make([]any, 2)
	s[0], s[1] = s, s
	c, complete := CopierOf[any]()(s)
	require.True(t, complete)
	cs := c.([]any)
	assert.NotSame(t, &s[0], &cs[0])
	assert.Same(t, &cs[0], &cs[0].([]any)[0], "the cycle is kept")

	// A DAG 64 levels deep: 2^64 paths, 64 slices.
	var dag any = []int{1}
	for range 64 {
		dag = []any{dag, dag}
	}
	c, complete = CopierOf[any]()(dag)
	require.True(t, complete)
	top := c.([]any)
	assert.Same(t, &top[0].([]any)[0], &top[1].([]any)[0], "a shared slice is shared in the copy")

	type pair struct{ A, B []string }
	p := pair{A: []string{"x"}}
	p.B = p.A
	cp, _ := CopierOf[pair]()(p)
	assert.Same(t, &cp.A[0], &cp.B[0])
	assert.NotSame(t, &p.A[0], &cp.A[0])
}

// TestCopierOfNodeCap: past as many levels in all as the encoder enters,
// the copy shares the rest and reports incomplete.
func TestCopierOfNodeCap(t *testing.T) {
	defer func(n int) { copyNodes = n }(copyNodes)
	copyNodes = 100
	big := make([][]string, copyNodes+10)
	for i := range big {
		big[i] = []string{"x"}
	}
	c, complete := CopierOf[[][]string]()(big)
	assert.False(t, complete)
	assert.Same(t, &big[len(big)-1][0], &c[len(c)-1][0], "shared past the cap")
	assert.NotSame(t, &big[0][0], &c[0][0])
}
