package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/metrics"
	"github.com/go-caching/caching/pool"
)

// TestPoolLabelClashSummed: two pools whose names come out as the same
// label ("db\xff" and the six characters `db\xff`) were not summed, as
// views' and functions' are: whichever the map iteration met second was
// dropped, so that each series flipped between the two pools' figures
// from one scrape to the next. Every scrape now shows their sum.
func TestPoolLabelClashSummed(t *testing.T) {
	s, err := simple.New(simple.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := caching.Must(&caching.Options{Backend: s})
	defer c.Close()
	var pools pool.Registry
	for name, st := range map[string]pool.Stats{
		"db\xff": {Kind: "sql", Open: 1, MaxOpen: 10, Opened: 1, WaitTimeMS: 1000, Closed: map[string]int64{"max_idle": 1}},
		`db\xff`: {Kind: "sql", Open: 2, MaxOpen: 20, Opened: 100, WaitTimeMS: 2000, Closed: map[string]int64{"max_idle": 2, "other": 3}},
		"other":  {Kind: "redis", MaxOpen: -1, Opened: 7},
	} {
		if err := pools.Register(name, func() any { return st }); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(c, metrics.Options{Pools: &pools}))
	want := map[string]float64{
		`caching_pool_opened_total{pool="db\xff"}`:                   101,
		`caching_pool_connections{pool="db\xff",state="open"}`:       3,
		`caching_pool_max_open{pool="db\xff"}`:                       30,
		`caching_pool_wait_seconds_total{pool="db\xff"}`:             3,
		`caching_pool_closed_total{pool="db\xff",reason="max_idle"}`: 3,
		`caching_pool_closed_total{pool="db\xff",reason="other"}`:    3,
		`caching_pool_opened_total{pool="other"}`:                    7,
		`caching_pool_max_open{pool="other"}`:                        -1,
	}
	for range 50 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				got[seriesName(mf.GetName(), m)] = seriesValue(m)
			}
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Fatalf("%s = %v (exported: %v), want %v", k, g, ok, v)
			}
		}
	}
}

// seriesName returns the name and labels of m, as name{l1="v1",l2="v2"}.
func seriesName(name string, m *dto.Metric) string {
	s := name + "{"
	for i, l := range m.GetLabel() {
		if i > 0 {
			s += ","
		}
		s += l.GetName() + `="` + l.GetValue() + `"`
	}
	return s + "}"
}

// seriesValue returns m's value, a counter's or a gauge's.
func seriesValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestPoolClosedReasonLabel: pool names went through labelValue but the
// reasons of Stats.Closed did not, so a source of the program's own
// returning a reason that is not valid UTF-8 made Collect panic inside the
// registry's Gather, taking the program down. Reasons are now made fit for
// a label as names are, and reasons that then read alike are summed.
func TestPoolClosedReasonLabel(t *testing.T) {
	s, err := simple.New(simple.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := caching.Must(&caching.Options{Backend: s})
	defer c.Close()
	var pools pool.Registry
	if err := pools.Register("other", func() any {
		return pool.Stats{Kind: "sql", Closed: map[string]int64{"bad\xffreason": 1, `bad\xffreason`: 2, "ok": 4}}
	}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(c, metrics.Options{Pools: &pools}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[seriesName(mf.GetName(), m)] = seriesValue(m)
		}
	}
	for k, v := range map[string]float64{
		`caching_pool_closed_total{pool="other",reason="bad\xffreason"}`: 3,
		`caching_pool_closed_total{pool="other",reason="ok"}`:            4,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (exported: %v), want %v", k, g, ok, v)
		}
	}
}
