package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/metrics"
	"github.com/go-caching/caching/pool"
)

// collectSafely runs c.Collect on the calling goroutine, so that a panic
// fails the test instead of crashing the binary as it would crash a
// program's registry (Gather collects on goroutines of its own).
func collectSafely(t *testing.T, c prometheus.Collector) (n int) {
	t.Helper()
	ch := make(chan prometheus.Metric, 1024)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("a scrape panicked: %v", r)
			}
		}()
		c.Collect(ch)
	}()
	close(ch)
	for range ch {
		n++
	}
	return n
}

// simpleCache returns a Cache over an in-process store, closed when t ends.
func simpleCache(t *testing.T) *caching.Cache {
	t.Helper()
	s, err := simple.New(simple.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := caching.Must(&caching.Options{Backend: s})
	t.Cleanup(func() { c.Close() })
	return c
}

// gatherLabels collects col safely, then gathers it through a registry, as
// a scrape does, and returns every label's values by label name.
func gatherLabels(t *testing.T, col prometheus.Collector) map[string][]string {
	t.Helper()
	collectSafely(t, col)
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	labels := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = append(labels[l.GetName()], l.GetValue())
			}
		}
	}
	return labels
}

// TestScrapeSurvivesInvalidUTF8Names: a view, a memoized function or a pool
// named with bytes that are not UTF-8 (a Name built from a byte slice, a
// pattern in Latin-1) must not make a scrape panic, which takes the whole
// program down; the names are exported with the bad bytes replaced.
func TestScrapeSurvivesInvalidUTF8Names(t *testing.T) {
	c := simpleCache(t)
	bad := "caf\xe9"
	v := c.Cached(time.Minute, caching.Name(bad))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	v.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	m := caching.Memoize(c, bad, func(_ context.Context, n int) (int, error) { return n, nil })
	_, _ = m.Get(context.Background(), 1)
	var pools pool.Registry
	if err := pools.Register(bad, func() any { return pool.Stats{Kind: "sql"} }); err != nil {
		t.Fatal(err)
	}
	var seen int
	for _, vs := range gatherLabels(t, metrics.New(c, metrics.Options{Pools: &pools})) {
		for _, v := range vs {
			if strings.HasPrefix(v, "caf") {
				seen++
			}
		}
	}
	if seen == 0 {
		t.Fatal("the badly named view, function and pool were not exported")
	}
}

// TestScrapeSurvivesPanickingPoolSource: a Registry source that panicked
// (a program's own func, or a Redis client wrapper's statistics) made the
// Collector panic, which inside a registry's Gather (run on goroutines of
// its own, where nothing recovers) takes the whole program down. The other
// pools are exported and the scrape succeeds.
func TestScrapeSurvivesPanickingPoolSource(t *testing.T) {
	c := simpleCache(t)
	var pools pool.Registry
	if err := pools.Register("broken", func() any { panic("source bug") }); err != nil {
		t.Fatal(err)
	}
	if err := pools.Register("working", func() any { return pool.Stats{Kind: "sql", Open: 3} }); err != nil {
		t.Fatal(err)
	}
	got := gatherLabels(t, metrics.New(c, metrics.Options{Pools: &pools}))["pool"]
	if slices.Contains(got, "broken") {
		t.Error("a series exported for the source that panicked")
	}
	if !slices.Contains(got, "working") {
		t.Fatal("the working pool was not exported")
	}
}
