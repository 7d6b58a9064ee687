package decimal_test

import (
	"strconv"
	"testing"

	"github.com/go-caching/caching/internal/decimal"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		s  string
		n  int64
		ok bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"-7", -7, true},
		{"10", 10, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"", 0, false},
		{"-", 0, false},
		{"+", 0, false},
		{"+5", 0, false},
		{"007", 0, false},
		{"00", 0, false},
		{"-0", 0, false},
		{"-05", 0, false},
		{" 5", 0, false},
		{"5 ", 0, false},
		{"1_000", 0, false},
		{"0x10", 0, false},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
	} {
		n, ok := decimal.Parse(tc.s)
		if n != tc.n || ok != tc.ok {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tc.s, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzParse checks Parse against its definition: s is a counter exactly
// when strconv.FormatInt writes the number ParseInt reads from it as s.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "-0", "+1", "007", "-9223372036854775808", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := decimal.Parse(s)
		m, err := strconv.ParseInt(s, 10, 64)
		want := err == nil && strconv.FormatInt(m, 10) == s
		if ok != want || ok && n != m {
			t.Fatalf("Parse(%q) = %d, %v; want %d, %v", s, n, ok, m, want)
		}
	})
}
