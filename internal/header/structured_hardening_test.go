package header

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestParseDictionaryManyLinesLinear: an origin that sends a targeted field
// (CDN-Cache-Control) as thousands of lines must not make the cache copy the
// joined value once per line: the work and the garbage of a parse grow with
// the size of the field, not its square.
func TestParseDictionaryManyLinesLinear(t *testing.T) {
	const n = 20000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "a"
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	count := 0
	ok := ParseDictionary(lines, func(Member) { count++ })
	runtime.ReadMemStats(&after)
	assert.True(t, ok)
	assert.Equal(t, n, count)
	// The joined value is 3n bytes; joining line by line allocates ~1.5n² (600 MB).
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated to parse %d lines", n)
}
