package compress

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-caching/caching/internal/header"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// acceptEncodingSamples returns Accept-Encoding values that exercise the
// negotiation: every combination of no entry, a refusal and three weights
// for each coding and "*", with and without identity entries, and a few
// spellings of its own.
func acceptEncodingSamples() [][]string {
	names := []string{"zstd", "br", "gzip", "deflate", "*"}
	weights := []string{"", ";q=0", ";q=0.3", ";q=0.7", ""}
	var out [][]string
	var build func(i int, parts []string)
	build = func(i int, parts []string) {
		if i == len(names) {
			for _, id := range []string{"", "identity;q=0", "identity;q=0.5", "identity"} {
				line := parts
				if id != "" {
					line = append(line[:len(line):len(line)], id)
				}
				out = append(out, []string{strings.Join(line, ", ")})
			}
			return
		}
		build(i+1, parts) // not listed
		for _, w := range weights[1:4] {
			build(i+1, append(parts[:len(parts):len(parts)], names[i]+w))
		}
		build(i+1, append(parts[:len(parts):len(parts)], names[i])) // weight 1
	}
	build(0, nil)
	return append(out, []string{"x-gzip"}, []string{"GZIP;Q=0.5", "br;q=0.5"}, []string{"compress, foo"},
		[]string{"gzip;q=0.5000"}, []string{""}, []string{"gzip, deflate, br, zstd"})
}

// TestCanonicalAcceptEncoding: the canonical lines make the same choices
// as the client's, for streamed responses and others; they name only
// codings the client accepts; and clients' many spellings come down to a
// few values.
func TestCanonicalAcceptEncoding(t *testing.T) {
	samples := acceptEncodingSamples()
	for name, opts := range map[string]Options{
		"defaults":       {},
		"lists disagree": {Algorithms: []string{Gzip, Deflate, Brotli}, StreamingAlgorithms: []string{Deflate, Zstd, Gzip}},
		"one coding":     {Algorithms: []string{Gzip}, StreamingAlgorithms: []string{Gzip}},
	} {
		t.Run(name, func(t *testing.T) {
			c := Must(opts)
			seen := map[string]bool{}
			for _, lines := range samples {
				r, _ := http.NewRequest(http.MethodGet, "/", nil)
				r.Header["Accept-Encoding"] = lines
				canon := c.CanonicalAcceptEncoding(r)
				require.Len(t, canon, 1, "%q", lines)
				seen[canon[0]] = true
				a, b := header.ParseAcceptEncoding(lines), header.ParseAcceptEncoding(canon)
				assert.Equal(t, c.cfg.prefs.choose(&a), c.cfg.prefs.choose(&b), "%q → %q", lines, canon)
				assert.Equal(t, c.cfg.streamPrefs.choose(&a), c.cfg.streamPrefs.choose(&b), "%q → %q", lines, canon)
				for e := range header.Elements(canon) {
					coding, _, _ := strings.Cut(e, ";")
					assert.True(t, header.Acceptable(lines, []string{coding}), "%q → %q names %s", lines, canon, coding)
				}
			}
			assert.LessOrEqual(t, len(seen), 25, "%q", seen)
		})
	}
}

func TestCanonicalAcceptEncodingAbsentAndSkipped(t *testing.T) {
	c := Must(Options{Skip: func(r *http.Request) bool { return r.URL.Path == "/raw" }})
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	assert.Nil(t, c.CanonicalAcceptEncoding(r), "no header stays no header")
	r.Header.Set("Accept-Encoding", "gzip;q=0, identity")
	assert.Equal(t, []string{""}, c.CanonicalAcceptEncoding(r), "no coding chosen: an empty header")
	r.Header.Set("Accept-Encoding", "gzip;q=0.9, deflate;q=0.8, br;q=0.1")
	assert.Equal(t, []string{"gzip, deflate;q=0.5"}, c.CanonicalAcceptEncoding(r))
	r.URL.Path = "/raw"
	assert.Equal(t, []string{"gzip;q=0.9, deflate;q=0.8, br;q=0.1"}, c.CanonicalAcceptEncoding(r), "Skip: untouched")
}
