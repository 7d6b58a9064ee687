package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDirectivesAsTheCacheReadsThem runs odd cache-control values through
// the proxy's reading of them, against what the library's own parser
// (internal/httpcache's ParseTargeted and ParseCacheControl, which this
// module cannot import) made of the same values, written down: whether
// the value is a targeted field the cache follows, whether it then shares
// (public true, or s-maxage), and whether as Cache-Control it shares. The
// cases were copied from a run against the library; where the two
// differ, the proxy decides on a response that the cache treats
// otherwise.
func TestDirectivesAsTheCacheReadsThem(t *testing.T) {
	for _, tc := range []struct {
		lines                     []string
		followed, targeted, plain bool
	}{
		{[]string{"public"}, true, true, true},
		{[]string{"public=?1"}, true, true, true},
		{[]string{"public=?0"}, true, false, true},
		{[]string{"public, public=?0"}, true, false, true},
		{[]string{"public=?0, public"}, true, true, true},
		{[]string{"public=?0", "public"}, true, true, true},
		{[]string{"public", "public=?0"}, true, false, true},
		{[]string{"public;a=1"}, true, true, false},
		{[]string{"public=?1;a=1, max-age=60"}, true, true, true},
		{[]string{"s-maxage=60"}, true, true, true},
		{[]string{"s-maxage=?0"}, true, true, true},
		{[]string{"s-maxage=\"x\""}, true, true, true},
		{[]string{"s-maxage=60, s-maxage=?0"}, true, true, true},
		{[]string{"Public"}, false, false, true},
		{[]string{"public,"}, false, false, true},
		{[]string{"public, "}, false, false, true},
		{[]string{" public"}, true, true, true},
		{[]string{"\tpublic"}, false, false, true},
		{[]string{""}, false, false, false},
		{[]string{" "}, false, false, false},
		{[]string{"", "public"}, true, true, true},
		{[]string{"max-age=60", ""}, true, false, false},
		{[]string{"public=1"}, true, false, true},
		{[]string{"public=\"?1\""}, true, false, true},
		{[]string{"public=tok"}, true, false, true},
		{[]string{"public=(a b)"}, true, false, true},
		{[]string{"max-age=60, public"}, true, true, true},
		{[]string{"max-age=60,public"}, true, true, true},
		{[]string{"max-age=60 ,public"}, true, true, true},
		{[]string{"max-age=60\t,\tpublic"}, true, true, true},
		{[]string{"max-age=1.5, public"}, true, true, true},
		{[]string{"max-age=1., public"}, false, false, true},
		{[]string{"max-age=-1, public"}, true, true, true},
		{[]string{"max-age=1234567890123456, public"}, false, false, true},
		{[]string{"a=\"x\\y\", public"}, false, false, true},
		{[]string{"a=\"x\\\"y\", public"}, true, true, true},
		{[]string{"a=:YWJj:, public"}, true, true, true},
		{[]string{"a=:YW$j:, public"}, false, false, true},
		{[]string{"a=\"unterminated, public"}, false, false, false},
		{[]string{"a=(1 2;x=3) ;y, public"}, false, false, true},
		{[]string{"a=(1 2), public"}, true, true, true},
		{[]string{"a=(1  2 ), public"}, true, true, true},
		{[]string{"*x, public"}, true, true, true},
		{[]string{"a=*b/c:d, public"}, true, true, true},
		{[]string{"a=?2, public"}, false, false, true},
		{[]string{"public; q"}, true, true, false},
		{[]string{"public;Q=1"}, false, false, false},
		{[]string{"community=\"UCI,public\""}, true, false, false},
		{[]string{"no-cache=\"a, public\""}, true, false, false},
		{[]string{"private, public"}, true, true, true},
		{[]string{"public=?1, public=?0, public"}, true, true, true},
		{[]string{"x=é, public"}, false, false, true},
		{[]string{"publıc"}, false, false, false},
		{[]string{"ſ-maxage=1"}, false, false, false},
		{[]string{"s-maxage"}, true, true, true},
		{[]string{"public=,"}, false, false, true},
		{[]string{"=public"}, false, false, false},
		{[]string{"public=\"a\" , max-age=1"}, true, false, true},
		{[]string{"max-age=60 public"}, false, false, false},
		{[]string{"max-age=60;public"}, true, false, false},
		{[]string{"public=?0;a", "max-age=60"}, true, false, true},
		{[]string{"s-maxage=1, public=?0"}, true, true, true},
		{[]string{"public=?0, s-maxage=1"}, true, true, true},
	} {
		name := fmt.Sprintf("%q", tc.lines)
		_, ok := targetedDirectives(tc.lines)
		assert.Equal(t, tc.followed, ok, "%s: followed as a targeted field", name)
		assert.Equal(t, tc.targeted, sharesWithAuthorization(http.Header{"Cdn-Cache-Control": tc.lines}, "Cdn-Cache-Control"), "%s: a targeted field that shares", name)
		assert.Equal(t, tc.plain, sharesWithAuthorization(http.Header{"Cache-Control": tc.lines}, "Cache-Control"), "%s: Cache-Control that shares", name)
	}
}

// TestLastPublicOfATargetedField: a targeted field's member given twice
// takes its last value (RFC 8941 section 3.2), as the cache reads it; the
// proxy took any true public for public, so that a token user's data
// sent with "public, max-age=60, must-revalidate, public=?0" was not made
// private, and was served to an anonymous client by its must-revalidate.
func TestLastPublicOfATargetedField(t *testing.T) {
	for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
		testCredentialPages(t, fmt.Sprint(args), args, http.Header{
			"Cdn-Cache-Control": {"public, max-age=60, must-revalidate", "public=?0"},
		})
	}
}
