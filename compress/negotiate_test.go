package compress

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testPrefs(t testing.TB, names ...string) []*codec {
	t.Helper()
	out := make([]*codec, 0, len(names))
	for _, n := range names {
		c, err := codecFor(n, 5)
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

func TestNegotiate(t *testing.T) {
	all := testPrefs(t, Zstd, Brotli, Gzip, Deflate)
	stream := testPrefs(t, Zstd, Brotli, Deflate)
	for _, tc := range []struct {
		name   string
		lines  []string // nil: no header
		prefs  []*codec
		expect string
	}{
		{"no header", nil, all, ""},
		{"empty header", []string{""}, all, ""},
		{"gzip only", []string{"gzip"}, all, Gzip},
		{"server preference breaks ties", []string{"gzip, deflate, br, zstd"}, all, Zstd},
		{"browser", []string{"gzip, deflate, br"}, all, Brotli},
		{"case-insensitive", []string{"GZip"}, all, Gzip},
		{"x-gzip", []string{"x-gzip"}, all, Gzip},
		{"q picks", []string{"zstd;q=0.5, gzip;q=0.8"}, all, Gzip},
		{"three decimals", []string{"zstd;q=0.501, gzip;q=0.5"}, all, Zstd},
		{"q=0 refuses (no substring match)", []string{"gzip;q=0"}, all, ""},
		{"q=0.000 refuses", []string{"gzip;q=0.000, deflate;q=0.001"}, all, Deflate},
		{"refused but star", []string{"gzip;q=0, *"}, all, Zstd},
		{"star", []string{"*"}, all, Zstd},
		{"star q=0", []string{"*;q=0"}, all, ""},
		{"star with explicit", []string{"*;q=0.1, gzip"}, all, Gzip},
		{"identity preferred", []string{"identity, gzip;q=0.5"}, all, ""},
		{"identity;q=0 still compresses", []string{"identity;q=0, gzip"}, all, Gzip},
		{"identity;q=0 nothing acceptable", []string{"identity;q=0, *;q=0"}, all, ""},
		{"several lines", []string{"deflate;q=0.2", "br;q=0.9"}, all, Brotli},
		{"whitespace", []string{" \tgzip \t; \tq=0.7 , br ; q=0.6\t"}, all, Gzip},
		{"Q upper", []string{"gzip;Q=0.3, br;q=0.2"}, all, Gzip},
		{"bad q ignored", []string{"gzip;q=2, br;q=0.1"}, all, Brotli},
		{"four decimals ignored", []string{"gzip;q=0.1234, br;q=0.1"}, all, Brotli},
		{"1.001 ignored", []string{"gzip;q=1.001, br;q=0.1"}, all, Brotli},
		{"other param ignored", []string{"gzip;level=9, br;q=0.1"}, all, Brotli},
		{"unknown codings", []string{"compress, lzma, gzipper"}, all, ""},
		{"substring is not a match", []string{"xgzip, gzip2"}, all, ""},
		{"first duplicate counts", []string{"gzip;q=0, gzip"}, all, ""},
		{"empty elements", []string{",,gzip,,"}, all, Gzip},
		{"streaming list leaves gzip out", []string{"gzip"}, stream, ""},
		{"streaming deflate", []string{"gzip, deflate"}, stream, Deflate},
		{"subset preference", []string{"zstd, gzip"}, testPrefs(t, Gzip), Gzip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := parseAcceptEncoding(tc.lines)
			got := ""
			if c := a.choose(tc.prefs); c != nil {
				got = c.name
			}
			assert.Equal(t, tc.expect, got)
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

// refChoose is a deliberately naive reference implementation of the same
// rules, for differential fuzzing.
func refChoose(lines []string, prefs []string) string {
	if len(lines) == 0 {
		return ""
	}
	qs := map[string]int{}
	for _, line := range lines {
		for _, el := range strings.Split(line, ",") {
			parts := strings.Split(el, ";")
			coding := strings.ToLower(strings.Trim(parts[0], " \t"))
			if coding == "" || strings.ContainsFunc(coding, func(r rune) bool { return r > 127 || !isTchar(byte(r)) }) {
				continue
			}
			q, ok := 1000, true
			if len(parts) > 2 {
				ok = false
			} else if len(parts) == 2 {
				kv := strings.SplitN(parts[1], "=", 2)
				if len(kv) != 2 || strings.ToLower(strings.Trim(kv[0], " \t")) != "q" {
					ok = false
				} else {
					q, ok = refQ(strings.Trim(kv[1], " \t"))
				}
			}
			if !ok {
				continue
			}
			if coding == "x-gzip" {
				coding = "gzip"
			}
			if _, seen := qs[coding]; !seen {
				qs[coding] = q
			}
		}
	}
	best, bestQ := "", 0
	for _, p := range prefs {
		q, ok := qs[p]
		if !ok {
			q, ok = qs["*"]
		}
		if ok && q > bestQ {
			best, bestQ = p, q
		}
	}
	if iq, ok := qs["identity"]; ok && best != "" && iq > bestQ {
		return ""
	}
	return best
}

func refQ(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	if s == "1" || s == "0" {
		return int(s[0]-'0') * 1000, true
	}
	if len(s) < 2 || s[1] != '.' {
		return 0, false
	}
	frac := s[2:]
	for len(frac) < 3 {
		frac += "0"
	}
	n, err := strconv.Atoi(frac)
	if err != nil || strings.ContainsAny(frac, "+-") {
		return 0, false
	}
	switch s[0] {
	case '0':
		return n, true
	case '1':
		return 1000, n == 0
	}
	return 0, false
}

func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "br;q=0.5, zstd;q=0.501", "*;q=0, identity", "x-gzip, deflate;Q=1.000",
		" gzip ; q=0.1 ,br", "gzip;q=1.0001", "gzip;;q=1", "\"gzip\"", "zstd;q=0.", "gzip;q=.5", "gzip;", "gzip;q=0.5;", "br ;q=1;q=1"} {
		f.Add(s, "deflate")
	}
	prefs := testPrefs(f, Zstd, Brotli, Gzip, Deflate)
	names := []string{Zstd, Brotli, Gzip, Deflate}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1, line2}
		a := parseAcceptEncoding(lines)
		got := ""
		if c := a.choose(prefs); c != nil {
			got = c.name
		}
		want := refChoose(lines, names)
		if got != want {
			t.Fatalf("Accept-Encoding %q: got %q, reference %q", lines, got, want)
		}
	})
}
