package header_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/header"
)

func TestElements(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"none", nil, nil},
		{"empty", []string{"", " , ,\t"}, nil},
		{"trimmed", []string{" a ,\tb c\t,, d"}, []string{"a", "b c", "d"}},
		{"lines in order", []string{"a", "b, c"}, []string{"a", "b", "c"}},
		{"quotes not special", []string{`a="x, y", b`}, []string{`a="x`, `y"`, "b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, slices.Collect(header.Elements(tt.lines)))
		})
	}
}

func TestQuotedElements(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"plain", []string{" a , b", "c"}, []string{"a", "b", "c"}},
		{"comma in quotes", []string{`a="x, y", b`}, []string{`a="x, y"`, "b"}},
		{"escaped quote", []string{`"a\", b", c`}, []string{`"a\", b"`, "c"}},
		{"unterminated runs to the end of its line", []string{`a, "b, c`, "d"}, []string{"a", `"b, c`, "d"}},
		{"trailing backslash", []string{`"a\`}, []string{`"a\`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, slices.Collect(header.QuotedElements(tt.lines)))
		})
	}
}

func TestHasToken(t *testing.T) {
	assert.True(t, header.HasToken([]string{"Accept", " ACCEPT-Encoding "}, "accept-encoding"))
	assert.True(t, header.HasToken([]string{"a,*"}, "*"))
	assert.False(t, header.HasToken([]string{"accept-encodings, x-accept-encoding"}, "accept-encoding"))
	assert.False(t, header.HasToken(nil, "*"))
}

func TestDirectives(t *testing.T) {
	d := func(name, value string, has bool) header.Directive {
		return header.Directive{Name: name, Value: value, HasValue: has}
	}
	for _, tt := range []struct {
		name  string
		lines []string
		want  []header.Directive
	}{
		{"none", []string{"", " , "}, nil},
		{"flags and values", []string{"public, max-age = 60 ,no-cache"}, []header.Directive{d("public", "", false), d("max-age", "60", true), d("no-cache", "", false)}},
		{"quoted with comma", []string{`no-cache="Set-Cookie, X", private`}, []header.Directive{d("no-cache", "Set-Cookie, X", true), d("private", "", false)}},
		{"escape kept", []string{`x="a\"b", y`}, []header.Directive{d("x", `a\"b`, true), d("y", "", false)}},
		{"junk after quote", []string{`x="a"junk, y`}, []header.Directive{d("x", "a", true), d("y", "", false)}},
		{"unterminated", []string{`x="a, y`, "z"}, []header.Directive{d("x", "a, y", true), d("z", "", false)}},
		{"empty value", []string{"x=, y="}, []header.Directive{d("x", "", true), d("y", "", true)}},
		{"no name", []string{"=1, =, y"}, []header.Directive{d("y", "", false)}},
		{"several lines", []string{"a", "b=1"}, []header.Directive{d("a", "", false), d("b", "1", true)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, slices.Collect(header.Directives(tt.lines)))
		})
	}
}

func TestETags(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"list", []string{`"a", W/"b" ,*`}, []string{`"a"`, `W/"b"`, "*"}},
		{"comma and backslash inside", []string{`"a,b", "c\"`}, []string{`"a,b"`, `"c\"`}},
		{"malformed skipped", []string{`x, W/y, W/, "ok"`}, []string{`"ok"`}},
		{"unterminated ends its line", []string{`"a, "b`, `"c"`}, []string{`"a, "`, `"c"`}},
		{"unterminated alone", []string{`"a`, `"c"`}, []string{`"c"`}},
		{"star then junk", []string{`*x, "a"`}, []string{"*", `"a"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, slices.Collect(header.ETags(tt.lines)))
		})
	}
}

func TestWords(t *testing.T) {
	var got, rests []string
	for w, rest := range header.Words([]string{`no-store; private`, "\tmax-age=60 x=\"a, b\",,", "", `"private.`, "private=?0"}) {
		got, rests = append(got, w), append(rests, rest)
	}
	assert.Equal(t, []string{"no-store", "private", "max-age", "60", "x", "a", "b", "private", "private", "0"}, got)
	assert.Equal(t, []string{"; private", "", "=60 x=\"a, b\",,", ` x="a, b",,`, `="a, b",,`, `, b",,`, `",,`, ".", "=?0", ""}, rests)
	n := 0
	for range header.Words([]string{"a b c"}) {
		n++
		break
	}
	assert.Equal(t, 1, n, "stops when told")
}

func TestIteratorsDoNotAllocate(t *testing.T) {
	lines := []string{`a, "b,c", W/"d"`, `max-age=1, x="y, z"`}
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		for range header.Elements(lines) {
			n++
		}
		for range header.QuotedElements(lines) {
			n++
		}
		for range header.Directives(lines) {
			n++
		}
		for range header.ETags(lines) {
			n++
		}
		for range header.Words(lines) {
			n++
		}
		if header.HasToken(lines, "zz") {
			n++
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, n)
}

// FuzzLists checks the list iterators against their invariants: elements
// are trimmed and non-empty, never longer than their line, and stopping
// early yields a prefix.
func FuzzLists(f *testing.F) {
	for _, s := range []string{"a, b", `x="a,\"b", y`, `W/"a", *, "b`, `"\`, ",,", `=1, a=, "`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := []string{s}
		for name, seq := range map[string]func() []string{
			"Elements":       func() []string { return slices.Collect(header.Elements(lines)) },
			"QuotedElements": func() []string { return slices.Collect(header.QuotedElements(lines)) },
			"ETags":          func() []string { return slices.Collect(header.ETags(lines)) },
			"Words": func() []string {
				var words []string
				for w, rest := range header.Words(lines) {
					if !strings.HasSuffix(s, w+rest) {
						t.Fatalf("Words(%q): %q then %q is not the end of the line", s, w, rest)
					}
					words = append(words, w)
				}
				return words
			},
		} {
			total := 0
			for _, e := range seq() {
				total += len(e)
				if e == "" || header.TrimOWS(e) != e {
					t.Fatalf("%s(%q): element %q not trimmed or empty", name, s, e)
				}
			}
			if total > len(s) {
				t.Fatalf("%s(%q): elements longer than the line", name, s)
			}
		}
		all := slices.Collect(header.Directives(lines))
		for i, d := range all {
			if d.Name == "" || (!d.HasValue && d.Value != "") {
				t.Fatalf("Directives(%q): bad %+v", s, d)
			}
			var first []header.Directive
			for d := range header.Directives(lines) {
				first = append(first, d)
				if len(first) == i+1 {
					break
				}
			}
			if !slices.Equal(first, all[:i+1]) {
				t.Fatalf("Directives(%q): stopping early changed the prefix", s)
			}
		}
		// Unquoted, the two list iterators agree.
		if !containsByte(s, '"') && !slices.Equal(slices.Collect(header.Elements(lines)), slices.Collect(header.QuotedElements(lines))) {
			t.Fatalf("%q: Elements and QuotedElements disagree without quotes", s)
		}
	})
}
