package argkey

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type Tenant struct{ ID string }

func (t Tenant) CacheKey() string { return "Tenant:" + t.ID }

type PtrTenant struct{ ID string }

func (t *PtrTenant) CacheKey() string { return "Tenant:" + t.ID }

// pageOf embeds a Keyer: by Go's rules it has CacheKey too, which sees the
// Tenant alone.
type pageOf struct {
	Tenant
	Page int
}

type ptrPageOf struct {
	PtrTenant
	Page int
}

// ownKey embeds a Keyer and declares its own.
type ownKey struct {
	Tenant
	Page int
}

func (o ownKey) CacheKey() string { return fmt.Sprint(o.ID, "/", o.Page) }

// hiddenPage embeds a Keyer and has an unexported field.
type hiddenPage struct {
	Tenant
	page int
}

type genericOwn[T any] struct{ V T }

func (g genericOwn[T]) CacheKey() string { return "g" }

func key(t *testing.T, v any) string {
	t.Helper()
	b, err := Append(nil, v)
	require.NoError(t, err)
	return string(b)
}

// TestPromotedCacheKeyIsNotTheStructs: a struct that embeds a type with
// CacheKey inherits the method, and was keyed by it alone: page 1 and page
// 2 of one Tenant shared a key, so a memoized function returned page 1 for
// page 2. An inherited CacheKey is now ignored (the struct is encoded field
// by field); a declared one is used.
func TestPromotedCacheKeyIsNotTheStructs(t *testing.T) {
	a, b := pageOf{Tenant{"acme"}, 1}, pageOf{Tenant{"acme"}, 2}
	assert.NotEqual(t, key(t, a), key(t, b), "value receiver")
	assert.Equal(t, key(t, a), key(t, pageOf{Tenant{"acme"}, 1}))
	assert.NotEqual(t, key(t, a), key(t, pageOf{Tenant{"other"}, 1}), "the Tenant is still in the key")

	pa, pb := ptrPageOf{PtrTenant{"acme"}, 1}, ptrPageOf{PtrTenant{"acme"}, 2}
	assert.NotEqual(t, key(t, pa), key(t, pb), "pointer receiver")

	// A CacheKey the struct declares is its key.
	assert.Equal(t, key(t, ownKey{Tenant{"acme"}, 1}), key(t, ownKey{Tenant{"acme"}, 1}))
	assert.Contains(t, key(t, ownKey{Tenant{"acme"}, 7}), "acme/7")
	assert.Contains(t, key(t, genericOwn[int]{1}), "g", "a generic type's declared method")

	// Unexported fields the encoder cannot read: an inherited CacheKey
	// does not stand in for them.
	_, err := Append(nil, hiddenPage{Tenant{"acme"}, 1})
	require.ErrorIs(t, err, ErrUnsupported)
}
