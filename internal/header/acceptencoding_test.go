package header_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/header"
)

var (
	all    = []header.Coding{header.Zstd, header.Brotli, header.Gzip, header.Deflate}
	stream = []header.Coding{header.Zstd, header.Brotli, header.Deflate}
)

// choose returns the name of the coding Choose picks from prefs, "" for none.
func choose(lines []string, prefs []header.Coding) string {
	a := header.ParseAcceptEncoding(lines)
	if i := a.Choose(prefs); i >= 0 {
		return prefs[i].String()
	}
	return ""
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lines  []string // nil: no header
		prefs  []header.Coding
		expect string
	}{
		{"no header", nil, all, ""},
		{"empty header", []string{""}, all, ""},
		{"gzip only", []string{"gzip"}, all, "gzip"},
		{"server preference breaks ties", []string{"gzip, deflate, br, zstd"}, all, "zstd"},
		{"browser", []string{"gzip, deflate, br"}, all, "br"},
		{"case-insensitive", []string{"GZip"}, all, "gzip"},
		{"x-gzip", []string{"x-gzip"}, all, "gzip"},
		{"q picks", []string{"zstd;q=0.5, gzip;q=0.8"}, all, "gzip"},
		{"three decimals", []string{"zstd;q=0.501, gzip;q=0.5"}, all, "zstd"},
		{"q=0 refuses (no substring match)", []string{"gzip;q=0"}, all, ""},
		{"q=0.000 refuses", []string{"gzip;q=0.000, deflate;q=0.001"}, all, "deflate"},
		{"refused but star", []string{"gzip;q=0, *"}, all, "zstd"},
		{"star", []string{"*"}, all, "zstd"},
		{"star q=0", []string{"*;q=0"}, all, ""},
		{"star with explicit", []string{"*;q=0.1, gzip"}, all, "gzip"},
		{"identity preferred", []string{"identity, gzip;q=0.5"}, all, ""},
		{"identity;q=0 still compresses", []string{"identity;q=0, gzip"}, all, "gzip"},
		{"identity;q=0 nothing acceptable", []string{"identity;q=0, *;q=0"}, all, ""},
		{"several lines", []string{"deflate;q=0.2", "br;q=0.9"}, all, "br"},
		{"whitespace", []string{" \tgzip \t; \tq=0.7 , br ; q=0.6\t"}, all, "gzip"},
		{"Q upper", []string{"gzip;Q=0.3, br;q=0.2"}, all, "gzip"},
		{"bad q refuses", []string{"gzip;q=2, br;q=0.1"}, all, "br"},
		{"four decimals refuse", []string{"gzip;q=0.1234, br;q=0.1"}, all, "br"},
		{"four decimals, nothing else", []string{"gzip;q=0.5000"}, all, ""},
		{"1.001 refuses", []string{"gzip;q=1.001, br;q=0.1"}, all, "br"},
		{"other param refuses", []string{"gzip;level=9, br;q=0.1"}, all, "br"},
		{"other param then refusal", []string{"gzip;foo=1, gzip;q=0"}, all, ""},
		{"two weights refuse", []string{"gzip;q=1;q=1, br;q=0.1"}, all, "br"},
		{"malformed is not granted by star", []string{"gzip;q=0;x=1, *"}, []header.Coding{header.Gzip, header.Deflate}, "deflate"},
		{"malformed after star", []string{"*, gzip;q=abc"}, []header.Coding{header.Gzip}, ""},
		{"malformed after valid", []string{"gzip, gzip;q=0.0001"}, all, ""},
		{"malformed x-gzip", []string{"x-gzip;q=1.5, *"}, []header.Coding{header.Gzip}, ""},
		{"no semicolon", []string{"gzip q=0, *"}, []header.Coding{header.Gzip}, ""},
		{"malformed star refuses the rest", []string{"*;q=abc, br"}, all, "br"},
		{"malformed identity ignored", []string{"identity;q=2, gzip"}, all, "gzip"},
		{"no leading token ignored", []string{"\"gzip\";q=0, *"}, []header.Coding{header.Gzip}, "gzip"},
		{"unknown codings", []string{"compress, lzma, gzipper"}, all, ""},
		{"substring is not a match", []string{"xgzip, gzip2"}, all, ""},
		{"first duplicate counts", []string{"gzip;q=0, gzip"}, all, ""},
		{"empty elements", []string{",,gzip,,"}, all, "gzip"},
		{"streaming list leaves gzip out", []string{"gzip"}, stream, ""},
		{"streaming deflate", []string{"gzip, deflate"}, stream, "deflate"},
		{"subset preference", []string{"zstd, gzip"}, []header.Coding{header.Gzip}, "gzip"},
		{"identity in prefs is never chosen", []string{"identity"}, []header.Coding{header.Identity}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.expect, choose(tc.lines, tc.prefs))
		})
	}
}

func TestParseCoding(t *testing.T) {
	for name, want := range map[string]header.Coding{"identity": header.Identity, "ZSTD": header.Zstd, "br": header.Brotli, "Gzip": header.Gzip, "x-gzip": header.Gzip, "deflate": header.Deflate} {
		c, ok := header.ParseCoding(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, c, name)
	}
	for _, name := range []string{"", "*", "compress", "x-compress", "gzip ", "brotli"} {
		_, ok := header.ParseCoding(name)
		assert.False(t, ok, name)
	}
	assert.Equal(t, "br", header.Brotli.String())
	assert.Equal(t, "Coding(9)", header.Coding(9).String())
}

func TestAcceptable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ae, ce []string
		want   bool
	}{
		{"identity always", nil, nil, true},
		{"explicit identity", []string{"identity;q=0"}, []string{"identity"}, true},
		{"gzip listed", []string{"gzip"}, []string{"gzip"}, true},
		{"x-gzip is gzip", []string{"gzip"}, []string{"x-gzip"}, true},
		{"no header: no coding", nil, []string{"gzip"}, false},
		{"refused", []string{"gzip;q=0, br"}, []string{"gzip"}, false},
		{"not listed", []string{"br"}, []string{"gzip"}, false},
		{"star", []string{"*"}, []string{"zstd"}, true},
		{"malformed weight is not listed", []string{"gzip;q=0.5000"}, []string{"gzip"}, false},
		{"other parameter then refusal", []string{"gzip;foo=1, gzip;q=0"}, []string{"gzip"}, false},
		{"unknown coding", []string{"*"}, []string{"compress"}, false},
		{"malformed coding", []string{"*"}, []string{"gzip;x"}, false},
		{"layered, both accepted", []string{"gzip, br"}, []string{"gzip, br"}, true},
		{"layered, one refused", []string{"gzip"}, []string{"gzip", "br"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, header.Acceptable(tc.ae, tc.ce))
		})
	}
}

func TestNoAllocations(t *testing.T) {
	lines := []string{"gzip;q=0.8, deflate, br;q=0.9, zstd;q=0.95", "identity;q=0.1, *;q=0"}
	ce := []string{"gzip"}
	var p header.Profile
	var i int
	var ok bool
	allocs := testing.AllocsPerRun(100, func() {
		a := header.ParseAcceptEncoding(lines)
		i = a.Choose(all)
		p = a.Profile()
		ok = header.Acceptable(lines, ce)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 3, i)
	assert.True(t, p.Present())
	assert.True(t, ok)
}

func TestProfileText(t *testing.T) {
	prof := func(lines ...string) string {
		a := header.ParseAcceptEncoding(lines)
		return a.Profile().String()
	}
	assert.Equal(t, "absent", prof())
	assert.Equal(t, "identity0,zstd1,br1,gzip1,deflate1", prof(""))
	assert.Equal(t, "identity0,zstd2,br2,gzip3,deflate1", prof("gzip, br;q=0.5, zstd;q=0.5, deflate;q=0"))
	assert.Equal(t, "identity1,zstd2,br2,gzip2,deflate2", prof("identity;q=0, *"))
}

// TestThousandSpellingsOneProfile is issue 12.6: a thousand spellings that
// negotiate gzip alike have one Profile.
func TestThousandSpellingsOneProfile(t *testing.T) {
	seen := map[header.Profile][]string{}
	for i := range 1000 {
		s := spellGzip(i)
		a := header.ParseAcceptEncoding([]string{s})
		seen[a.Profile()] = append(seen[a.Profile()], s)
	}
	assert.Len(t, seen, 1, "profiles: %v", seen)
}

// spellGzip returns the i-th of a thousand distinct spellings of "gzip, and
// nothing else this package knows".
func spellGzip(i int) string {
	q := "1"
	if i%999 != 0 {
		q = fmt.Sprintf("0.%03d", i%999)
	}
	name := []string{"gzip", "GZIP", "x-gzip", "Gzip"}[i%4]
	sp := strings.Repeat(" ", i%3)
	return fmt.Sprintf("%s%s;%sq=%s, compress;q=%d, foo-%d", name, sp, sp, q, i%2, i)
}

// TestProfileDecidesChoice checks the Profile's promise on random headers:
// headers with equal Profiles get the same Choose for every preference
// order and the same Acceptable answer for every coding.
func TestProfileDecidesChoice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"zstd", "br", "gzip", "x-gzip", "deflate", "identity", "*", "compress"}
	qs := []string{"", ";q=0", ";q=0.001", ";q=0.5", ";q=0.50", ";q=0.7", ";q=1", ";q=0.5000", ";foo=1"}
	groups := map[header.Profile][]string{}
	for range 20000 {
		n := rng.IntN(5)
		parts := make([]string, n)
		for j := range parts {
			parts[j] = names[rng.IntN(len(names))] + qs[rng.IntN(len(qs))]
		}
		s := strings.Join(parts, ", ")
		a := header.ParseAcceptEncoding([]string{s})
		groups[a.Profile()] = append(groups[a.Profile()], s)
	}
	for p, hs := range groups {
		for _, prefs := range prefOrders() {
			want := choose([]string{hs[0]}, prefs)
			for _, h := range hs[1:] {
				if got := choose([]string{h}, prefs); got != want {
					t.Fatalf("profile %v: %q chooses %q, %q chooses %q (prefs %v)", p, hs[0], want, h, got, prefs)
				}
			}
		}
		for _, ce := range []string{"zstd", "br", "gzip", "deflate", "identity"} {
			want := header.Acceptable([]string{hs[0]}, []string{ce})
			for _, h := range hs[1:] {
				if got := header.Acceptable([]string{h}, []string{ce}); got != want {
					t.Fatalf("profile %v: %q and %q disagree on %s", p, hs[0], h, ce)
				}
			}
		}
	}
	t.Logf("%d profiles", len(groups))
}

// prefOrders returns every ordering of every non-empty subset of the four
// codings.
func prefOrders() [][]header.Coding {
	var out [][]header.Coding
	var rec func(prefix []header.Coding, left []header.Coding)
	rec = func(prefix, left []header.Coding) {
		if len(prefix) > 0 {
			out = append(out, prefix)
		}
		for i, c := range left {
			rest := append(append([]header.Coding{}, left[:i]...), left[i+1:]...)
			rec(append(append([]header.Coding{}, prefix...), c), rest)
		}
	}
	rec(nil, all)
	return out
}

// fromProfile spells a header with the given Profile: every coding listed
// with a weight of 0.1 times its rank (rank 1 is q=0), identity left out at
// rank 0.
func fromProfile(p header.Profile) []string {
	if !p.Present() {
		return nil
	}
	text := p.String()
	var parts []string
	for _, f := range strings.Split(text, ",") {
		i := strings.IndexAny(f, "0123456789")
		rank, _ := strconv.Atoi(f[i:])
		switch {
		case rank == 0:
		case rank == 1:
			parts = append(parts, f[:i]+";q=0")
		default:
			parts = append(parts, fmt.Sprintf("%s;q=0.%d", f[:i], rank))
		}
	}
	return []string{strings.Join(parts, ", ")}
}

// FuzzAcceptEncodingProfile checks that a header's Profile alone decides
// negotiation: a header spelled from the Profile has the same Profile and
// gets the same Choose for every preference order and the same Acceptable
// answers.
func FuzzAcceptEncodingProfile(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0.5000", "gzip;foo=1, gzip;q=0", "*;q=0.3, identity;q=0.3, br;q=0.300", "", "identity;q=0, *", "zstd;q=0.001, deflate;q=1"} {
		f.Add(s)
	}
	orders := prefOrders()
	f.Fuzz(func(t *testing.T, s string) {
		lines := []string{s}
		a := header.ParseAcceptEncoding(lines)
		p := a.Profile()
		spelled := fromProfile(p)
		b := header.ParseAcceptEncoding(spelled)
		if b.Profile() != p {
			t.Fatalf("%q: profile %v, spelled %q has %v", s, p, spelled, b.Profile())
		}
		for _, prefs := range orders {
			if x, y := choose(lines, prefs), choose(spelled, prefs); x != y {
				t.Fatalf("%q chooses %q, %q (same profile) chooses %q, prefs %v", s, x, spelled, y, prefs)
			}
		}
		for _, ce := range []string{"zstd", "br", "gzip", "deflate", "identity"} {
			if header.Acceptable(lines, []string{ce}) != header.Acceptable(spelled, []string{ce}) {
				t.Fatalf("%q and %q (same profile) disagree on %s", s, spelled, ce)
			}
		}
	})
}

// refChoose is a deliberately naive reference implementation of the
// Accept-Encoding rules, for differential fuzzing.
func refChoose(lines []string, prefs []string) string {
	if len(lines) == 0 {
		return ""
	}
	qs := map[string]int{}
	refused := map[string]bool{} // named by a malformed element
	for _, line := range lines {
		for _, el := range strings.Split(line, ",") {
			parts := strings.Split(el, ";")
			coding := strings.ToLower(strings.Trim(parts[0], " \t"))
			if coding == "" {
				continue
			}
			if i := strings.IndexFunc(coding, func(r rune) bool { return r > 127 || !header.IsTchar(byte(r)) }); i >= 0 {
				if i > 0 {
					refused[coding[:i]] = true
				}
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
				refused[coding] = true
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
	for coding := range refused {
		if coding == "x-gzip" {
			coding = "gzip"
		}
		if coding != "identity" {
			qs[coding] = 0
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
	names := []string{"zstd", "br", "gzip", "deflate"}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1, line2}
		got := choose(lines, all)
		want := refChoose(lines, names)
		if got != want {
			t.Fatalf("Accept-Encoding %q: got %q, reference %q", lines, got, want)
		}
	})
}

// TestProfileCount checks the number of Profiles the doc promises: every
// order of four coding weights and identity's, with ties, around the
// anchors, is reached with weights of 0 to 0.5.
func TestProfileCount(t *testing.T) {
	qs := []string{"0", "0.1", "0.2", "0.3", "0.4", "0.5"}
	seen := map[header.Profile]bool{{}: true} // absent
	for i := range 6 * 6 * 6 * 6 * 7 {
		var parts []string
		for _, name := range []string{"zstd", "br", "gzip", "deflate"} {
			parts = append(parts, name+";q="+qs[i%6])
			i /= 6
		}
		if i > 0 {
			parts = append(parts, "identity;q="+qs[i-1])
		}
		a := header.ParseAcceptEncoding([]string{strings.Join(parts, ", ")})
		seen[a.Profile()] = true
	}
	assert.Len(t, seen, 1233)
}
