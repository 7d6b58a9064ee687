package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
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
		{"whitespace", []string{"Accept-Language"}, http.Header{"Accept-Language": {"en-US,  fr;q=0.5"}}, http.Header{"Accept-Language": {" en-US , fr;q=0.5 "}}},
		{"lines joined", []string{"Accept-Language"}, http.Header{"Accept-Language": {"en", "fr"}}, http.Header{"Accept-Language": {"en, fr"}}},
		{"AE order", ae, http.Header{"Accept-Encoding": {"gzip, deflate, br"}}, http.Header{"Accept-Encoding": {"br,gzip,deflate"}}},
		{"AE case and q=1", ae, http.Header{"Accept-Encoding": {"GZIP;q=1.0, br"}}, http.Header{"Accept-Encoding": {"br, gzip"}}},
		{"AE x-gzip", ae, http.Header{"Accept-Encoding": {"x-gzip"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE duplicate", ae, http.Header{"Accept-Encoding": {"gzip, gzip;q=0.5"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE q forms", ae, http.Header{"Accept-Encoding": {"gzip;q=0.50"}}, http.Header{"Accept-Encoding": {"gzip; Q=0.5"}}},
		{"AE lines", ae, http.Header{"Accept-Encoding": {"gzip", "br"}}, http.Header{"Accept-Encoding": {"br, gzip"}}},
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
		{"AE q", ae, http.Header{"Accept-Encoding": {"gzip;q=0.5"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"AE identity;q=0", ae, http.Header{"Accept-Encoding": {"gzip, identity;q=0"}}, http.Header{"Accept-Encoding": {"gzip"}}},
		{"injection", []string{"A", "B"}, http.Header{"A": {"1&B=2"}}, http.Header{"A": {"1"}, "B": {"2"}}},
		{"case of value kept", []string{"X-Tenant"}, http.Header{"X-Tenant": {"Acme"}}, http.Header{"X-Tenant": {"acme"}}},
	}
	for _, tt := range differ {
		t.Run("differ/"+tt.name, func(t *testing.T) {
			assert.NotEqual(t, variant(tt.names, tt.a), variant(tt.names, tt.b))
		})
	}
	assert.Equal(t, "", variant(nil, http.Header{"A": {"1"}}))
	assert.Equal(t, "Accept-Encoding=br,gzip;q%3D0.5,identity;q%3D0", variant(ae, http.Header{"Accept-Encoding": {"gzip;q=0.5, identity;q=0, br"}}))
}

func FuzzVariantKey(f *testing.F) {
	f.Add("gzip, br;q=0.5", "en")
	f.Add("x-gzip;q=abc,,;", "a&b=c%")
	f.Fuzz(func(t *testing.T, ae, lang string) {
		names := []string{"Accept-Encoding", "Accept-Language"}
		h := http.Header{"Accept-Encoding": {ae}, "Accept-Language": {lang}}
		k := variant(names, h)
		// Canonical: the canonical form of the canonical form is itself.
		ae2 := canonicalAcceptEncoding([]string{ae})
		lang2 := normalizeValues([]string{lang})
		if k2 := variant(names, http.Header{"Accept-Encoding": {ae2}, "Accept-Language": {lang2}}); k2 != k {
			t.Fatalf("not idempotent: %q vs %q", k, k2)
		}
	})
}
