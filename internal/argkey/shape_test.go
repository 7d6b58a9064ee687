package argkey_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/argkey"
)

type shapeNode struct {
	Value    int
	Children []*shapeNode
	Index    map[string]shapeNode
}

type shapeCents int

// TestShapeIsTheStructure: Shape spells a type's exported structure, and
// nothing else: names of types, their packages and unexported fields do not
// count, so that every process and every build of the same source (and a
// release that only renames a type) agrees.
func TestShapeIsTheStructure(t *testing.T) {
	type price struct {
		Price  int `json:"price"`
		Notes  []string
		At     time.Time
		hidden string
	}
	type renamed struct {
		Price shapeCents `json:"price"`
		Notes []string
		At    time.Time
		other int
	}
	_, _ = price{}.hidden, renamed{}.other
	want := `#0struct{Price int "json:\"price\"";Notes []string "";At =time.Time "";}`
	assert.Equal(t, want, argkey.Shape(reflect.TypeFor[price]()), "the shape is stable across releases")
	assert.Equal(t, want, argkey.Shape(reflect.TypeFor[renamed]()))

	for _, other := range []any{
		struct {
			PriceCents int `json:"price"`
		}{},
		struct{ Price int }{},
		struct {
			Price string `json:"price"`
		}{},
		struct {
			Price *int `json:"price"`
		}{},
	} {
		assert.NotEqual(t, argkey.Shape(reflect.TypeFor[struct {
			Price int `json:"price"`
		}]()), argkey.Shape(reflect.TypeOf(other)), "%T", other)
	}
	assert.Equal(t, "map[string][]any", argkey.Shape(reflect.TypeFor[map[string][]any]()))
	assert.Equal(t, "[3]float64", argkey.Shape(reflect.TypeFor[[3]float64]()))
}

// TestShapeOfARecursiveType: a type within itself is spelled by reference,
// and the walk ends.
func TestShapeOfARecursiveType(t *testing.T) {
	assert.Equal(t, `#0struct{Value int "";Children []*@0 "";Index map[string]@0 "";}`,
		argkey.Shape(reflect.TypeFor[shapeNode]()))
	assert.Equal(t, `#0map[string]@0`, argkey.Shape(reflect.TypeFor[shapeTree]()))
}

type shapeTree map[string]shapeTree

// A family of types that refer to one another, as models with
// associations both ways do: each of the nine is written once, where
// spelling each wherever it appears grew with the number of paths through
// them (9 types of 8 pointers: 10 MB, 12 types: gigabytes, at Memoize).
type (
	shapeA struct{ B, C, D, E, F, G, H, I *shapeB }
	shapeB struct{ A, C, D, E, F, G, H, I *shapeC }
	shapeC struct{ A, B, D, E, F, G, H, I *shapeD }
	shapeD struct{ A, B, C, E, F, G, H, I *shapeE }
	shapeE struct{ A, B, C, D, F, G, H, I *shapeF }
	shapeF struct{ A, B, C, D, E, G, H, I *shapeG }
	shapeG struct{ A, B, C, D, E, F, H, I *shapeH }
	shapeH struct{ A, B, C, D, E, F, G, I *shapeI }
	shapeI struct {
		A *shapeA
		B *shapeB
		C *shapeC
		D *shapeD
		E *shapeE
		F *shapeF
		G *shapeG
		H *shapeH
	}
)

// TestShapeOfAFamilyOfTypesIsSmall: Shape's length is linear in the
// family's declarations.
func TestShapeOfAFamilyOfTypesIsSmall(t *testing.T) {
	s := argkey.Shape(reflect.TypeFor[shapeA]())
	assert.Less(t, len(s), 2000, "Shape of a 9-type family: %d bytes", len(s))
	assert.Equal(t, s, argkey.Shape(reflect.TypeFor[shapeA]()), "the same every time")
}
