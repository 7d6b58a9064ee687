// Package decimal reads a counter's value as every backend of this module
// agrees to read one: an integer as strconv.FormatInt writes it, which is
// how Redis's INCRBY reads one.
package decimal

import "strconv"

// Parse returns the integer s holds and true when s is an int64 written as
// strconv.FormatInt writes it: an optional '-', then decimal digits, the
// first not 0 unless the number is 0 itself. Anything else ("+5", "007",
// "-0", " 5", "5 ", a number past the int64 range) gives false.
func Parse(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	// ParseInt read an optional sign and digits only: refuse the sign '+'
	// and a leading zero, of the number or after the '-'.
	digits := s
	switch s[0] {
	case '+':
		return 0, false
	case '-':
		digits = s[1:]
	}
	if digits[0] == '0' && len(s) > 1 {
		return 0, false
	}
	return n, true
}
