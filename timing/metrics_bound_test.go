package timing_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// TestMetricsBounded: a handler that records a span per item of a batch
// the client sized made a Server-Timing header as large as the batch
// (browsers and proxies refuse it) and kept every metric in memory. The
// header stops at timing.MaxHeaderBytes and says how many it left out; the
// request keeps at most timing.MaxMetrics.
func TestMetricsBounded(t *testing.T) {
	srv, reports := observedServer(t, timing.Options{Expose: func(*http.Request) bool { return true }}, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("items"))
		for i := range n {
			timing.Add(r.Context(), "item", time.Millisecond, fmt.Sprintf("item %d", i))
			timing.Start(r.Context(), "span").StopDesc("x")
			timing.Count(r.Context(), fmt.Sprintf("n%d", i), time.Millisecond, "", "")
		}
	}))

	const items = 10000
	res := getResponse(t, srv, srv.URL+"/?items="+strconv.Itoa(items))
	require.Equal(t, http.StatusOK, res.StatusCode)
	field := strings.Join(res.Header.Values("Server-Timing"), ", ")
	entries := strings.Split(field, ", ")
	require.GreaterOrEqual(t, len(entries), 3)
	assert.LessOrEqual(t, len(field), timing.MaxHeaderBytes+100, "the field is bounded")
	assert.True(t, strings.HasPrefix(entries[len(entries)-1], "total;dur="), "total comes last: %q", field)
	omitted := entries[len(entries)-2]
	require.True(t, strings.HasPrefix(omitted, "omitted;desc="), "an omitted metric comes before the total: %q", field)
	left, err := strconv.Atoi(strings.TrimPrefix(omitted, "omitted;desc="))
	require.NoError(t, err)
	assert.Equal(t, 3*items, len(entries)-2+left, "every metric is in the header or counted as left out")

	rep := <-reports
	assert.Len(t, rep.Metrics, timing.MaxMetrics, "the request keeps a bounded number of metrics")
	assert.Equal(t, 3*items-timing.MaxMetrics, rep.Dropped)
	assert.Equal(t, "item", rep.Metrics[0].Name)
	assert.Equal(t, `item;dur=1;desc="item 0"`, entries[0], "the first metrics are sent as recorded")

	// A small request is not touched.
	res = getResponse(t, srv, srv.URL+"/?items=1")
	field = strings.Join(res.Header.Values("Server-Timing"), ", ")
	assert.Regexp(t, `^item;dur=1;desc="item 0", span;dur=[0-9.]+;desc=x, n0;dur=1;desc=1, total;dur=[0-9.]+$`, field)
	rep = <-reports
	assert.Len(t, rep.Metrics, 3)
	assert.Zero(t, rep.Dropped)
}

// TestCountFoldsPastTheBound: once a request holds timing.MaxMetrics, a
// Count of a name it already has still folds into it.
func TestCountFoldsPastTheBound(t *testing.T) {
	ctx := timing.WithRecorder(t.Context())
	timing.Count(ctx, "db", time.Millisecond, "query", "queries")
	for range timing.MaxMetrics {
		timing.Add(ctx, "x", 0, "")
	}
	timing.Count(ctx, "db", time.Millisecond, "query", "queries")
	m := timing.Metrics(ctx)
	require.Len(t, m, timing.MaxMetrics)
	assert.Equal(t, "db", m[0].Name)
	assert.Equal(t, 2, m[0].Count)
	assert.Equal(t, "2 queries", m[0].Desc)
}
