package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFreshenDigestsByCodings pins how Freshen compares a 304's
// Content-Encoding with the stored one before it replaces the stored
// digests: case, spaces, identity, several lines and an empty value are
// the same codings; another order, another or no coding are not. The other
// fields of RFC 9111 section 4.3.4 are updated either way.
func TestFreshenDigestsByCodings(t *testing.T) {
	const stored, fresh = "sha-256=:stored=:", "sha-256=:fresh=:"
	for _, c := range []struct {
		name     string
		stored   []string
		got      []string
		replaced bool
	}{
		{"same", []string{"gzip"}, []string{"gzip"}, true},
		{"case", []string{"gzip"}, []string{"GZip"}, true},
		{"spaces and lines", []string{"gzip, br"}, []string{" gzip ", "br"}, true},
		{"identity aside", []string{"identity, gzip"}, []string{"gzip"}, true},
		{"identity only is none", []string{"identity"}, nil, true},
		{"empty is none", nil, []string{""}, true},
		{"none for none", nil, nil, true},
		{"none for gzip", []string{"gzip"}, nil, false},
		{"identity for gzip", []string{"gzip"}, []string{"identity"}, false},
		{"gzip for none", nil, []string{"gzip"}, false},
		{"other order", []string{"gzip, br"}, []string{"br, gzip"}, false},
		{"fewer", []string{"gzip, br"}, []string{"br"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"Etag": {`"x"`}, "Cache-Control": {"max-age=1"}, "Repr-Digest": {stored}, "Content-Digest": {stored}, "Digest": {"sha-256=stored"}, "Content-Md5": {"stored"}, "Last-Modified": {"Sun, 06 Dec 2026 00:00:00 GMT"}}
			if c.stored != nil {
				h["Content-Encoding"] = c.stored
			}
			s := NewSharedSnapshot(http.StatusOK, h, []byte("body"), time.Unix(1e9, 0))
			n := http.Header{"Etag": {`"x"`}, "Cache-Control": {"max-age=60"}, "Expires": {"Sun, 06 Dec 2026 01:00:00 GMT"}, "Date": {"Sun, 06 Dec 2026 00:30:00 GMT"}, "Last-Modified": {"Sun, 06 Dec 2026 00:10:00 GMT"},
				"Repr-Digest": {fresh}, "Content-Digest": {fresh}, "Digest": {"sha-256=fresh"}, "content-md5": {"fresh"}}
			if c.got != nil {
				n["Content-Encoding"] = c.got
			}
			f := s.Freshen(n, "", time.Unix(2e9, 0))
			want, wantLegacy, wantMD5 := stored, "sha-256=stored", "stored"
			if c.replaced {
				want, wantLegacy, wantMD5 = fresh, "sha-256=fresh", "fresh"
			}
			assert.Equal(t, []string{want}, f.Header["Repr-Digest"])
			assert.Equal(t, []string{want}, f.Header["Content-Digest"])
			assert.Equal(t, []string{wantLegacy}, f.Header["Digest"])
			assert.Equal(t, []string{wantMD5}, f.Header["Content-Md5"])
			assert.Equal(t, c.stored, f.Header["Content-Encoding"], "never updated")
			for _, k := range []string{"Cache-Control", "Expires", "Date", "Last-Modified", "Etag"} {
				assert.Equal(t, n[k], f.Header[k], k)
			}
		})
	}
}
