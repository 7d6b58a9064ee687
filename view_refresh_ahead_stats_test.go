package caching

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewAheadRefreshesCountsRunsOnly: two requests read an entry within
// RefreshAhead, and the second's refresh stores the new entry and ends
// before the first looks for one in progress: the first's refresh finds
// the entry replaced and runs nothing (e549ef9). Stats.AheadRefreshes
// counted it all the same, so a user reading the stats saw two refreshes
// where the handler ran once.
func TestViewAheadRefreshesCountsRunsOnly(t *testing.T) {
	for _, tc := range refreshReplacedCases {
		if !strings.Contains(tc.name, "refresh ahead") {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: tc.fn}
				ch := tc.view(e, h)
				get(ch, "/a", tc.hdr...)
				e.clock.Advance(tc.after)

				var asked atomic.Int32
				refreshAskedHook = func(string) {
					if asked.Add(1) == 1 {
						get(ch, "/a", tc.hdr...) // its refresh stores and ends
						e.c.wait()
					}
				}
				t.Cleanup(func() { refreshAskedHook = nil })
				w := get(ch, "/a", tc.hdr...)
				e.c.wait()
				refreshAskedHook = nil
				require.EqualValues(t, 2, asked.Load(), "both requests asked for a refresh")
				require.Equal(t, tc.status, w.Header().Get("X-Cache"))
				require.EqualValues(t, 2, h.calls.Load(), "one refresh ran")
				assert.EqualValues(t, 1, e.c.Stats().AheadRefreshes, "the refresh that ran, not the one skipped")
			})
		})
	}
}
