package caching

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCanonicalQueryFastPath: the shortcut agrees with CanonicalQuery.
func TestCanonicalQueryFastPath(t *testing.T) {
	for _, q := range []string{"a=1", "a=1&b=2", "a=1&a=2", "a=2&a=1", "b=1&a=1", "a=1&a=1", "a", "a=", "=1", "a=1&", "&a=1",
		"a=%20", "a=b+c", "a.b=1&a_c=2", "A=1&a=1", "a=1&b", "x=~-._"} {
		if isCanonicalQuery(q) {
			assert.Equal(t, CanonicalQuery(q, QueryKeyOptions{}), q, q)
		}
	}
	assert.True(t, isCanonicalQuery("page=1&sort=asc"))
	assert.False(t, isCanonicalQuery("sort=asc&page=1"))
}

func FuzzCanonicalQueryFastPath(f *testing.F) {
	f.Add("a=1&b=2")
	f.Add("b=1&a=2")
	f.Fuzz(func(t *testing.T, q string) {
		if isCanonicalQuery(q) {
			require.Equal(t, CanonicalQuery(q, QueryKeyOptions{}), q)
		}
	})
}
