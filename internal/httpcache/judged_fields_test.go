package httpcache

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJudgedFieldsAdded: what a writer outside a cache added to the header
// of a response the cache serves, among the fields that decide whether it
// may be stored: every spelling of a judged key counts, the targeted field
// too, other fields and values already there do not.
func TestJudgedFieldsAdded(t *testing.T) {
	pre := http.Header{
		"Cache-Control": {"max-age=60"},
		"Vary":          {"Accept-Encoding"},
		"X-Other":       {"1"},
	}
	post := http.Header{
		"Cache-Control":     {"max-age=60", `no-cache="Set-Cookie"`},
		"Vary":              {"Accept-Encoding"},
		"set-cookie":        {"session=alice"},
		"Cdn-Cache-Control": {"private"},
		"X-Other":           {"1", "2"},
	}
	const targeted = "Cdn-Cache-Control"
	got := Added(JudgedFields(pre, targeted), JudgedFields(post, targeted))
	assert.Equal(t, http.Header{
		"Cache-Control":     {`no-cache="Set-Cookie"`},
		"Set-Cookie":        {"session=alice"},
		"Cdn-Cache-Control": {"private"},
	}, got)
	assert.Nil(t, Added(JudgedFields(pre, targeted), JudgedFields(pre, targeted)), "nothing added")
	assert.Nil(t, JudgedFields(http.Header{"X-Other": {"1"}, "": {"x"}}, ""), "no judged field; no targeted one")
}
