package header

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func members(lines ...string) ([]Member, bool) {
	var ms []Member
	ok := ParseDictionary(lines, func(m Member) { ms = append(ms, m) })
	return ms, ok
}

// TestParseDictionary follows RFC 8941 section 4.2.2, the syntax of
// targeted cache-control fields (RFC 9213 section 2.1).
func TestParseDictionary(t *testing.T) {
	ms, ok := members(`max-age=60, no-store, private="a, b", x=?0, y=1.5, z=tok/en:1, b=:aGk=:, l=(1 "a");p, k;a=1;b`)
	assert.True(t, ok)
	assert.Equal(t, []Member{
		{Key: "max-age", Kind: KindInteger, Int: 60, Raw: "60"},
		{Key: "no-store", Kind: KindBoolean, Bool: true},
		{Key: "private", Kind: KindString, Raw: "a, b"},
		{Key: "x", Kind: KindBoolean},
		{Key: "y", Kind: KindDecimal, Int: 1, Raw: "1.5"},
		{Key: "z", Kind: KindToken, Raw: "tok/en:1"},
		{Key: "b", Kind: KindBytes, Raw: "aGk="},
		{Key: "l", Kind: KindInnerList},
		{Key: "k", Kind: KindBoolean, Bool: true},
	}, ms)

	ms, ok = members("max-age=1", "s-maxage=2")
	assert.True(t, ok, "lines are joined with a comma")
	assert.Len(t, ms, 2)
	ms, ok = members("", "  ")
	assert.True(t, ok)
	assert.Empty(t, ms)
	_, ok = members("max-age=-5")
	assert.True(t, ok, "a negative integer is valid syntax")

	for _, s := range []string{
		"Max-Age=60",               // keys are lower case
		"max-age=60,",              // trailing comma
		"max-age=60 no-store",      // no comma
		"max-age=",                 // no value
		`private="a`,               // unterminated string
		`private="\x"`,             // bad escape
		"max-age=1234567890123456", // 16 digits
		"y=1.2345",                 // 4 fraction digits
		"y=1.",                     // no fraction
		"b=:a b:",                  // bad base64
		"x=?2",                     // bad boolean
		"l=(1 2",                   // unterminated inner list
		"1a=1",                     // key starting with a digit
		"a=1;",                     // empty parameter key
		"\tmax-age=1",              // leading tab
		"a=é",                      // non-ASCII
	} {
		_, ok := members(s)
		assert.False(t, ok, "%q", s)
	}
}

// FuzzParseDictionary: never panics; a valid field stays valid (and yields
// the same members) when written again from what was yielded; its members'
// keys are well-formed.
func FuzzParseDictionary(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="a", must-revalidate`, "a=(1 2);q=?1", "x=:YQ==:", "a=1.5, b=-3", ",", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, ok := members(s)
		if !ok {
			return
		}
		var b strings.Builder
		for i, m := range ms {
			if m.Key == "" || strings.ToLower(m.Key) != m.Key {
				t.Fatalf("%q: bad key %q", s, m.Key)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.Key)
			switch m.Kind {
			case KindBoolean:
				if !m.Bool {
					b.WriteString("=?0")
				}
			case KindString:
				b.WriteString(`="` + m.Raw + `"`)
			case KindBytes:
				b.WriteString("=:" + m.Raw + ":")
			case KindInnerList:
				b.WriteString("=()")
			default:
				b.WriteString("=" + m.Raw)
			}
		}
		again, ok := members(b.String())
		if !ok || len(again) != len(ms) {
			t.Fatalf("%q: rewritten as %q: %v %d members", s, b.String(), ok, len(again))
		}
		for i := range ms {
			if ms[i].Kind != KindInnerList && ms[i] != again[i] {
				t.Fatalf("%q: member %d %+v became %+v", s, i, ms[i], again[i])
			}
		}
	})
}
