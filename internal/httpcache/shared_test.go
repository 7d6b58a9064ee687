package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func date(d time.Duration) string { return t0.Add(d).Format(http.TimeFormat) }

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func sharedResponse(p *Shared, status int, h http.Header, reqHdr ...string) (Freshness, Reason) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := 0; i+1 < len(reqHdr); i += 2 {
		r.Header.Add(reqHdr[i], reqHdr[i+1])
	}
	return p.Response(r, status, h, t0, t0)
}

// TestSharedStoring follows RFC 9111 section 3: what a shared cache may
// store, with section 3.5 for Authorization.
func TestSharedStoring(t *testing.T) {
	p := &Shared{TargetedField: DefaultTargetedField}
	tests := []struct {
		name   string
		status int
		h      http.Header
		req    []string
		want   Reason
	}{
		{"§3 explicit max-age", 200, hdr("Cache-Control", "max-age=60"), nil, ReasonNone},
		{"§3 explicit Expires", 200, hdr("Expires", date(time.Hour), "Date", date(0)), nil, ReasonNone},
		{"§3 no freshness at all", 200, hdr("Content-Type", "text/plain"), nil, ReasonNoFreshness},
		{"§3 heuristic: 200 with Last-Modified", 200, hdr("Last-Modified", date(-time.Hour)), nil, ReasonNone},
		{"§3 heuristic: 404 with Last-Modified", 404, hdr("Last-Modified", date(-time.Hour)), nil, ReasonNone},
		{"§3 heuristic not allowed: 500 with Last-Modified", 500, hdr("Last-Modified", date(-time.Hour)), nil, ReasonNoFreshness},
		{"§3 public makes any status heuristically cacheable", 302, hdr("Cache-Control", "public"), nil, ReasonNone},
		{"public heuristic, not on an error: 500", 500, hdr("Cache-Control", "public", "Last-Modified", date(-time.Hour)), nil, ReasonNoFreshness},
		{"public heuristic, not on an error: 503", 503, hdr("Cache-Control", "public", "ETag", `"a"`), nil, ReasonNoFreshness},
		{"public heuristic, not on an error: 429", 429, hdr("Cache-Control", "public", "Last-Modified", date(-time.Hour)), nil, ReasonNoFreshness},
		{"public heuristic, not on an error: 403", 403, hdr("Cache-Control", "public", "Last-Modified", date(-time.Hour)), nil, ReasonNoFreshness},
		{"public heuristic on a default-cacheable error: 404", 404, hdr("Cache-Control", "public"), nil, ReasonNone},
		{"CPDoS: a 501 heuristically cacheable (public, Last-Modified)", 501, hdr("Cache-Control", "public", "Last-Modified", date(-time.Hour)), nil, ReasonStatus},
		{"CPDoS: a 501 heuristically cacheable (Last-Modified alone)", 501, hdr("Last-Modified", date(-time.Hour)), nil, ReasonStatus},
		{"public heuristic on a status below 400: 201", 201, hdr("Cache-Control", "public", "Last-Modified", date(-time.Hour)), nil, ReasonNone},
		{"§3 a final status with explicit freshness", 203, hdr("Cache-Control", "max-age=5"), nil, ReasonNone},
		{"CPDoS: a 503 with explicit freshness is a failure of the moment", 503, hdr("Cache-Control", "max-age=5"), nil, ReasonStatus},
		{"CPDoS: a 500 with public, max-age answers its request", 500, hdr("Cache-Control", "public, max-age=600"), nil, ReasonStatus},
		{"CPDoS: a 502 with s-maxage", 502, hdr("Cache-Control", "s-maxage=60"), nil, ReasonStatus},
		{"CPDoS: a 504 with Expires", 504, hdr("Expires", date(time.Hour), "Date", date(0)), nil, ReasonStatus},
		{"CPDoS: a 501 with public, max-age answers its request", 501, hdr("Cache-Control", "public, max-age=60"), nil, ReasonStatus},
		{"CPDoS: a 501 with must-understand", 501, hdr("Cache-Control", "max-age=60, no-store, must-understand"), nil, ReasonStatus},
		{"a 5xx without freshness still says so", 500, hdr("Cache-Control", "public"), nil, ReasonNoFreshness},
		{"CPDoS: a 400 with explicit freshness answers its request", 400, hdr("Cache-Control", "public, max-age=600"), nil, ReasonStatus},
		{"CPDoS: a 429 with explicit freshness answers its request", 429, hdr("Expires", date(time.Hour), "Date", date(0)), nil, ReasonStatus},
		{"CPDoS: a 431 with s-maxage answers its request", 431, hdr("Cache-Control", "s-maxage=60"), nil, ReasonStatus},
		{"a 405 with explicit freshness is the URL's", 405, hdr("Cache-Control", "max-age=60"), nil, ReasonNone},
		{"a 414 with explicit freshness is the URL's", 414, hdr("Cache-Control", "max-age=60"), nil, ReasonNone},
		{"§3 206 never stored as the full response", 206, hdr("Cache-Control", "max-age=60"), nil, ReasonPartial},
		{"§3 304 is not a response to store", 304, hdr("Cache-Control", "max-age=60"), nil, ReasonStatus},
		{"RFC 3229 226 is a delta for one client's base", 226, hdr("Cache-Control", "max-age=60", "IM", "vcdiff"), []string{"A-IM", "vcdiff", "If-None-Match", `"a"`}, ReasonStatus},
		{"RFC 3229 226 varying on A-IM still depends on the base", 226, hdr("Cache-Control", "public, max-age=60", "IM", "vcdiff", "Vary", "A-IM"), []string{"A-IM", "vcdiff", "If-None-Match", `"a"`}, ReasonStatus},
		{"RFC 3229 226 with must-understand", 226, hdr("Cache-Control", "max-age=60, no-store, must-understand", "IM", "vcdiff"), []string{"A-IM", "vcdiff"}, ReasonStatus},
		{"§3 no-store", 200, hdr("Cache-Control", "max-age=60, no-store"), nil, ReasonNoStore},
		{"§3 private", 200, hdr("Cache-Control", "max-age=60, private"), nil, ReasonPrivate},
		{"§5.2.2.3 must-understand overrides no-store for a known status", 200, hdr("Cache-Control", "max-age=60, no-store, must-understand"), nil, ReasonNone},
		{"§5.2.2.3 must-understand with an unknown status", 299, hdr("Cache-Control", "max-age=60, no-store, must-understand"), nil, ReasonStatus},
		{"no-cache is stored (revalidated on use)", 200, hdr("Cache-Control", "no-cache", "Etag", `"a"`), nil, ReasonNone},
		{"Set-Cookie never stored (library rule)", 200, hdr("Cache-Control", "public, max-age=60", "Set-Cookie", "a=1"), nil, ReasonSetCookie},
		{"Vary: * never stored", 200, hdr("Cache-Control", "max-age=60", "Vary", "*"), nil, ReasonVaryStar},
		{"§3.5 Authorization without permission", 200, hdr("Cache-Control", "max-age=60"), []string{"Authorization", "Bearer x"}, ReasonAuthorization},
		{"§3.5 Authorization with public", 200, hdr("Cache-Control", "public, max-age=60"), []string{"Authorization", "Bearer x"}, ReasonNone},
		{"§3.5 Authorization with s-maxage", 200, hdr("Cache-Control", "s-maxage=60"), []string{"Authorization", "Bearer x"}, ReasonNone},
		{"§3.5 Authorization with must-revalidate", 200, hdr("Cache-Control", "max-age=60, must-revalidate"), []string{"Authorization", "Bearer x"}, ReasonNone},
		{"RFC 9213 targeted field allows what Cache-Control forbids", 200, hdr("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=600"), nil, ReasonNone},
		{"RFC 9213 targeted field forbids what Cache-Control allows", 200, hdr("Cache-Control", "max-age=600", "CDN-Cache-Control", "no-store"), nil, ReasonNoStore},
		{"RFC 9213 invalid targeted field is ignored", 200, hdr("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=600,"), nil, ReasonNoStore},
		{"stray private in Cache-Control", 200, hdr("Cache-Control", "max-age=60; private"), nil, ReasonPrivate},
		{"stray no-store in an invalid targeted field", 200, hdr("Cache-Control", "max-age=60", "CDN-Cache-Control", "max-age=60 no-store"), nil, ReasonNoStore},
		{"stray private in a valid targeted field's parameter", 200, hdr("CDN-Cache-Control", "max-age=60;private"), nil, ReasonPrivate},
		{"RFC 9213 targeted false is no stray", 200, hdr("Cache-Control", "private", "CDN-Cache-Control", "max-age=60, private=?0"), nil, ReasonNone},
		{"RFC 9213 targeted field: Expires ignored", 200, hdr("CDN-Cache-Control", "public, no-transform", "Expires", date(time.Hour)), nil, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, reason := sharedResponse(p, tt.status, tt.h, tt.req...)
			assert.Equal(t, tt.want, reason)
		})
	}
	_, reason := sharedResponse(&Shared{}, 200, hdr("Cache-Control", "no-store", "CDN-Cache-Control", "max-age=600"))
	assert.Equal(t, ReasonNoStore, reason, "a cache with no targeted field ignores CDN-Cache-Control")
	_, reason = sharedResponse(&Shared{AllowAuthorization: true}, 200, hdr("Cache-Control", "max-age=60"), "Authorization", "x")
	assert.Equal(t, ReasonNone, reason, "keys separate users")
}

// TestUnsharedStatus: UnsharedStatus reports exactly the statuses Response
// refuses whatever the header allows, so that an entry stored with one by
// an earlier version is not served either.
func TestUnsharedStatus(t *testing.T) {
	p := &Shared{}
	for status := 100; status < 600; status++ {
		_, reason := sharedResponse(p, status, hdr("Cache-Control", "public, max-age=60"))
		assert.Equal(t, reason != ReasonNone, UnsharedStatus(status), "status %d: Response says %q", status, reason)
	}
	for _, status := range []int{200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414} {
		assert.False(t, UnsharedStatus(status), "%d is stored", status)
	}
	for _, status := range []int{400, 403, 429, 431, 500, 501, 502, 503, 504, 599} {
		assert.True(t, UnsharedStatus(status), "%d is never stored", status)
	}
}

// TestSharedFreshnessLifetime follows RFC 9111 section 4.2.1 and 4.2.2.
func TestSharedFreshnessLifetime(t *testing.T) {
	p := &Shared{TargetedField: DefaultTargetedField}
	tests := []struct {
		name      string
		status    int
		h         http.Header
		want      time.Duration
		heuristic bool
	}{
		{"§4.2.1 s-maxage over max-age", 200, hdr("Cache-Control", "max-age=60, s-maxage=30"), 30 * time.Second, false},
		{"§4.2.1 max-age over Expires", 200, hdr("Cache-Control", "max-age=60", "Expires", date(time.Hour), "Date", date(0)), time.Minute, false},
		{"§4.2.1 Expires minus Date", 200, hdr("Expires", date(90*time.Second), "Date", date(0)), 90 * time.Second, false},
		{"§4.2.1 Expires minus Date, not minus now", 200, hdr("Expires", date(90*time.Second), "Date", date(-30*time.Second)), 120 * time.Second, false},
		{"§5.3 invalid Expires is already stale", 200, hdr("Expires", "0", "Date", date(0)), 0, false},
		{"§5.3 Expires in the past", 200, hdr("Expires", date(-time.Hour), "Date", date(0)), 0, false},
		{"§5.3 Expires lines that disagree are invalid", 200, hdr("Expires", date(time.Hour), "Expires", date(-time.Hour), "Date", date(0)), 0, false},
		{"§5.3 Expires lines that agree", 200, hdr("Expires", date(time.Hour), "Expires", date(time.Hour), "Date", date(0)), time.Hour, false},
		{"§4.2.2 heuristic: 10% since Last-Modified", 200, hdr("Last-Modified", date(-10*time.Hour), "Date", date(0)), time.Hour, true},
		{"§4.2.2 heuristic capped at a day", 200, hdr("Last-Modified", date(-100*24*time.Hour)), 24 * time.Hour, true},
		{"§4.2.2 public without Last-Modified: no lifetime", 200, hdr("Cache-Control", "public"), 0, true},
		{"no-cache: lifetime 0", 200, hdr("Cache-Control", "max-age=60, no-cache"), 0, false},
		{"RFC 9213 targeted max-age over Cache-Control", 200, hdr("Cache-Control", "max-age=60, s-maxage=120", "CDN-Cache-Control", "max-age=600"), 10 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, reason := sharedResponse(p, tt.status, tt.h)
			require.Equal(t, ReasonNone, reason)
			assert.Equal(t, tt.want, f.Lifetime)
			assert.Equal(t, tt.heuristic, f.Heuristic)
		})
	}
	f, _ := sharedResponse(&Shared{MaxLifetime: time.Minute}, 200, hdr("Cache-Control", "max-age=3600"))
	assert.Equal(t, time.Minute, f.Lifetime, "the view's ttl caps lifetimes")
	f, _ = sharedResponse(&Shared{MaxHeuristic: time.Minute}, 200, hdr("Last-Modified", date(-10*time.Hour)))
	assert.Equal(t, time.Minute, f.Lifetime, "configurable heuristic cap")
}

// TestSharedAge follows RFC 9111 section 4.2.3: apparent age, the Age
// header, the response delay.
func TestSharedAge(t *testing.T) {
	p := &Shared{}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	age := func(h http.Header, delay time.Duration) time.Duration {
		f, reason := p.Response(req, 200, h, t0.Add(-delay), t0)
		require.Equal(t, ReasonNone, reason)
		return f.Age
	}
	assert.Equal(t, time.Duration(0), age(hdr("Cache-Control", "max-age=60"), 0), "no Date, no Age: 0")
	assert.Equal(t, 30*time.Second, age(hdr("Cache-Control", "max-age=60", "Date", date(-30*time.Second)), 0), "apparent age")
	assert.Equal(t, time.Duration(0), age(hdr("Cache-Control", "max-age=60", "Date", date(time.Hour)), 0), "a Date in the future: 0, never negative")
	assert.Equal(t, 12*time.Second, age(hdr("Cache-Control", "max-age=60", "Age", "10"), 2*time.Second), "Age plus the response delay")
	assert.Equal(t, 40*time.Second, age(hdr("Cache-Control", "max-age=60", "Age", "10", "Date", date(-40*time.Second)), 0), "the larger of the two")
	assert.Equal(t, time.Duration(0), age(hdr("Cache-Control", "max-age=60", "Age", "ten"), 0), "an invalid Age is ignored")
	f, _ := p.Response(req, 200, hdr("Cache-Control", "max-age=60", "Age", "100"), t0, t0)
	assert.Greater(t, f.Age, f.Lifetime, "stale on arrival: the upstream Age exceeds the lifetime")
}

// TestFreshnessReusable: what may answer another request without being
// revalidated (RFC 9111 sections 4.2, 5.2.2.2, 5.2.2.4): a response fresh
// on arrival, without no-cache.
func TestFreshnessReusable(t *testing.T) {
	p := &Shared{}
	for _, tt := range []struct {
		h    http.Header
		want bool
	}{
		{hdr("Cache-Control", "max-age=60"), true},
		{hdr("Cache-Control", "max-age=60, must-revalidate"), true},
		{hdr("Cache-Control", "max-age=60, proxy-revalidate"), true},
		{hdr("Cache-Control", "s-maxage=60, max-age=0"), true},
		{hdr("Last-Modified", date(-10*time.Hour), "Date", date(0)), true},
		{hdr("Cache-Control", "no-cache"), false},
		{hdr("Cache-Control", "max-age=60, no-cache"), false},
		{hdr("Cache-Control", `no-cache="Set-Cookie", max-age=60`), false},
		{hdr("Cache-Control", "max-age=0"), false},
		{hdr("Cache-Control", "max-age=0, must-revalidate"), false},
		{hdr("Cache-Control", "s-maxage=0, max-age=60"), false},
		{hdr("Cache-Control", "max-age=60", "Age", "60"), false},
		{hdr("Expires", "0", "Date", date(0)), false},
		{hdr("Cache-Control", "public"), false},
	} {
		f, reason := sharedResponse(p, 200, tt.h)
		require.Equal(t, ReasonNone, reason, "%v", tt.h)
		assert.Equal(t, tt.want, f.Reusable(), "%v", tt.h)
	}
}

// TestSharedReuse follows RFC 9111 section 4.2.4 and RFC 5861.
func TestSharedReuse(t *testing.T) {
	p := &Shared{MaxStaleWhileRevalidate: time.Minute, MaxStaleIfError: time.Hour}
	u := p.Reuse(hdr("Cache-Control", "max-age=1, stale-while-revalidate=30, stale-if-error=86400"))
	assert.Equal(t, Reuse{StaleWhileRevalidate: 30 * time.Second, StaleIfError: time.Hour}, u, "the options bound the response's windows")
	for _, cc := range []string{"must-revalidate", "proxy-revalidate", "s-maxage=5", "no-cache"} {
		u := p.Reuse(hdr("Cache-Control", "max-age=1, stale-while-revalidate=30, stale-if-error=60, "+cc))
		assert.True(t, u.NoStale, cc)
		assert.Zero(t, u.StaleWhileRevalidate+u.StaleIfError, "%s forbids serving stale", cc)
	}
	assert.Zero(t, (&Shared{}).Reuse(hdr("Cache-Control", "stale-if-error=60")).StaleIfError, "no option: no stale serving")
}

// TestSharedStaleIfErrorRequest follows RFC 5861 section 4's request
// form, bounded as the response's is.
func TestSharedStaleIfErrorRequest(t *testing.T) {
	p := &Shared{MaxStaleIfError: time.Minute}
	tests := []struct {
		name        string
		resp, reqCC string
		want        time.Duration
	}{
		{"the request's window", "max-age=1", "stale-if-error=30", 30 * time.Second},
		{"bounded by MaxStaleIfError", "max-age=1", "stale-if-error=600", time.Minute},
		{"the response's when longer", "max-age=1, stale-if-error=50", "stale-if-error=5", 50 * time.Second},
		{"the response's without the request's", "max-age=1, stale-if-error=50", "max-stale=5", 50 * time.Second},
		{"none from either", "max-age=1", "", 0},
		{"must-revalidate wins over the client", "max-age=1, must-revalidate", "stale-if-error=30", 0},
		{"proxy-revalidate wins over the client", "max-age=1, proxy-revalidate", "stale-if-error=30", 0},
		{"s-maxage wins over the client", "s-maxage=1", "stale-if-error=30", 0},
		{"no-cache wins over the client", "no-cache", "stale-if-error=30", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := p.Reuse(hdr("Cache-Control", tt.resp))
			assert.Equal(t, tt.want, p.StaleIfError(u, ParseCacheControl([]string{tt.reqCC})))
		})
	}
	u := (&Shared{}).Reuse(hdr("Cache-Control", "max-age=1"))
	assert.Zero(t, (&Shared{}).StaleIfError(u, ParseCacheControl([]string{"stale-if-error=30"})), "no option: no stale serving")
}

// TestParseTargeted follows RFC 9213 section 2.1.
func TestParseTargeted(t *testing.T) {
	cc, ok := ParseTargeted([]string{`max-age=600, no-cache="Set-Cookie", public, stale-if-error=30`})
	assert.True(t, ok)
	assert.Equal(t, CacheControl{MaxAge: Delta{600, true}, NoCache: true, Public: true, StaleIfError: Delta{30, true}}, cc)
	cc, ok = ParseTargeted([]string{"max-age=60, max-age=5, no-store=?0"})
	assert.True(t, ok)
	assert.Equal(t, CacheControl{MaxAge: Delta{5, true}}, cc, "the last value wins; ?0 is false")
	cc, _ = ParseTargeted([]string{`max-age=1.5, s-maxage="60", public="yes", stale-while-revalidate=-1`})
	assert.Equal(t, CacheControl{MaxAge: Delta{0, true}, SMaxAge: Delta{0, true}}, cc, "wrong types read restrictively")
	for _, s := range []string{"", "MAX-AGE=60", "max-age=60;", "max-age = 60", "none,"} {
		_, ok := ParseTargeted([]string{s})
		assert.False(t, ok, "%q", s)
	}
}

// FuzzParseTargeted: never panics; a field that parses is also accepted by
// the dictionary parser, and what it allows never exceeds 2^31 seconds.
func FuzzParseTargeted(f *testing.F) {
	for _, s := range []string{"max-age=60", "no-store", `private="a"`, "max-age=1.5", "s-maxage=99999999999999", "a=(1 2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc, ok := ParseTargeted([]string{s})
		if !ok {
			if cc != (CacheControl{}) {
				t.Fatalf("%q: invalid field gave %+v", s, cc)
			}
			return
		}
		for _, d := range []Delta{cc.MaxAge, cc.SMaxAge, cc.StaleWhileRevalidate, cc.StaleIfError} {
			if d.Seconds < 0 || d.Seconds > maxDelta {
				t.Fatalf("%q: %+v", s, d)
			}
		}
	})
}

// TestSnapshotRevalidation follows RFC 9111 sections 4.3.1 (validators
// sent), 4.3.4 (which 304 updates which entry, and how) and 4.3.5 (HEAD).
func TestSnapshotRevalidation(t *testing.T) {
	stored := NewSharedSnapshot(200, hdr("Etag", `"v1"`, "Last-Modified", date(-time.Hour), "Cache-Control", "max-age=60",
		"Content-Type", "text/plain", "X-Old", "1", "Vary", "Accept"), []byte("hello"), t0)
	t.Run("§4.3.1 validators", func(t *testing.T) {
		h := hdr("If-None-Match", `"client"`, "If-Modified-Since", date(-time.Minute))
		assert.True(t, stored.Conditional(h))
		assert.Equal(t, []string{`"v1"`}, h["If-None-Match"])
		assert.Equal(t, []string{date(-time.Hour)}, h["If-Modified-Since"])
		bare := NewSharedSnapshot(200, hdr("Content-Type", "text/plain"), []byte("x"), t0)
		h = hdr("If-None-Match", `"client"`)
		assert.False(t, bare.Conditional(h), "nothing to validate with")
		assert.Empty(t, h, "the client's own conditionals never reach the handler for a stored response")
		assert.Empty(t, bare.ETag, "a shared snapshot makes up no ETag")
	})
	t.Run("§4.3.4 selection", func(t *testing.T) {
		assert.True(t, stored.Validates(hdr("Etag", `"v1"`), false))
		assert.True(t, stored.Validates(hdr("Etag", `W/"v1"`), false))
		assert.False(t, stored.Validates(hdr("Etag", `"v2"`), false))
		assert.True(t, stored.Validates(hdr("Last-Modified", date(-time.Hour)), false))
		assert.False(t, stored.Validates(hdr("Last-Modified", date(0)), false))
		// A 304 without a validator selects a stored response only when
		// that one has none either: one with a validator is selected by
		// a matching validator alone.
		assert.False(t, stored.Validates(hdr("Cache-Control", "max-age=5"), false), "no validator: says nothing of a stored one that has some")
		lm := NewSharedSnapshot(200, hdr("Last-Modified", date(-time.Hour)), []byte("x"), t0)
		assert.False(t, lm.Validates(hdr("Cache-Control", "max-age=5"), false), "no validator: says nothing of a stored Last-Modified")
		bare := NewSharedSnapshot(200, hdr("Content-Type", "text/plain"), []byte("x"), t0)
		assert.True(t, bare.Validates(hdr("Cache-Control", "max-age=5"), false), "no validator: the one stored response, which has none either")
	})
	t.Run("§4.3.4 selection by validator strength", func(t *testing.T) {
		gz := NewSharedSnapshot(200, hdr("Etag", `W/"v1"`, "Content-Encoding", "gzip"), []byte("gz"), t0)
		assert.True(t, gz.Validates(hdr("Etag", `W/"v1"`), false), "a weak tag compares weakly")
		assert.True(t, gz.Validates(hdr("Etag", `"v1"`), false), "a 304's strong tag: the origin compared the revalidation's weak tag weakly")
		assert.False(t, gz.Validates(hdr("Etag", `"v1"`), true), "a HEAD's strong tag selects only the same strong tag")
		assert.Equal(t, `W/"v1"`, gz.Freshen(hdr("Etag", `"v1"`), "", t0).ETag, "and the stored tag stays weak")
		assert.False(t, gz.Validates(hdr("Etag", `W/"v2"`), false))
		assert.False(t, stored.Validates(hdr("Etag", `"V1"`), false), "tags compare exactly")
		assert.False(t, NewSharedSnapshot(200, hdr("Content-Type", "text/plain"), []byte("x"), t0).Validates(hdr("Etag", `W/"v1"`), false),
			"a tag selects no response without one")
	})
	t.Run("§4.3.4 update", func(t *testing.T) {
		got := stored.Freshen(hdr("Cache-Control", "max-age=120", "X-New", "2", "Content-Length", "0", "Vary", "*",
			"Connection", "X-Hop", "X-Hop", "1", "Set-Cookie", "a=1", "Age", "5", "X-Cache", "MISS", "Content-Encoding", "gzip"), "X-Cache", t0.Add(time.Minute))
		assert.Equal(t, "max-age=120", got.Header.Get("Cache-Control"))
		assert.Equal(t, "2", got.Header.Get("X-New"))
		assert.Equal(t, "1", got.Header.Get("X-Old"))
		assert.Equal(t, "5", got.Header.Get("Content-Length"), "the stored body's length")
		assert.Equal(t, "Accept", got.Header.Get("Vary"))
		for _, k := range []string{"X-Hop", "Set-Cookie", "Age", "X-Cache", "Content-Encoding"} {
			assert.NotContains(t, got.Header, k)
		}
		assert.Equal(t, "hello", string(got.Body))
		assert.Equal(t, t0.Add(time.Minute), got.StoredAt)
		assert.Equal(t, "max-age=60", stored.Header.Get("Cache-Control"), "the stored snapshot is not modified")
	})
	t.Run("§4.3.4 update never strengthens", func(t *testing.T) {
		gz := NewSharedSnapshot(200, hdr("Etag", `W/"v1"`, "Content-Encoding", "gzip"), []byte("gz"), t0)
		got := gz.Freshen(hdr("Etag", `"v1"`, "Accept-Ranges", "bytes", "Cache-Control", "max-age=5"), "", t0)
		assert.Equal(t, `W/"v1"`, got.ETag, "a strong tag never replaces a weak one")
		assert.Equal(t, `W/"v1"`, got.Header.Get("Etag"))
		assert.NotContains(t, got.Header, "Accept-Ranges", "an encoded response gets no Accept-Ranges from a 304")
		assert.Equal(t, "max-age=5", got.Header.Get("Cache-Control"))
		got = stored.Freshen(hdr("Etag", `W/"v1"`, "Accept-Ranges", "bytes"), "", t0)
		assert.Equal(t, `W/"v1"`, got.ETag, "a weak tag may weaken a strong one")
		assert.Equal(t, "bytes", got.Header.Get("Accept-Ranges"), "an unencoded response is rangeable anyway")
	})
	t.Run("§4.3.5 HEAD", func(t *testing.T) {
		assert.True(t, stored.Validates(hdr("Etag", `"v1"`, "Content-Length", "5"), true))
		assert.False(t, stored.Validates(hdr("Etag", `"v1"`, "Content-Length", "6"), true), "another length: another body")
		assert.False(t, stored.Validates(hdr("Content-Length", "5"), true), "a HEAD without validators proves nothing")
		// Every validator the HEAD carries must match the stored one.
		assert.True(t, stored.Validates(hdr("Etag", `"v1"`, "Last-Modified", date(-time.Hour)), true))
		assert.False(t, stored.Validates(hdr("Etag", `"v1"`, "Last-Modified", date(0)), true), "the same tag, another Last-Modified")
		assert.False(t, stored.Validates(hdr("Etag", `"v1"`, "Last-Modified", "yesterday"), true), "a Last-Modified that cannot be compared")
		etagOnly := NewSharedSnapshot(200, hdr("Etag", `"v1"`), []byte("hello"), t0)
		assert.False(t, etagOnly.Validates(hdr("Etag", `"v1"`, "Last-Modified", date(0)), true), "a Last-Modified the stored response lacks")
		assert.True(t, stored.Validates(hdr("Last-Modified", date(-time.Hour)), true))
		assert.False(t, stored.Validates(hdr("Etag", `"v1"`, "Content-Encoding", "gzip"), true), "another coding: another representation")
		assert.True(t, stored.Validates(hdr("Etag", `"v1"`, "Content-Encoding", "identity"), true))
		gz := NewSharedSnapshot(200, hdr("Etag", `W/"v1"`, "Content-Encoding", "gzip"), []byte("gz"), t0)
		assert.False(t, gz.Validates(hdr("Etag", `"v1"`), true), "the unencoded representation's HEAD")
		assert.False(t, gz.Validates(hdr("Etag", `W/"v1"`), true), "no Content-Encoding: the unencoded representation")
		assert.True(t, gz.Validates(hdr("Etag", `W/"v1"`, "Content-Encoding", "GZIP"), true))
		assert.False(t, gz.Validates(hdr("Etag", `W/"v1"`, "Content-Encoding", "br"), true))
	})
}

// TestSnapshotServeRange: a Range request is answered from a stored full
// 200 as http.ServeContent answers it (RFC 9110 section 14).
func TestSnapshotServeRange(t *testing.T) {
	s := NewSharedSnapshot(200, hdr("Etag", `"v1"`, "Content-Type", "text/plain"), []byte("0123456789"), t0)
	serve := func(kv ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for i := 0; i+1 < len(kv); i += 2 {
			r.Header.Add(kv[i], kv[i+1])
		}
		w := httptest.NewRecorder()
		if !s.ServeRange(w, r, t0.Add(3*time.Second), "X-Cache", Hit) {
			s.Serve(w, r, t0.Add(3*time.Second), "X-Cache", Hit)
		}
		return w
	}
	w := serve("Range", "bytes=2-4")
	assert.Equal(t, 206, w.Code)
	assert.Equal(t, "234", w.Body.String())
	assert.Equal(t, "bytes 2-4/10", w.Header().Get("Content-Range"))
	assert.Equal(t, "3", w.Header().Get("Content-Length"))
	assert.Equal(t, "3", w.Header().Get("Age"))
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "text/plain", w.Header().Get("Content-Type"))

	w = serve("Range", "bytes=-3")
	assert.Equal(t, "789", w.Body.String())
	w = serve("Range", "bytes=20-")
	assert.Equal(t, 416, w.Code)
	w = serve("Range", "bytes=0-1", "If-Range", `"v0"`)
	assert.Equal(t, 200, w.Code, "If-Range that does not match: the whole body")
	assert.Equal(t, "0123456789", w.Body.String())
	w = serve("Range", "bytes=0-1,5-6")
	assert.Equal(t, 206, w.Code)
	assert.True(t, strings.HasPrefix(w.Header().Get("Content-Type"), "multipart/byteranges"))
	w = serve()
	assert.Equal(t, 200, w.Code, "no Range: Serve")

	notFound := NewSharedSnapshot(404, hdr("Cache-Control", "max-age=5"), []byte("nope"), t0)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Range", "bytes=0-1")
	assert.False(t, notFound.ServeRange(httptest.NewRecorder(), r, t0, "", Hit), "only a stored 200 has ranges")

	gz := NewSharedSnapshot(200, hdr("Content-Encoding", "gzip", "Accept-Ranges", "bytes", "Etag", `"v1"`), []byte("0123456789"), t0)
	w = httptest.NewRecorder()
	require.True(t, gz.ServeRange(w, r, t0, "", Hit))
	body, _ := io.ReadAll(w.Body)
	assert.Equal(t, "01", string(body))
	assert.NotEqual(t, "10", w.Header().Get("Content-Length"), "never the stored full length on a part")
}

// TestSnapshotServeRangeEncoded: the ranges of an encoded response are
// served only when its origin serves them (Accept-Ranges: bytes) under a
// strong validator; otherwise ServeRange declines and the whole response
// is served.
func TestSnapshotServeRangeEncoded(t *testing.T) {
	old := t0.Add(-time.Hour).Format(http.TimeFormat)
	recent := t0.Add(-30 * time.Second).Format(http.TimeFormat)
	for _, tc := range []struct {
		name  string
		kv    []string
		serve bool
	}{
		{"unencoded, no validator", nil, true},
		{"identity", []string{"Content-Encoding", "identity"}, true},
		{"gzip, on the fly", []string{"Content-Encoding", "gzip", "Etag", `W/"v1"`}, false},
		{"gzip, strong ETag, no Accept-Ranges", []string{"Content-Encoding", "gzip", "Etag", `"v1:gzip"`}, false},
		{"gzip, Accept-Ranges, no validator", []string{"Content-Encoding", "gzip", "Accept-Ranges", "bytes"}, false},
		{"gzip, Accept-Ranges, weak ETag", []string{"Content-Encoding", "gzip", "Accept-Ranges", "bytes", "Etag", `W/"v1"`}, false},
		{"gzip, Accept-Ranges: none", []string{"Content-Encoding", "gzip", "Accept-Ranges", "none", "Etag", `"v1"`}, false},
		{"gzip, Accept-Ranges, strong ETag", []string{"Content-Encoding", "gzip", "Accept-Ranges", "Bytes", "Etag", `"v1"`}, true},
		{"identity, gzip", []string{"Content-Encoding", "identity, gzip", "Etag", `W/"v1"`}, false},
		{"gzip, Accept-Ranges, old Last-Modified", []string{"Content-Encoding", "gzip", "Accept-Ranges", "bytes", "Last-Modified", old}, true},
		{"gzip, Accept-Ranges, recent Last-Modified", []string{"Content-Encoding", "gzip", "Accept-Ranges", "bytes", "Last-Modified", recent}, false},
		{"gzip, Accept-Ranges, Last-Modified 60s before Date", []string{"Content-Encoding", "gzip", "Accept-Ranges", "bytes", "Last-Modified", recent, "Date", t0.Add(30 * time.Second).Format(http.TimeFormat)}, true},
		{"gzip, Accept-Ranges, weak ETag, old Last-Modified", []string{"Content-Encoding", "gzip", "Accept-Ranges", "bytes", "Etag", `W/"v1"`, "Last-Modified", old}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSharedSnapshot(200, hdr(tc.kv...), []byte("0123456789"), t0)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Range", "bytes=2-4")
			w := httptest.NewRecorder()
			served := s.ServeRange(w, r, t0, "", Hit)
			require.Equal(t, tc.serve, served)
			if !served {
				assert.Empty(t, w.Header(), "nothing written when it declines")
				s.Serve(w, r, t0, "", Hit)
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "0123456789", w.Body.String())
				assert.Equal(t, hdr(tc.kv...).Get("Accept-Ranges"), w.Header().Get("Accept-Ranges"), "the stored one, none added")
				return
			}
			assert.Equal(t, http.StatusPartialContent, w.Code)
			assert.Equal(t, "234", w.Body.String())
		})
	}
}

// TestRecorderStoreFlushed is issue 16.10: a reverse proxy flushes a
// chunked response after every write; every flush reaches the client and
// the response is still recorded, unless it is an event stream or too large.
func TestRecorderStoreFlushed(t *testing.T) {
	run := func(limit int, ct string) (*httptest.ResponseRecorder, []byte, Reason, int) {
		w := httptest.NewRecorder()
		flushes := 0
		rec := Recorder{Limit: limit, StoreFlushed: true}
		rw := rec.Reset(w)
		rw.Header().Set("Content-Type", ct)
		for _, part := range []string{"a", "b", "c"} {
			_, _ = io.WriteString(rw, part)
			require.NoError(t, http.NewResponseController(rw).Flush())
			if w.Flushed {
				flushes++
			}
			w.Flushed = false
		}
		_, _, body, reason := rec.Finish()
		return w, body, reason, flushes
	}
	w, body, reason, flushes := run(0, "text/plain")
	assert.Equal(t, ReasonNone, reason)
	assert.Equal(t, "abc", string(body))
	assert.Equal(t, "abc", w.Body.String())
	assert.Equal(t, 3, flushes, "every flush reaches the client at once")

	_, body, reason, flushes = run(0, "text/event-stream; charset=utf-8")
	assert.Equal(t, ReasonStreaming, reason)
	assert.Nil(t, body)
	assert.Equal(t, 3, flushes)

	_, _, reason, _ = run(2, "text/plain")
	assert.Equal(t, ReasonTooLarge, reason)
}

// TestRecorderDivertKeepsHeader: a diverted response (a 304 answering the
// cache's own conditional request) hands its header to the cache.
func TestRecorderDivertKeepsHeader(t *testing.T) {
	w := httptest.NewRecorder()
	rec := Recorder{Divert: func(status int) bool { return status == 304 }}
	rw := rec.Reset(w)
	rw.Header()["etag"] = []string{`"v1"`}
	rw.WriteHeader(304)
	status, h, body, reason := rec.Finish()
	assert.Equal(t, 304, status)
	assert.Equal(t, `"v1"`, h.Get("Etag"))
	assert.Nil(t, body)
	assert.Equal(t, ReasonDiverted, reason)
	assert.Equal(t, 200, w.Code, "nothing reached the client")
	assert.False(t, w.Flushed)
}
