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
	want := `struct{Price int "json:\"price\"";Notes []string "";At =time.Time "";}`
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
	assert.Equal(t, `struct{Value int "";Children []*^3 "";Index map[string]^2 "";}`,
		argkey.Shape(reflect.TypeFor[shapeNode]()))
}
