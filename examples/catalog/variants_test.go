package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// distinctAcceptEncodings returns n Accept-Encoding values that the
// response cache keys as n different variants (they rank the codings
// differently), none of them a browser's "gzip, deflate, br, zstd".
func distinctAcceptEncodings(n int) []string {
	codings := []string{"zstd", "br", "gzip", "deflate"}
	weights := []string{"1", "0.7", "0.4", "0.1"}
	var out []string
	// Every order of preference among the four codings: 24 values.
	var permute func(order []int, used int)
	permute = func(order []int, used int) {
		if len(order) == len(codings) {
			parts := make([]string, len(codings))
			for rank, c := range order {
				parts[rank] = codings[c] + ";q=" + weights[rank]
			}
			out = append(out, strings.Join(parts, ", "))
			return
		}
		for c := range codings {
			if used&(1<<c) == 0 {
				permute(append(order, c), used|1<<c)
			}
		}
	}
	permute(nil, 0)
	out = append(out, "identity", "gzip", "br", "zstd", "deflate", "gzip, identity;q=0.5", "br, gzip", "zstd;q=0")
	return out[:n]
}

// TestAcceptEncodingVariantsDoNotCrowdOutBrowsers: a client sending as
// many distinct Accept-Encoding values for one page as the cache keeps
// variants of it (DefaultMaxVariants) must not leave browsers without a
// stored variant of that page, nor make the warm job fail. The views see
// the Accept-Encoding the compressor's choice canonicalises it to, so a
// page has a handful of variants whatever clients send.
func TestAcceptEncodingVariantsDoNotCrowdOutBrowsers(t *testing.T) {
	c := startService(t, "sqlite", "simple://")
	for _, path := range []string{"/products", "/products/7", "/"} {
		for _, ae := range distinctAcceptEncodings(32) {
			r := c.do("GET", path, "", "Accept-Encoding: "+ae)
			require.Equal(t, http.StatusOK, r.status, "%s %q", path, ae)
		}
		const browser = "Accept-Encoding: gzip, deflate, br, zstd"
		c.do("GET", path, "", browser)
		r := c.do("GET", path, "", browser)
		assert.Equal(t, "HIT", r.header.Get("X-Cache"), "%s: a browser's second request", path)
		c.do("GET", path, "")
		r = c.do("GET", path, "")
		assert.Equal(t, "HIT", r.header.Get("X-Cache"), "%s: curl's second request", path)
	}
	res, err := c.svc.api.warm(context.Background())
	require.NoError(t, err)
	assert.Equal(t, warmResult{Stored: (1 + warmPages) * len(warmEncodings), Users: res.Users}, res)
}

// TestAcceptEncodingCanonicalKeepsTheChoice: whatever a client sends, the
// response it gets has the coding the compressor chooses for what it sent,
// hit or miss, and one it accepts.
func TestAcceptEncodingCanonicalKeepsTheChoice(t *testing.T) {
	c := startService(t, "sqlite", "simple://")
	cases := map[string]string{
		"":                        "",
		"gzip, deflate, br, zstd": "zstd",
		"gzip":                    "gzip",
		"gzip, deflate":           "gzip",
		"deflate, gzip;q=0.5":     "deflate",
		"br;q=0.2, gzip;q=0.9":    "gzip",
		"*":                       "zstd",
		"*, zstd;q=0":             "br",
		"identity":                "",
		"gzip;q=0.5, identity":    "",
		"zstd;q=0, br;q=0, gzip;q=0, deflate;q=0": "",
		"compress": "",
		"x-gzip":   "gzip",
	}
	for round := range 2 {
		for ae, want := range cases {
			var r response
			if ae == "" {
				r = c.do("GET", "/products", "")
			} else {
				r = c.do("GET", "/products", "", "Accept-Encoding: "+ae)
			}
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, want, r.header.Get("Content-Encoding"), "round %d: %q", round, ae)
			if round == 1 {
				assert.Equal(t, "HIT", r.header.Get("X-Cache"), "round %d: %q", round, ae)
			}
		}
	}
}

// TestWarmSkipsPagesFullOfVariants: a page that already holds as many
// variants as the view keeps is skipped by the warm job, which counts and
// logs it, and does not fail (River would retry the whole job, with no
// more luck until the variants expire).
func TestWarmSkipsPagesFullOfVariants(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.maxVariants = 1 })
	r := c.do("GET", "/products", "", "Accept-Encoding: br")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "HIT", c.do("GET", "/products", "", "Accept-Encoding: br").header.Get("X-Cache"))

	res, err := c.svc.api.warm(context.Background())
	require.NoError(t, err)
	// "/products" holds its one variant (br), which the job does not ask
	// for: all its targets are skipped. Each other page gets its first
	// target stored (no Accept-Encoding), and the others skipped.
	skipped := len(warmEncodings) + warmPages*(len(warmEncodings)-1)
	assert.Equal(t, warmResult{Stored: warmPages, Refused: skipped, Skipped: skipped, Users: res.Users}, res)
	assert.Equal(t, "HIT", c.do("GET", "/products", "", "Accept-Encoding: br").header.Get("X-Cache"))
	assert.Equal(t, "HIT", c.get("/products?page=2", http.StatusOK).header.Get("X-Cache"))
}
