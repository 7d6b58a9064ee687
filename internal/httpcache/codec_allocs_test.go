package httpcache

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeAllocationsDoNotDependOnTheBody: the Content-Length check spelt
// the body's length with strconv.Itoa, which allocates for lengths of 100
// and more: every remote hit of a real page paid one allocation more than
// the benchmarks of tiny bodies showed. Decoding a 2 KiB snapshot costs
// what decoding a 10-byte one does.
func TestDecodeAllocationsDoNotDependOnTheBody(t *testing.T) {
	allocs := func(body string) float64 {
		s := NewSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/plain"}}, []byte(body), time.Unix(1e9, 0))
		data := s.Encode(nil)
		_, err := Decode(data)
		require.NoError(t, err)
		return testing.AllocsPerRun(100, func() { _, _ = Decode(data) })
	}
	assert.Equal(t, allocs("0123456789"), allocs(strings.Repeat("x", 2048)))
}

// TestDecodeOuterDirectivesAllocatesNothingMore: a snapshot with outer
// directives (format version 3) had them decoded by Decode, on every remote
// hit, which never reads them: 4 allocations more than the same response
// whose handler set the field (version 1). Decode now checks them and
// leaves them to be decoded when first read: it allocates no more than for
// that response, and they read back as they were set.
func TestDecodeOuterDirectivesAllocatesNothingMore(t *testing.T) {
	body := []byte(strings.Repeat("x", 2048))
	own := NewSharedSnapshot(http.StatusOK, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=3600"}}, body, time.Unix(1e9, 0))
	outer := NewSharedSnapshot(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, body, time.Unix(1e9, 0))
	outer.SetOuterDirectives(http.Header{"Cache-Control": {"max-age=3600"}})
	ownData, outerData := own.Encode(nil), outer.Encode(nil)
	require.Equal(t, byte(formatVersion), ownData[len(magic)])
	require.Equal(t, byte(formatOuter), outerData[len(magic)])

	allocs := func(data []byte) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, err := Decode(data); err != nil {
				t.Fatal(err)
			}
		})
	}
	assert.LessOrEqual(t, allocs(outerData), allocs(ownData), "decoding a version 3 entry allocates no more than a version 1 one")

	d, err := Decode(outerData)
	require.NoError(t, err)
	assert.Equal(t, http.Header{"Cache-Control": {"max-age=3600"}}, d.OuterDirectives())
	assert.Equal(t, own.Header, d.JudgedHeader())
	assert.Equal(t, outerData, d.Encode(nil))
}

// TestDecodedOuterDirectivesConcurrent: a decoded snapshot is shared by
// every hit of a near cache's entry; the first of them to judge it decodes
// its outer directives, and the others, at the same time, read the same
// (run with -race).
func TestDecodedOuterDirectivesConcurrent(t *testing.T) {
	s := NewSharedSnapshot(http.StatusOK, http.Header{"Content-Type": {"text/plain"}}, []byte("body"), time.Unix(1e9, 0))
	s.SetOuterDirectives(http.Header{"Cache-Control": {"public, max-age=10"}, "Cdn-Cache-Control": {"max-age=60"}})
	s.SetDeleted([]string{"X-Frame-Options"})
	data := s.Encode(nil)
	d, err := Decode(data)
	require.NoError(t, err)
	var wg sync.WaitGroup
	got := make([]http.Header, 8)
	for i := range got {
		wg.Go(func() {
			if i%2 == 0 {
				got[i] = d.OuterDirectives()
			} else {
				got[i] = d.JudgedHeader()
			}
		})
	}
	wg.Wait()
	for i, h := range got {
		assert.Equal(t, []string{"public, max-age=10"}, h["Cache-Control"], "goroutine %d", i)
		assert.Equal(t, []string{"max-age=60"}, h["Cdn-Cache-Control"], "goroutine %d", i)
	}
	assert.Equal(t, data, d.Encode(nil))
	assert.Equal(t, []string{"X-Frame-Options"}, d.Deleted())
}

// TestDecodeVersion4OuterDirectivesAllocatesNothingMore: an entry whose
// handler suppressed the Content-Type (format version 4) may hold outer
// directives too; Decode leaves them encoded, as it does a version 3
// entry's, so that a hit costs no more than one of the same response whose
// handler set the field (version 4 with an empty outer section). They read
// back as they were set, and are checked as strictly: a field with no
// value, which only the header section may hold (a Content-Type), is
// refused there.
func TestDecodeVersion4OuterDirectivesAllocatesNothingMore(t *testing.T) {
	body := []byte(strings.Repeat("<p>hello</p>\n", 200))
	own := NewSharedSnapshot(http.StatusOK, http.Header{"Content-Type": nil, "Cache-Control": {"max-age=3600"}}, body, time.Unix(1e9, 0))
	outer := NewSharedSnapshot(http.StatusOK, http.Header{"Content-Type": nil}, body, time.Unix(1e9, 0))
	outer.SetOuterDirectives(http.Header{"Cache-Control": {"max-age=3600"}})
	ownData, outerData := own.Encode(nil), outer.Encode(nil)
	require.Equal(t, byte(formatUntyped), ownData[len(magic)])
	require.Equal(t, byte(formatUntyped), outerData[len(magic)])

	allocs := func(data []byte) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, err := Decode(data); err != nil {
				t.Fatal(err)
			}
		})
	}
	assert.LessOrEqual(t, allocs(outerData), allocs(ownData), "decoding a version 4 entry's outer directives allocates nothing more")

	d, err := Decode(outerData)
	require.NoError(t, err)
	vs, ok := d.Header["Content-Type"]
	assert.True(t, ok && vs == nil, "the suppressed Content-Type")
	assert.Equal(t, http.Header{"Cache-Control": {"max-age=3600"}}, d.OuterDirectives())
	assert.Equal(t, own.Header, d.JudgedHeader())
	assert.Equal(t, outerData, d.Encode(nil))

	// The empty outer section (length 2, then field-count 0, value-count
	// 0) just before the body's length and the body, replaced with one
	// holding a Content-Type with no value.
	end := len(ownData) - len(body) - uvarintLen(uint64(len(body)))
	require.Equal(t, "\x02"+emptySection, string(ownData[end-1-len(emptySection):end]))
	section := "\x01\x00\x0cContent-Type\x00"
	bad := append(append(append([]byte{}, ownData[:end-1-len(emptySection)]...), byte(len(section))), section...)
	bad = append(bad, ownData[end:]...)
	_, err = Decode(bad)
	assert.ErrorIs(t, err, ErrCorrupt, "an outer directive with no value")
}
