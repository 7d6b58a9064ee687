package header_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/header"
)

func TestIsToken(t *testing.T) {
	for _, s := range []string{"gzip", "X-Cache", "!#$%&'*+-.^_`|~09azAZ"} {
		assert.True(t, header.IsToken(s), s)
	}
	for _, s := range []string{"", "a b", "a,b", "a;b", `"a"`, "a:b", "a/b", "é", "a\x00", "(a)", "a=b", "[a]", "{a}", "a?", "a@b", "a\\b", "a<b>"} {
		assert.False(t, header.IsToken(s), s)
	}
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f && !containsByte(`"(),/:;<=>?@[\]{}`, byte(c))
		assert.Equal(t, want, header.IsTchar(byte(c)), "byte %#x", c)
	}
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func TestTrimOWS(t *testing.T) {
	assert.Equal(t, "a \t b", header.TrimOWS(" \t a \t b\t "))
	assert.Equal(t, "", header.TrimOWS(" \t "))
	assert.Equal(t, "\na\r", header.TrimOWS("\na\r"), "only space and tab are OWS")
}

func TestEqualLower(t *testing.T) {
	assert.True(t, header.EqualLower("GZip", "gzip"))
	assert.True(t, header.EqualLower("no-STORE", "no-store"))
	assert.False(t, header.EqualLower("gzip2", "gzip"))
	assert.False(t, header.EqualLower("no-\u017ftore", "no-store"), "no Unicode folding")
	assert.False(t, header.EqualLower("\u212a", "k"), "no Unicode folding")
}
