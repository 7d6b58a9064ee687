package memcached_test

import (
	"testing"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// A decrement that shortens the counter's decimal text (10 -> 9) is applied
// by memcached in place, padded with spaces: Get returned "9 ", not "9". The
// caching package's isInteger refused "9 ", took it for a corrupt entry and
// deleted the counter (Cache.Decr then Cache.Get: a miss).
func TestDecrementShorterReadsBackUnpadded(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s := open(t, memcached.Options{Servers: addrs[:1]})
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
