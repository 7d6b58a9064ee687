package memcached

import "testing"

// unpad trims only the shape memcached's incr and decr leave: digits, then
// spaces. Anything else, an encoded entry ending in a space included, is
// returned as stored.
func TestUnpad(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"9 ", "9"},
		{"0                   ", "0"},
		{"99  ", "99"},
		{"9", "9"},
		{"", ""},
		{" ", " "},
		{"   ", "   "},
		{" 9 ", " 9 "},
		{"-3 ", "-3 "},
		{"1 2 ", "1 2 "},
		{"ce\x01 ", "ce\x01 "},
		{"9\t", "9\t"},
	} {
		if got := string(unpad([]byte(tc.in))); got != tc.want {
			t.Errorf("unpad(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
