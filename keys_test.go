package caching

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalQuery(t *testing.T) {
	cases := []struct {
		name, a, b string
		opts       QueryKeyOptions
		same       bool
	}{
		{"order", "b=2&a=1", "a=1&b=2", QueryKeyOptions{}, true},
		{"duplicates kept", "a=1&a=2", "a=1", QueryKeyOptions{}, false},
		// r.URL.Query().Get("page") is 7 for one and 1 for the other.
		{"duplicate order", "page=7&page=1", "page=1&page=7", QueryKeyOptions{}, false},
		{"duplicate order kept across names", "a=2&b=1&a=1", "b=1&a=2&a=1", QueryKeyOptions{}, true},
		// url.ParseQuery fails on %zz (and drops the pair) but reads %25zz.
		{"invalid escape vs its escaped spelling", "q=%zz", "q=%25zz", QueryKeyOptions{}, false},
		{"invalid escape in a name", "%zz=1", "%25zz=1", QueryKeyOptions{}, false},
		// A raw ';' is an error (and the pair is dropped); %3B is a ';'.
		{"raw semicolon vs escaped", "a=1;b=2", "a=1%3Bb=2", QueryKeyOptions{}, false},
		{"raw semicolon in a name", "a;b=1", "a%3Bb=1", QueryKeyOptions{}, false},
		{"invalid queries keep their order", "a=%zz&b=1", "b=1&a=%zz", QueryKeyOptions{}, false},
		// Spellings url.ParseQuery reads alike but a handler reading the raw
		// query (or an origin behind a proxy) does not: an echo of the raw
		// "<" must never be served for the escaped "%3C" browsers send.
		{"encoding", "q=a%20b", "q=a+b", QueryKeyOptions{}, false},
		{"escape vs raw markup", "q=%3Cb%3E", "q=<b>", QueryKeyOptions{}, false},
		{"escaped letter", "q=%41", "q=A", QueryKeyOptions{}, false},
		{"escaped name", "%61=1", "a=1", QueryKeyOptions{}, false},
		{"escape case", "q=%2f", "q=%2F", QueryKeyOptions{}, false},
		{"raw hash vs escaped", "q=1#u=alice", "q=1%23u=alice", QueryKeyOptions{}, false},
		{"order with raw markup", "b=<&a=1", "a=1&b=<", QueryKeyOptions{}, true},
		{"order with a raw hash kept", "b=#&a=1", "a=1&b=#", QueryKeyOptions{}, false},
		{"order with a byte past ASCII kept", "b=\xc3\xa9&a=1", "a=1&b=\xc3\xa9", QueryKeyOptions{}, false},
		{"brackets sorted", "filter[b]=1&filter[a]=2", "filter[a]=2&filter[b]=1", QueryKeyOptions{}, true},
		{"leading mark vs kept form", "!%3B", ";", QueryKeyOptions{}, false},
		{"order with sub-delims", "b=(x)&a=1:2", "a=1:2&b=(x)", QueryKeyOptions{}, true},
		{"empty pairs", "a=1&&b=2&", "b=2&a=1", QueryKeyOptions{}, true},
		{"value differs", "page=1", "page=2", QueryKeyOptions{}, false},
		{"name vs value", "a=b", "b=a", QueryKeyOptions{}, false},
		{"no value vs empty", "a", "a=", QueryKeyOptions{}, false},
		{"ignore utm", "page=2&utm_source=x&utm_medium=y", "page=2", QueryKeyOptions{Ignore: []string{"utm_*"}}, true},
		{"allow", "page=2&session=abc", "page=2&session=def", QueryKeyOptions{Allow: []string{"page"}}, true},
		{"allow keeps", "page=2", "page=3", QueryKeyOptions{Allow: []string{"page"}}, false},
		{"separator in value", "a=1%262", "a=1&2", QueryKeyOptions{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := CanonicalQuery(tc.a, tc.opts), CanonicalQuery(tc.b, tc.opts)
			if (ca == cb) != tc.same {
				t.Fatalf("CanonicalQuery(%q) = %q, CanonicalQuery(%q) = %q; same = %v, want %v", tc.a, ca, tc.b, cb, ca == cb, tc.same)
			}
		})
	}
}

func TestShortenKey(t *testing.T) {
	short := strings.Repeat("a", maxReadableKey)
	if got := shortenKey(short); got != short {
		t.Fatalf("a key of %d bytes was changed", len(short))
	}
	long1 := strings.Repeat("a", 300) + "1"
	long2 := strings.Repeat("a", 300) + "2"
	s1, s2 := shortenKey(long1), shortenKey(long2)
	if s1 == s2 {
		t.Fatal("two long keys that differ only at the end collide")
	}
	if len(s1) > maxReadableKey || !strings.HasPrefix(s1, strings.Repeat("a", hashedHead)) {
		t.Fatalf("shortened key %q: want a readable head and at most %d bytes", s1, maxReadableKey)
	}
	multi := strings.Repeat("é", 200)
	if got := shortenKey(multi); !strings.HasPrefix(got, strings.Repeat("é", hashedHead/2)) || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("shortened key cut a rune: %q", got)
	}
}

// FuzzCanonicalQuery checks the invariant of canonical forms: two raw
// queries share one only if url.ParseQuery (r.URL.Query()) reads them the
// same way: the same names, the same values in the same order, the same
// error; and only if they hold the same parameters byte for byte. It also checks that reordering distinct names keeps the form, and
// that a clean form is its own canonical form.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"", "a=1", "b=2&a=1", "a=1&a=2", "q=a%20b&x", "%zz=1", "a=1;b=2", "page=7&page=1", "a=%25zz", "a=1&%61=2", "q=<b>", "!a=1&b", "q=1#u=x", "b=(x)&a=%41"} {
		f.Add(s, "a=1")
		f.Add(s, s+"&")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ca, cb := CanonicalQuery(a, QueryKeyOptions{}), CanonicalQuery(b, QueryKeyOptions{})
		if ca == cb {
			requireSameRead(t, a, b)
			requireSameParts(t, a, b)
		}
		if ca != "" && ca[0] != '!' {
			if again := CanonicalQuery(ca, QueryKeyOptions{}); again != ca {
				t.Fatalf("not idempotent: %q -> %q -> %q", a, ca, again)
			}
			requireSameRead(t, a, ca)
		}
		// Sorting a's pairs by decoded name, keeping each name's values in
		// order, reads the same and keeps the form.
		type part struct{ raw, name string }
		var parts []part
		for _, p := range strings.Split(a, "&") {
			name, _, _ := strings.Cut(p, "=")
			n, err := url.QueryUnescape(name)
			if err != nil {
				return
			}
			parts = append(parts, part{p, n})
		}
		slices.SortStableFunc(parts, func(x, y part) int { return strings.Compare(x.name, y.name) })
		raws := make([]string, len(parts))
		for i, p := range parts {
			raws[i] = p.raw
		}
		sorted := strings.Join(raws, "&")
		if ca[0:min(1, len(ca))] != "!" {
			if cs := CanonicalQuery(sorted, QueryKeyOptions{}); cs != ca {
				t.Fatalf("reordering names changed the form: %q -> %q, %q -> %q", a, ca, sorted, cs)
			}
		}
	})
}

// requireSameParts fails unless a and b hold the same parameters byte for
// byte (their non-empty '&'-separated parts, in any order): a handler that
// reads the raw query finds nothing in one that the other does not hold.
func requireSameParts(t *testing.T, a, b string) {
	t.Helper()
	parts := func(q string) []string {
		p := slices.DeleteFunc(strings.Split(q, "&"), func(s string) bool { return s == "" })
		slices.Sort(p)
		return p
	}
	if pa, pb := parts(a), parts(b); !slices.Equal(pa, pb) {
		t.Fatalf("one canonical form, other bytes: %q, %q", a, b)
	}
}

// requireSameRead fails unless url.ParseQuery reads a and b the same way.
func requireSameRead(t *testing.T, a, b string) {
	t.Helper()
	va, erra := url.ParseQuery(a)
	vb, errb := url.ParseQuery(b)
	if !reflect.DeepEqual(va, vb) || (erra == nil) != (errb == nil) || erra != nil && erra.Error() != errb.Error() {
		t.Fatalf("one canonical form, read differently: %q -> %v, %v; %q -> %v, %v", a, va, erra, b, vb, errb)
	}
}

// TestCanonicalQueryFastPath: the shortcut agrees with CanonicalQuery.
func TestCanonicalQueryFastPath(t *testing.T) {
	for _, q := range []string{"a=1", "a=1&b=2", "a=1&a=2", "a=2&a=1", "b=1&a=1", "a=1&a=1", "a", "a=", "=1", "a=1&", "&a=1",
		"a=%20", "a=b+c", "a.b=1&a_c=2", "A=1&a=1", "a=1&b", "x=~-._"} {
		if isCanonicalQuery(q) {
			assert.Equal(t, CanonicalQuery(q, QueryKeyOptions{}), q, q)
		}
	}
	assert.True(t, isCanonicalQuery("page=1&sort=asc"))
	assert.False(t, isCanonicalQuery("sort=asc&page=1"))
}

func FuzzCanonicalQueryFastPath(f *testing.F) {
	f.Add("a=1&b=2")
	f.Add("b=1&a=2")
	f.Fuzz(func(t *testing.T, q string) {
		if isCanonicalQuery(q) {
			require.Equal(t, CanonicalQuery(q, QueryKeyOptions{}), q)
		}
	})
}

// TestCanonicalQueryFastPathLimit: the shortcut gives up past net/url's
// parameter limit, as CanonicalQuery's parse would fail there.
func TestCanonicalQueryFastPathLimit(t *testing.T) {
	q := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("p%05d=1", i)
		}
		return strings.Join(parts, "&")
	}
	assert.True(t, isCanonicalQuery(q(maxQueryParams)))
	assert.False(t, isCanonicalQuery(q(maxQueryParams+1)))
}

// FuzzAppendEscapedPath checks the fast path of the view key against
// url.URL.EscapedPath, for paths as net/url parses them from a request.
func FuzzAppendEscapedPath(f *testing.F) {
	for _, s := range []string{"/", "/products", "/a b", "/a%20b", "/a%2Fb", "*", "/a?b", "/$&+,:;=@-_.~", "/é", "/a#b", "/%zz", "/a|b%2Fc", "/a|b/c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		for _, u := range []*url.URL{{Path: p}, mustParseRequestURI(p)} {
			if u == nil {
				continue
			}
			got, raw := appendEscapedPath(nil, u)
			if want := u.EscapedPath(); string(got) != want {
				t.Fatalf("path %q (raw %q): got %q, want %q", u.Path, u.RawPath, got, want)
			}
			if want := u.RawPath != "" && u.RawPath != u.EscapedPath(); raw != want {
				t.Fatalf("path %q (raw %q): raw path keyed %v, want %v", u.Path, u.RawPath, raw, want)
			}
		}
	})
}

func mustParseRequestURI(s string) *url.URL {
	u, err := url.ParseRequestURI(s)
	if err != nil {
		return nil
	}
	return u
}

// TestDecodesTo: decodesTo agrees with url.PathUnescape, which net/http
// decodes URL.Path with.
func TestDecodesTo(t *testing.T) {
	for _, raw := range []string{"", "/", "/a b", "/a%20b", "/a%2fb", "/a%2Fb", "/a+b", "/%C3%A9", "/é", "/%", "/%2", "/%zz", "/a%", "/%%41", "/%2541"} {
		want, err := url.PathUnescape(raw)
		for _, path := range []string{want, raw, want + "x", strings.TrimSuffix(want, "b")} {
			assert.Equal(t, err == nil && path == want, decodesTo(raw, path), "decodesTo(%q, %q)", raw, path)
		}
	}
}

// TestAppendKeyPart: '#' and '%' are escaped wherever they are, first or
// not, so that no part of a key can spell a separator or another escape.
func TestAppendKeyPart(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"shop.example":     "shop.example",
		"a#b":              "a%23b",
		"a%b":              "a%25b",
		"a%b#c":            "a%25b%23c",
		"a#b%c":            "a%23b%25c",
		"#%":               "%23%25",
		"%%##x":            "%25%25%23%23x",
		"tail#":            "tail%23",
		"sh%23op.example":  "sh%2523op.example",
		"prefix/" + "#u=a": "prefix/%23u=a",
	} {
		assert.Equal(t, want, string(appendKeyPart([]byte("k:"), in))[2:], in)
	}
}
