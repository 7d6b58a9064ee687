package httpcache

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
)

func TestParseVary(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
		star  bool
	}{
		{"absent", nil, nil, false},
		{"one", []string{"accept-encoding"}, []string{"Accept-Encoding"}, false},
		{"sorted dedup several lines", []string{"Accept-Language, accept", "ACCEPT , X-Tenant,,"}, []string{"Accept", "Accept-Language", "X-Tenant"}, false},
		{"star", []string{"Accept", "*"}, []string{"Accept"}, true},
		{"only star", []string{"*"}, nil, true},
		{"comma left out", []string{"Accept-Language Cookie"}, nil, true},
		{"stray semicolon", []string{"Accept, Cookie;"}, []string{"Accept"}, true},
		{"quoted", []string{`"Cookie"`}, nil, true},
		{"not ascii", []string{"Coökie"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, star := ParseVary(http.Header{"Vary": tt.lines})
			assert.Equal(t, tt.want, names)
			assert.Equal(t, tt.star, star)
		})
	}
}

func variant(names []string, h http.Header) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for k, v := range h {
		r.Header[k] = v
	}
	return VariantKey(r, names)
}

func TestVariantKey(t *testing.T) {
	ae := []string{"Accept-Encoding"}
	same := []struct {
		name  string
		names []string
		a, b  http.Header
	}{
		{"AE order", ae, http.Header{"Accept-Encoding": {"gzip, deflate, br"}}, http.Header{"Accept-Encoding": {"br,gzip,deflate"}}},
		{"AE case and q=1", ae, http.Header{"Accept-Encoding": {"GZIP;q=1.0, br"}}, http.Header{"Accept-Encoding": {"br, gzip"}}},
		{"AE x-gzip", ae, http.Header{"Accept-Encoding": {"x-gzip"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE duplicate", ae, http.Header{"Accept-Encoding": {"gzip, gzip;q=0.5"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE q forms", ae, http.Header{"Accept-Encoding": {"gzip;q=0.50"}}, http.Header{"Accept-Encoding": {"gzip; Q=0.5"}}},
		{"AE lines", ae, http.Header{"Accept-Encoding": {"gzip", "br"}}, http.Header{"Accept-Encoding": {"br, gzip"}}},
		{"AE weights that negotiate alike", ae, http.Header{"Accept-Encoding": {"gzip;q=0.5"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE unknown codings", ae, http.Header{"Accept-Encoding": {"gzip, compress, lzma;q=0.1"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE star as the codings", ae, http.Header{"Accept-Encoding": {"*"}}, http.Header{"Accept-Encoding": {"zstd, br, gzip, deflate"}}},
		{"unrelated header ignored", ae, http.Header{"Accept-Encoding": {"gzip"}, "X-Other": {"1"}}, http.Header{"Accept-Encoding": {"gzip"}}},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			assert.Equal(t, variant(tt.names, tt.a), variant(tt.names, tt.b))
		})
	}
	differ := []struct {
		name  string
		names []string
		a, b  http.Header
	}{
		{"values", []string{"Accept-Language"}, http.Header{"Accept-Language": {"en"}}, http.Header{"Accept-Language": {"fr"}}},
		{"absent vs empty", ae, http.Header{}, http.Header{"Accept-Encoding": {""}}},
		{"AE order of weights", ae, http.Header{"Accept-Encoding": {"gzip;q=0.5, br"}}, http.Header{"Accept-Encoding": {"gzip, br;q=0.5"}}},
		{"AE refused", ae, http.Header{"Accept-Encoding": {"gzip;q=0"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"whitespace inside quotes kept", []string{"X-A"}, http.Header{"X-A": {`"a  b"`}}, http.Header{"X-A": {`"a b"`}}},
		{"lines are joined with a comma", []string{"X-A"}, http.Header{"X-A": {`"a`, `b"`}}, http.Header{"X-A": {`"a,b"`}}},
		{"AE identity;q=0", ae, http.Header{"Accept-Encoding": {"gzip, identity;q=0"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"injection", []string{"A", "B"}, http.Header{"A": {"1&B=2"}}, http.Header{"A": {"1"}, "B": {"2"}}},
		{"case of value kept", []string{"X-Tenant"}, http.Header{"X-Tenant": {"Acme"}}, http.Header{"X-Tenant": {"acme"}}},
		// Values are keyed as the handler reads them: no normalization a
		// handler comparing bytes would not make.
		{"trailing comma", []string{"X-Version"}, http.Header{"X-Version": {"2"}}, http.Header{"X-Version": {"2,"}}},
		{"whitespace", []string{"Accept-Language"}, http.Header{"Accept-Language": {"en-US,  fr;q=0.5"}}, http.Header{"Accept-Language": {"en-US, fr;q=0.5"}}},
		{"two lines are not one", []string{"Accept-Language"}, http.Header{"Accept-Language": {"en", "fr"}}, http.Header{"Accept-Language": {"en, fr"}}},
		{"line order", []string{"X-A"}, http.Header{"X-A": {"a", "b"}}, http.Header{"X-A": {"b", "a"}}},
		{"line break spelled in a value", []string{"X-A"}, http.Header{"X-A": {"a", "b"}}, http.Header{"X-A": {"a=b"}}},
	}
	for _, tt := range differ {
		t.Run("differ/"+tt.name, func(t *testing.T) {
			assert.NotEqual(t, variant(tt.names, tt.a), variant(tt.names, tt.b))
		})
	}
	assert.Equal(t, "", variant(nil, http.Header{"A": {"1"}}))
	assert.Equal(t, "Accept-Encoding=identity1,zstd1,br3,gzip2,deflate1", variant(ae, http.Header{"Accept-Encoding": {"gzip;q=0.5, identity;q=0, br"}}))
	assert.Equal(t, "Accept-Encoding", variant(ae, http.Header{}))
}

// TestVariantKeyFourDecimalsIsNotGzip is issue 18.2: compress reads
// "gzip;q=0.5000" as malformed (no gzip) and the cache keyed it as
// "gzip;q=0.5", so a stored gzip body reached a client compress answers
// unencoded.
func TestVariantKeyFourDecimalsIsNotGzip(t *testing.T) {
	ae := []string{"Accept-Encoding"}
	assert.NotEqual(t, variant(ae, http.Header{"Accept-Encoding": {"gzip;q=0.5"}}), variant(ae, http.Header{"Accept-Encoding": {"gzip;q=0.5000"}}))
	assert.Equal(t, variant(ae, http.Header{"Accept-Encoding": {""}}), variant(ae, http.Header{"Accept-Encoding": {"gzip;q=0.5000"}}))
}

// TestVariantKeyOtherParameterThenRefusal is issue 12.6: "gzip;foo=1,
// gzip;q=0" was keyed as "gzip" and served gzip from the cache where
// compress refuses gzip.
func TestVariantKeyOtherParameterThenRefusal(t *testing.T) {
	ae := []string{"Accept-Encoding"}
	refused := variant(ae, http.Header{"Accept-Encoding": {"gzip;foo=1, gzip;q=0"}})
	assert.NotEqual(t, variant(ae, http.Header{"Accept-Encoding": {"gzip"}}), refused)
	assert.Equal(t, variant(ae, http.Header{"Accept-Encoding": {"gzip;q=0"}}), refused)
}

// TestVariantKeyThousandSpellingsOneVariant is issue 12.6: a thousand
// spellings of Accept-Encoding that all negotiate gzip stored a thousand
// entries for one URL.
func TestVariantKeyThousandSpellingsOneVariant(t *testing.T) {
	names := []string{"Accept-Encoding", "Accept-Language"}
	keys := map[string]int{}
	for i := range 1000 {
		q := "1"
		if i%999 != 0 {
			q = fmt.Sprintf("0.%03d", i%999)
		}
		coding := []string{"gzip", "GZIP", "x-gzip", "Gzip"}[i%4]
		ae := fmt.Sprintf("%s;q=%s, compress;q=%d, x-custom-%d, identity;q=0.000", coding, q, i%2, i)
		keys[variant(names, http.Header{"Accept-Encoding": {ae}, "Accept-Language": {"en"}})]++
	}
	assert.Len(t, keys, 1, "%v", keys)
	for _, algos := range [][]string{nil, {"gzip"}, {"br", "deflate"}} {
		c := compress.Must(compress.Options{Algorithms: algos})
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", "x-gzip;q=0.001, compress")
		want := "gzip"
		if algos != nil && !slices.Contains(algos, "gzip") {
			want = ""
		}
		assert.Equal(t, want, c.Negotiate(r), "the variant's requests negotiate alike (%v)", algos)
	}
}

// FuzzVariantKey checks that requests sharing an Accept-Encoding variant
// get the same coding from compress, whatever its preference order, and
// that other headers' values are keyed apart whenever they differ.
func FuzzVariantKey(f *testing.F) {
	f.Add("gzip, br;q=0.5", "gzip;q=0.5000", "en")
	f.Add("x-gzip;q=abc,,;", "gzip;foo=1, gzip;q=0", `a&b=c% "x,  y"`)
	compressors := []*compress.Compressor{
		compress.Must(compress.Options{}),
		compress.Must(compress.Options{Algorithms: []string{"gzip", "br", "zstd", "deflate"}}),
		compress.Must(compress.Options{Algorithms: []string{"deflate", "gzip"}}),
	}
	f.Fuzz(func(t *testing.T, ae1, ae2, lang string) {
		ae := []string{"Accept-Encoding"}
		r1 := httptest.NewRequest(http.MethodGet, "/", nil)
		r1.Header["Accept-Encoding"] = []string{ae1}
		r2 := httptest.NewRequest(http.MethodGet, "/", nil)
		r2.Header["Accept-Encoding"] = []string{ae2}
		if VariantKey(r1, ae) == VariantKey(r2, ae) {
			for _, c := range compressors {
				if x, y := c.Negotiate(r1), c.Negotiate(r2); x != y {
					t.Fatalf("%q and %q share a variant but negotiate %q and %q", ae1, ae2, x, y)
				}
			}
		}
		// Other headers: two different values never share a variant.
		names := []string{"Accept-Language"}
		if lang != ae2 && variant(names, http.Header{"Accept-Language": {lang}}) == variant(names, http.Header{"Accept-Language": {ae2}}) {
			t.Fatalf("%q and %q share a variant", lang, ae2)
		}
		if variant(names, http.Header{"Accept-Language": {lang, ae2}}) == variant(names, http.Header{"Accept-Language": {lang + ", " + ae2}}) {
			t.Fatalf("two lines %q, %q share a variant with their combined value", lang, ae2)
		}
	})
}

// TestVariantKeyHost: net/http moves Host out of the header map into
// r.Host, so Vary: Host keyed every request as "no Host", and with
// IgnoreHost one host's page was served to another.
func TestVariantKeyHost(t *testing.T) {
	a := httptest.NewRequest(http.MethodGet, "http://a.example/", nil)
	b := httptest.NewRequest(http.MethodGet, "http://b.example/", nil)
	names := []string{"Host"}
	assert.NotEqual(t, VariantKey(a, names), VariantKey(b, names))
	assert.Equal(t, "Host=a.example", VariantKey(a, names))
}

// TestVariantKeyUnderscoreSpellings: CGI-style servers (PHP-FPM, WSGI,
// Rack) hand "Accept_Language" to the application as HTTP_ACCEPT_LANGUAGE,
// as they do Accept-Language, while Go keeps it as another field,
// "Accept_language". A request with such a spelling of a Vary name shared
// the variant of a request without the field, and the response made for
// its value was stored for everyone.
func TestVariantKeyUnderscoreSpellings(t *testing.T) {
	lang := []string{"Accept-Language"}
	none := variant(lang, nil)
	fr := variant(lang, http.Header{"Accept_language": {"fr"}})
	assert.NotEqual(t, none, fr, "an underscore spelling shares the variant of no field")
	assert.NotEqual(t, variant(lang, http.Header{"Accept-Language": {"fr"}}), fr)
	assert.NotEqual(t, variant(lang, http.Header{"Accept_language": {"en"}}), fr)
	assert.NotEqual(t, variant(lang, http.Header{"Accept-Language": {"en"}, "Accept_language": {"fr"}}),
		variant(lang, http.Header{"Accept-Language": {"en"}}))
	assert.Equal(t, fr, variant(lang, http.Header{"Accept_language": {"fr"}, "X_other": {"1"}}),
		"an underscore field that spells no Vary name is not keyed")
	// Both spellings at once, in either order of the map: one key.
	h := http.Header{"Accept_language": {"fr"}, "Accept_Language": {"de"}, "ACCEPT-language": {"it"}}
	assert.Equal(t, variant(lang, h), variant(lang, h.Clone()))
	// A Vary name with an underscore is read by such an origin from the
	// dashed field too.
	tenant := []string{"X_tenant"}
	assert.NotEqual(t, variant(tenant, nil), variant(tenant, http.Header{"X-Tenant": {"a"}}))
	// Without an underscore anywhere, the key is what it was.
	assert.Equal(t, "Accept-Language=en", variant(lang, http.Header{"Accept-Language": {"en"}, "X-Other": {"1"}}))
	// Keyed values are escaped: no spelling's value can forge another's.
	assert.NotEqual(t, variant(lang, http.Header{"Accept_language": {"a#Accept_language=b"}}),
		variant(lang, http.Header{"Accept_language": {"a"}, "Accept_languagE": {"b"}}))
}

// TestVariesOnClientAddressUnderscore: "Vary: X_Forwarded_For" names, for
// a CGI-style origin, the field a proxy sets from the client's address.
func TestVariesOnClientAddressUnderscore(t *testing.T) {
	for _, v := range []string{"X_Forwarded_For", "x_real_ip", "X-Forwarded_For"} {
		names, _ := ParseVary(http.Header{"Vary": {v}})
		assert.True(t, VariesOnClientAddress(names), v)
	}
	names, _ := ParseVary(http.Header{"Vary": {"X_Forwarded_Host, Accept"}})
	assert.False(t, VariesOnClientAddress(names))
}

// TestVariantKeyNoUnderscoreAllocs: the spellings are looked for without
// allocating: a request without an underscore in its field names costs
// the allocations of its key string alone, however many fields it has.
func TestVariantKeyNoUnderscoreAllocs(t *testing.T) {
	names := []string{"Accept-Language", "X-Tenant"}
	bare := httptest.NewRequest(http.MethodGet, "/", nil)
	bare.Header = http.Header{"Accept-Language": {"en-US,en;q=0.9,fr;q=0.8"}}
	full := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := range 20 {
		full.Header.Set(fmt.Sprintf("X-Field-%d", i), "v")
	}
	full.Header.Set("Accept-Language", "en-US,en;q=0.9,fr;q=0.8")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = headerHasUnderscore(full.Header) }))
	assert.Equal(t, testing.AllocsPerRun(100, func() { _ = VariantKey(bare, names) }),
		testing.AllocsPerRun(100, func() { _ = VariantKey(full, names) }))
}

func TestHasField(t *testing.T) {
	assert.True(t, HasField(http.Header{"If-Match": {`"a"`}}, "If-Match"))
	assert.True(t, HasField(http.Header{"If_match": {`"a"`}}, "If-Match"))
	assert.True(t, HasField(http.Header{"IF_MATCH": {`"a"`}}, "If-Match"))
	assert.False(t, HasField(http.Header{"If_match": {}}, "If-Match"))
	assert.False(t, HasField(http.Header{"If-None-Match": {`"a"`}, "X_y": {"1"}}, "If-Match"))
	assert.False(t, HasField(nil, "If-Match"))
}

// TestHasOtherSpelling: the spellings of a name that a client's request
// can hold under another field name (canonicalized by net/http) are found
// by lookups for a name with a few dashes, and by a look over every field
// otherwise; the name itself, or an unrelated field, is no other spelling.
func TestHasOtherSpelling(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		want        bool
	}{
		{"Accept-Language", "Accept-Language", false},
		{"Accept-Language", "Accept_language", true},
		{"Accept-Language", "Accept-Encoding", false},
		{"Sec-Ch-Ua-Platform", "Sec-Ch_ua-Platform", true},
		{"Sec-Ch-Ua-Platform", "Sec_ch_ua_platform", true},
		{"A-B-C-D-E-F", "A_b-C-D-E-F", true}, // past maxSpellingDashes: every field looked at
		{"A-B-C-D-E-F", "A-B-C-D-E-G", false},
		{"X_Tenant", "X-Tenant", true}, // a Vary name with '_'
		{"X-", "X_", true},
		{"Origin", "Origin", false},
	} {
		h := http.Header{}
		h[tc.field] = []string{"v"}
		h["Other_field"] = []string{"w"}
		if got := hasOtherSpelling(h, tc.name); got != tc.want {
			t.Errorf("hasOtherSpelling(%q) with field %q = %v, want %v", tc.name, tc.field, got, tc.want)
		}
	}
}

// TestVaryTooLarge: the bound counts every line of the named fields, of
// their '_' spellings and r.Host for Host, and nothing else; it allocates
// nothing.
func TestVaryTooLarge(t *testing.T) {
	al := []string{"Accept-Language"}
	// The name and one separator a line count.
	fill := func(n int) string { return strings.Repeat("a", n) }
	at := MaxVaryBytes - len("Accept-Language") - 1
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Language", fill(at))
	assert.False(t, VaryTooLarge(r, al), "at the bound")
	r.Header.Set("Accept-Language", fill(at+1))
	assert.True(t, VaryTooLarge(r, al), "one byte past it")
	assert.False(t, VaryTooLarge(r, nil), "no names")
	assert.False(t, VaryTooLarge(r, []string{"Cookie"}), "a field not named")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = VaryTooLarge(r, al) }))

	r.Header = http.Header{"Accept-Language": {fill(at / 2), fill(at / 2)}}
	assert.True(t, VaryTooLarge(r, al), "lines add up")
	r.Header = http.Header{"Accept-Language": {"en"}, "Accept_language": {fill(MaxVaryBytes)}}
	assert.True(t, VaryTooLarge(r, al), "another spelling counts")
	r.Header = http.Header{"Accept-Language": {fill(at / 2)}, "Cookie": {fill(at / 2)}}
	assert.True(t, VaryTooLarge(r, []string{"Accept-Language", "Cookie"}), "fields add up")
	r.Header = http.Header{}
	r.Host = fill(MaxVaryBytes)
	assert.True(t, VaryTooLarge(r, []string{"Host"}), "r.Host")
}

// TestVariantKeyLongLineEscaped: a long line is keyed byte for byte, with
// its escapes, as a short one.
func TestVariantKeyLongLineEscaped(t *testing.T) {
	v := strings.Repeat("ab&=#%\xff\x01", 1000) + "tail"
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-A", v)
	want := "X-A=" + strings.Repeat("ab%26%3D%23%25%FF%01", 1000) + "tail"
	assert.Equal(t, want, VariantKey(r, []string{"X-A"}))
}
