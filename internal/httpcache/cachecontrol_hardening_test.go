package httpcache

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestParseCacheControlDuplicateMaxStale: a request with max-stale given
// both with and without a value accepts only the staleness the value
// allows, in either order: the most restrictive reading wins, as for every
// other repeated directive.
func TestParseCacheControlDuplicateMaxStale(t *testing.T) {
	for _, lines := range [][]string{
		{"max-stale, max-stale=5"},
		{"max-stale=5, max-stale"},
		{"max-stale", "max-stale=5"},
		{"max-stale=5", "MAX-STALE"},
	} {
		cc := ParseCacheControl(lines)
		assert.False(t, cc.MaxStaleAny, "%q", lines)
		assert.Equal(t, Delta{Seconds: 5, Valid: true}, cc.MaxStale, "%q", lines)
	}
}
