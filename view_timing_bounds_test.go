package caching

import (
	"fmt"
	"testing"

	"github.com/go-caching/caching/timing"
)

// TestRunReportsCacheWhenHandlerFillsTiming: a run a stale entry may
// answer reports its cache metric once the handler's status is known,
// after the handler's own metrics: where these filled timing's bounds
// (MaxMetrics, or MaxHeaderBytes), the cache metric was left out of the
// header (counted in omitted). Its place is kept as the run begins, and
// filled with what answered the request: the run's response (miss), or
// the stale entry in place of its failure, or the entry a 304 freshened.
func TestRunReportsCacheWhenHandlerFillsTiming(t *testing.T) {
	for _, n := range []int{timing.MaxMetrics, 100} { // past MaxMetrics; past MaxHeaderBytes
		for _, tc := range runReportCases {
			t.Run(fmt.Sprintf("metrics=%d/%s", n, tc.name), func(t *testing.T) {
				checkRunReport(t, tc.method, tc.shared, tc.fail, tc.want, n)
			})
		}
	}
}
