package header

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestParseHTTPDate follows RFC 9110 section 5.6.7: the three forms are
// accepted, anything else (Expires: 0 among them) is not a date.
func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"  Sun, 06 Nov 1994 08:49:37 GMT\t",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
	} {
		got, ok := ParseHTTPDate(s)
		assert.True(t, ok, s)
		assert.True(t, want.Equal(got), "%s: %v", s, got)
	}
	for _, s := range []string{"", "0", "-1", "never", "Sun, 06 Nov 1994 08:49:37 PST", "Sunday, 06-Nov-94 08:49:37 PST",
		"Sun, 06 Nov 1994 08:49:37", "Thu, 01 Jan 1960 00:00:00 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"} {
		_, ok := ParseHTTPDate(s)
		assert.False(t, ok, "%q", s)
	}
}

func TestParseDeltaSecondsAndAge(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "60": 60, "007": 7, "2147483648": 1 << 31, "99999999999999999999": 1 << 31} {
		n, ok := ParseDeltaSeconds(s)
		assert.True(t, ok, s)
		assert.Equal(t, want, n, s)
	}
	for _, s := range []string{"", "-1", "1.5", " 1", "1s", "+3"} {
		_, ok := ParseDeltaSeconds(s)
		assert.False(t, ok, "%q", s)
	}
	tests := []struct {
		lines []string
		want  int64
		ok    bool
	}{
		{nil, 0, false},
		{[]string{"30"}, 30, true},
		{[]string{" 30 "}, 30, true},
		{[]string{"x"}, 0, false},
		{[]string{"10", "20"}, 20, true},    // several lines: the largest
		{[]string{"5, -1, 7"}, 7, true},     // a list: invalid values ignored
		{[]string{"1e3", "", "4"}, 4, true}, // only the valid one
	}
	for _, tt := range tests {
		n, ok := ParseAge(tt.lines)
		assert.Equal(t, tt.ok, ok, "%q", tt.lines)
		assert.Equal(t, tt.want, n, "%q", tt.lines)
	}
}

// FuzzParseHTTPDate: never panics, a parsed date is in UTC, after 1970, and
// reads back the same once written as IMF-fixdate.
func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseHTTPDate(s)
		if !ok {
			return
		}
		if d.Location() != time.UTC || d.Unix() < 0 {
			t.Fatalf("%q: %v", s, d)
		}
		again, ok := ParseHTTPDate(d.Format(http.TimeFormat))
		if !ok || !again.Equal(d.Truncate(time.Second)) {
			t.Fatalf("%q: %v does not read back (%v)", s, d, again)
		}
	})
}

// FuzzParseAge: never panics, never negative, never past 2^31, and a value
// it accepts in one line is accepted alone.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"0", "60", "99999999999999999999", "1, 2", " 3 ", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseAge([]string{s})
		if n < 0 || n > 1<<31 || !ok && n != 0 {
			t.Fatalf("%q: %d %v", s, n, ok)
		}
		if m, ok2 := ParseAge([]string{s, s}); m != n || ok2 != ok {
			t.Fatalf("%q: repeated gives %d, once %d", s, m, n)
		}
	})
}
