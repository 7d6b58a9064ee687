package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotDropsServerTiming: Server-Timing describes how one response
// was made, so a snapshot never holds it: not from the response stored, not
// from a 304 that freshens it, not from an entry an earlier version stored.
func TestSnapshotDropsServerTiming(t *testing.T) {
	h := http.Header{"Server-Timing": {`db;dur=12;desc="secret"`}, "X-Kept": {"1"}}
	for _, s := range []*Snapshot{
		NewSnapshot(200, h, []byte("b"), time.Unix(0, 0)),
		NewSharedSnapshot(200, h, []byte("b"), time.Unix(0, 0)),
		NewSnapshot(200, nil, []byte("b"), time.Unix(0, 0)).Freshen(h, "", time.Unix(0, 0)),
	} {
		assert.NotContains(t, s.Header, "Server-Timing")
		assert.Equal(t, []string{"1"}, s.Header["X-Kept"])
	}

	old := &Snapshot{Status: 200, Header: h, Body: []byte("b"), StoredAt: time.Unix(0, 0)}
	s, err := Decode(old.Encode(nil))
	require.NoError(t, err)
	assert.NotContains(t, s.Header, "Server-Timing", "an entry stored before the field was dropped")
	w := httptest.NewRecorder()
	s.Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), time.Unix(0, 0), "", Hit)
	assert.Empty(t, w.Header().Values("Server-Timing"), "never replayed")
	assert.Equal(t, "1", w.Header().Get("X-Kept"))
}
