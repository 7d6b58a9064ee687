package compress

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The grammar and the choice are internal/header's, tested there; these
// check that the Compressor applies them with its preference lists.
func TestNegotiate(t *testing.T) {
	c := Must(Options{})
	only := Must(Options{Algorithms: []string{Gzip, Deflate}})
	for _, tc := range []struct {
		name  string
		c     *Compressor
		lines []string // nil: no header
		want  string
	}{
		{"no header", c, nil, ""},
		{"server preference breaks ties", c, []string{"gzip, deflate, br, zstd"}, Zstd},
		{"browser", c, []string{"gzip, deflate, br"}, Brotli},
		{"weights", c, []string{"zstd;q=0.5, gzip;q=0.8"}, Gzip},
		{"four decimals are malformed", c, []string{"gzip;q=0.5000"}, ""},
		{"other parameter then refusal", c, []string{"gzip;foo=1, gzip;q=0"}, ""},
		{"Algorithms limit the choice", only, []string{"zstd, br, deflate;q=0.1"}, Deflate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			if tc.lines != nil {
				r.Header["Accept-Encoding"] = tc.lines
			}
			assert.Equal(t, tc.want, tc.c.Negotiate(r))
		})
	}
}

func TestNegotiateDoesNotAllocate(t *testing.T) {
	c := Must(Options{})
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Encoding", "gzip;q=0.8, deflate, br;q=0.9, zstd;q=0.95")
	var got string
	allocs := testing.AllocsPerRun(100, func() { got = c.Negotiate(r) })
	assert.Zero(t, allocs)
	assert.Equal(t, Deflate, got)
}
