package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotStoresHeaderAsSent: a header value with CR or LF, one with
// NUL, and a field name that is not a token are stored as net/http sends
// them (spaces for CR and LF, then trimmed; the NUL value and the invalid
// name left out), so that the encoded snapshot decodes: stored raw, Decode
// refused it as corrupt on every lookup of a remote store.
func TestSnapshotStoresHeaderAsSent(t *testing.T) {
	h := http.Header{
		"X-Note":   {"line one\nline two", "crlf\r\n"},
		"X-Nul":    {"a\x00b"},
		"X-Mixed":  {"ok", "bad\x00"},
		"Bad Name": {"v"},
		"":         {"v"},
		"X-Plain":  {"kept  as is "},
	}
	s := NewSnapshot(http.StatusOK, h, []byte("body"), time.Unix(1, 0))
	assert.Equal(t, []string{"line one line two", "crlf"}, s.Header["X-Note"])
	assert.NotContains(t, s.Header, "X-Nul")
	assert.Equal(t, []string{"ok"}, s.Header["X-Mixed"])
	assert.NotContains(t, s.Header, "Bad Name")
	assert.NotContains(t, s.Header, "")
	assert.Equal(t, []string{"kept  as is "}, s.Header["X-Plain"])
	d, err := Decode(s.Encode(nil))
	require.NoError(t, err)
	assert.Equal(t, s.Header, d.Header)
}
