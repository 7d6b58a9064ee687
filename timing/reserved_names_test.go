package timing_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// A metric the handler recorded as "total" or "omitted" (in any case) was
// sent under that name, so the header had two totals, or an "omitted"
// that the middleware had not written, and a reader (a browser's devtools,
// a dashboard taking the first total) could take the handler's for the
// middleware's. The header now sends them as "_total" and "_omitted": only
// the middleware's own metrics bear those names. The Report keeps the name
// the handler gave.
func TestHandlerMetricsDoNotPassForTheMiddlewares(t *testing.T) {
	var rep timing.Report
	rec := serve(t, timing.Options{
		Expose:  func(*http.Request) bool { return true },
		Observe: func(r timing.Report) { rep = r },
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		timing.Add(ctx, "total", 7*time.Millisecond, "")
		timing.Add(ctx, "omitted", 0, "3")
		timing.Count(ctx, "Total", time.Millisecond, "", "")
		timing.Add(ctx, "totals", time.Millisecond, "")
	}))
	st := rec.Header().Get("Server-Timing")
	names := regexp.MustCompile(`(?:^|, )([^;,]+)`).FindAllStringSubmatch(st, -1)
	var got []string
	for _, n := range names {
		got = append(got, n[1])
	}
	assert.Equal(t, []string{"_total", "_omitted", "_Total", "totals", "total"}, got, st)

	require.Len(t, rep.Metrics, 4)
	assert.Equal(t, "total", rep.Metrics[0].Name)
	assert.Equal(t, "omitted", rep.Metrics[1].Name)
	assert.Equal(t, "Total", rep.Metrics[2].Name)
}
