package memcached_test

import (
	"errors"
	"testing"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// A decrement that shortens the counter's decimal text (10 -> 9) is applied
// by memcached in place, padded with spaces: Get returned "9 ", not "9". The
// caching package's isInteger refused "9 ", took it for a corrupt entry and
// deleted the counter (Cache.Decr then Cache.Get: a miss).
func TestDecrementShorterReadsBackUnpadded(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout})
	if err := s.Set(bg, "n", []byte("10"), 0); err != nil {
		t.Fatal(err)
	}
	n, err := s.Incr(bg, "n", -1)
	if err != nil || n != 9 {
		t.Fatalf("Incr(-1) = %d, %v; want 9", n, err)
	}
	v, err := s.Get(bg, "n")
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != "9" {
		t.Fatalf("Get after 10-1 = %q; want %q (the value Incr returned)", v, "9")
	}
	// GetMany sees the same bytes.
	vs, err := s.GetMany(bg, []string{"n"})
	if err != nil || string(vs[0]) != "9" {
		t.Fatalf("GetMany after 10-1 = %q, %v; want \"9\"", vs, err)
	}
}

// memcached's incr reads a value as strtoull does: leading blanks, a '+'
// and anything after a space are accepted, so a foreign value such as
// "5 apples" is incremented and replaced, where the backend.Incrementer
// contract asks for ErrNotInteger. The Store does not check (it would take
// a read before every incr, or a cas loop); the package doc says so. This
// pins what a caller then sees: the count, unpadded. Values memcached
// refuses give ErrNotInteger and are left alone. (A value of blanks alone
// is not among them: memcached 1.6 parses past its end, into whatever the
// server's memory holds after it, and may count from a number found there.)
func TestIncrOfForeignValues(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1], Timeout: testutil.SlowTimeout})
	for _, tc := range []struct {
		stored string
		want   string // "" for ErrNotInteger
	}{
		{"5 apples", "6"},
		{" 5", "6"},
		{"+5", "6"},
		{"007", "8"},
		{"-3", ""},
		{"", ""},
		{"12abc", ""},
	} {
		if err := s.Set(bg, "v", []byte(tc.stored), 0); err != nil {
			t.Fatal(err)
		}
		n, err := s.Incr(bg, "v", 1)
		v, gerr := s.Get(bg, "v")
		if gerr != nil {
			t.Fatal(gerr)
		}
		if tc.want == "" {
			if !errors.Is(err, backend.ErrNotInteger) || string(v) != tc.stored {
				t.Errorf("Incr of %q = %d, %v, value now %q; want ErrNotInteger and the value left alone", tc.stored, n, err, v)
			}
			continue
		}
		if err != nil || string(v) != tc.want {
			t.Errorf("Incr of %q = %d, %v, value now %q; want %s, nil and %q", tc.stored, n, err, v, tc.want, tc.want)
		}
	}
}
