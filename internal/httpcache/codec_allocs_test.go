package httpcache

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeAllocationsDoNotDependOnTheBody: the Content-Length check spelt
// the body's length with strconv.Itoa, which allocates for lengths of 100
// and more: every remote hit of a real page paid one allocation more than
// the benchmarks of tiny bodies showed. Decoding a 2 KiB snapshot costs
// what decoding a 10-byte one does.
func TestDecodeAllocationsDoNotDependOnTheBody(t *testing.T) {
	allocs := func(body string) float64 {
		s := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/plain"}}, []byte(body), time.Unix(1e9, 0))
		data := s.Encode(nil)
		_, err := Decode(data)
		require.NoError(t, err)
		return testing.AllocsPerRun(100, func() { _, _ = Decode(data) })
	}
	assert.Equal(t, allocs("0123456789"), allocs(strings.Repeat("x", 2048)))
}
