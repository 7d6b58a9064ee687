package timing_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// hostileNames are metric names and descriptions a handler may take from
// a client: header syntax, line breaks, NUL, bytes that are not UTF-8, the
// middleware's own names in other cases and spellings, and a name and a
// description far over timing.MaxHeaderBytes.
var hostileNames = []string{
	"total", "TOTAL", "Omitted", "total;dur=0", "omitted, total", "a\r\nSet-Cookie: x=1", "\x00", "\xff\xfe",
	"é", `"quoted"`, "a=b;c", "", " ", "\t", "x\\", strings.Repeat("n", 3*timing.MaxHeaderBytes),
}

// serverTimingEntries splits a Server-Timing field into its entries, at the
// commas outside quoted strings.
func serverTimingEntries(field string) []string {
	var entries []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(field); i++ {
		switch c := field[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			entries = append(entries, strings.TrimSpace(field[start:i]))
			start = i + 1
		}
	}
	return append(entries, strings.TrimSpace(field[start:]))
}

// TestHostileMetricNames: whatever names and descriptions a handler
// records (taken from the client, say), the Server-Timing field holds only
// visible ASCII, each entry's name is a token, the middleware's own total
// and omitted are the last two entries and the only ones by those names,
// the metrics before them fit in timing.MaxHeaderBytes, and every metric
// recorded is either sent or counted in omitted.
func TestHostileMetricNames(t *testing.T) {
	srv, reports := observedServer(t, timing.Options{Expose: func(*http.Request) bool { return true }}, nil,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, name := range hostileNames {
				timing.Add(r.Context(), name, time.Millisecond, name)
				timing.Count(r.Context(), name, time.Millisecond, name, name)
				timing.Start(r.Context(), name).StopDesc(name)
			}
			for _, name := range hostileNames[:5] { // small ones after the large one
				timing.Add(r.Context(), name, 0, "")
			}
		}))
	res := getResponse(t, srv, srv.URL)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, res.Header.Values("Server-Timing"), 1)
	field := res.Header.Get("Server-Timing")
	for i := 0; i < len(field); i++ {
		require.True(t, field[i] == '\t' || (field[i] >= 0x20 && field[i] < 0x7f), "byte %#x at %d: %q", field[i], i, field)
	}
	entries := serverTimingEntries(field)
	require.GreaterOrEqual(t, len(entries), 3, field)
	last := len(entries) - 1
	assert.Regexp(t, `^total;dur=[0-9.]+$`, entries[last])
	require.Regexp(t, `^omitted;desc=[0-9]+$`, entries[last-1])
	omitted, err := strconv.Atoi(strings.TrimPrefix(entries[last-1], "omitted;desc="))
	require.NoError(t, err)
	sent := entries[:last-1]
	assert.LessOrEqual(t, len(strings.Join(sent, ", ")), timing.MaxHeaderBytes)
	for _, e := range sent {
		name, _, _ := strings.Cut(e, ";")
		assert.Regexp(t, "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", name, "entry %q", e)
		assert.NotEqual(t, "total", strings.ToLower(name), "entry %q", e)
		assert.NotEqual(t, "omitted", strings.ToLower(name), "entry %q", e)
	}
	rep := <-reports
	recorded := len(rep.Metrics) + rep.Dropped
	assert.Equal(t, 3*len(hostileNames)+5, recorded, "a metric per call: the names are distinct")
	assert.Equal(t, recorded, len(sent)+omitted, "every metric is sent or counted as omitted: %q", field)
}
