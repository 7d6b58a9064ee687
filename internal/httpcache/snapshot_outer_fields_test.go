package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSnapshotOuterFieldsNotFilledIn: where the response was sent with a
// Content-Type and an ETag that are not in hdr (an outer middleware's),
// NewSnapshotSent stores neither a sniffed type nor a computed tag, which a
// hit would write over the outer middleware's; a nil-valued type is kept,
// as NewSnapshot keeps it. Freshen sniffs no type for a snapshot without
// one.
func TestSnapshotOuterFieldsNotFilledIn(t *testing.T) {
	at := time.Unix(1700000000, 0)
	body := []byte("<html><p>hi")
	s := NewSnapshotSent(200, http.Header{"X-A": {"1"}}, body, at, false, Sent{Type: true, ETag: true})
	assert.NotContains(t, s.Header, "Content-Type")
	assert.NotContains(t, s.Header, "Etag")
	assert.Empty(t, s.ETag)
	assert.Equal(t, []string{"11"}, s.Header["Content-Length"])

	untyped := NewSnapshotSent(200, http.Header{"Content-Type": nil}, body, at, false, Sent{Type: true})
	assert.Contains(t, untyped.Header, "Content-Type")
	assert.Nil(t, untyped.Header["Content-Type"], "nil-valued: a hit sends none, as the miss")

	plain := NewSnapshot(200, http.Header{}, body, at)
	assert.Equal(t, []string{"text/html; charset=utf-8"}, plain.Header["Content-Type"], "sniffed where none was sent")
	assert.NotEmpty(t, plain.ETag)

	shared := NewSnapshotSent(200, http.Header{"Cache-Control": {"max-age=10"}}, body, at, true, Sent{Type: true})
	f := shared.Freshen(http.Header{"Cache-Control": {"max-age=20"}}, "", at)
	assert.NotContains(t, f.Header, "Content-Type", "Freshen sniffed a type")
	assert.Equal(t, []string{"max-age=20"}, f.Header["Cache-Control"])
}
