package pool_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// compactJSON is a source's result whose MarshalJSON returns JSON with
// spaces and HTML characters.
type compactJSON struct{}

func (compactJSON) MarshalJSON() ([]byte, error) { return []byte(` { "b" : [1, "<&>"] } `), nil }

// TestStatsHandlerBytesUnchanged: the stats endpoint encodes each source
// apart, so that one that does not encode is reported alone; a report of
// sources that all encode is byte for byte what encoding the whole
// Snapshot at once printed before: the same key order, indentation, HTML
// and UTF-8 escaping, and no field more.
func TestStatsHandlerBytesUnchanged(t *testing.T) {
	var reg pool.Registry
	require.NoError(t, reg.RegisterMemcache("memcache", memcache.New("127.0.0.1:1")))
	for name, v := range map[string]any{
		"strings":  map[string]any{"html": "<script>&\u2028", "utf8": "\xff\xfe", "nil": nil, "big": 1e21, "small": 1e-6},
		"marshal":  compactJSON{},
		"raw":      json.RawMessage(` {"z": 1,  "a": [ ]} `),
		"nil":      nil,
		"list":     []any{1, "a", []byte("bytes"), map[string]int{}},
		"\xffname": 3,
		"stats":    pool.Stats{Kind: "sql", Size: 2, Closed: map[string]int64{"recycle": 1}},
	} {
		require.NoError(t, reg.Register(name, func() any { return v }))
	}
	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: func(*http.Request) bool { return true }})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/pool-stats", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	whole, err := json.MarshalIndent(reg.Snapshot(), "", "  ")
	require.NoError(t, err)
	assert.Equal(t, string(whole)+"\n", rec.Body.String())
}
