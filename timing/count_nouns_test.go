package timing_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// Count folds every event of a name into one metric, nouns or none: a
// handler that counts one event per item of a list the client sends (a
// batch of ids, a page size) gets one entry in Server-Timing and in the
// Report, not one per item.
func TestCountWithoutNounsFolds(t *testing.T) {
	srv, reports := observedServer(t, timing.Options{Expose: func(*http.Request) bool { return true }}, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 500 {
			timing.Count(r.Context(), "lookup", time.Millisecond, "", "")
		}
		_, _ = io.WriteString(w, "ok")
	}))
	resp := getResponse(t, srv, srv.URL)

	st := resp.Header.Values("Server-Timing")
	require.Len(t, st, 1)
	assert.Regexp(t, `^lookup;dur=500;desc=500, total;dur=[0-9.]+$`, st[0])

	rep := <-reports
	require.Len(t, rep.Metrics, 1, "500 events of one name are one metric")
	assert.Equal(t, timing.Metric{Name: "lookup", Duration: 500 * time.Millisecond, Desc: "500", Count: 500}, rep.Metrics[0])
}
