package caching

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalQuery(t *testing.T) {
	cases := []struct {
		name, a, b string
		opts       QueryKeyOptions
		same       bool
	}{
		{"order", "b=2&a=1", "a=1&b=2", QueryKeyOptions{}, true},
		{"duplicates kept", "a=1&a=2", "a=1", QueryKeyOptions{}, false},
		{"duplicate order", "a=2&a=1", "a=1&a=2", QueryKeyOptions{}, true},
		{"encoding", "q=a%20b", "q=a+b", QueryKeyOptions{}, true},
		{"empty pairs", "a=1&&b=2&", "b=2&a=1", QueryKeyOptions{}, true},
		{"value differs", "page=1", "page=2", QueryKeyOptions{}, false},
		{"name vs value", "a=b", "b=a", QueryKeyOptions{}, false},
		{"no value vs empty", "a", "a=", QueryKeyOptions{}, true},
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

// FuzzCanonicalQuery checks that canonical forms are stable (canonicalizing
// twice changes nothing), independent of parameter order, and that they
// keep what a server reads from the query.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"", "a=1", "b=2&a=1", "a=1&a=2", "q=a%20b&x", "%zz=1", "a=1;b=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		c := CanonicalQuery(q, QueryKeyOptions{})
		if again := CanonicalQuery(c, QueryKeyOptions{}); again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", q, c, again)
		}
		parts := strings.Split(q, "&")
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		if rev := CanonicalQuery(strings.Join(parts, "&"), QueryKeyOptions{}); rev != c {
			t.Fatalf("order matters: %q -> %q, reversed -> %q", q, c, rev)
		}
		// The canonical form keeps every parameter and value; it sorts the
		// values of a repeated name (?a=2&a=1 and ?a=1&a=2 share an entry).
		want, err1 := url.ParseQuery(q)
		got, err2 := url.ParseQuery(c)
		if err1 == nil && err2 == nil {
			for _, vs := range want {
				slices.Sort(vs)
			}
			if want.Encode() != got.Encode() {
				t.Fatalf("canonical form reads differently: %q (%v) -> %q (%v)", q, want, c, got)
			}
		}
	})
}
