package metrics_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/go-caching/caching/metrics"
	"github.com/go-caching/caching/pool"
)

// poolSeries counts the series labelled pool="name" in mfs.
func poolSeries(mfs []*dto.MetricFamily, name string) (n int) {
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "pool" && l.GetValue() == name {
					n++
				}
			}
		}
	}
	return n
}

// TestScrapesShareAHungPoolSource: a Registry source that never returned
// held every scrape of a Collector given the Registry, each scrape leaving
// a goroutine per source behind. Concurrent and later scrapes end, leave
// the source out, and share its one call; once it returns, the next scrape
// calls it again and exports it.
func TestScrapesShareAHungPoolSource(t *testing.T) {
	release := make(chan struct{})
	var unblock sync.Once
	defer unblock.Do(func() { close(release) })
	var calls atomic.Int64
	var reg pool.Registry
	if err := reg.Register("hung", func() any {
		if calls.Add(1) == 1 {
			<-release
		}
		return pool.Stats{Kind: "sql", Open: 1}
	}); err != nil {
		t.Fatal(err)
	}
	pr := prometheus.NewRegistry()
	pr.MustRegister(metrics.New(simpleCache(t), metrics.Options{Pools: &reg}))

	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				mfs, err := pr.Gather()
				if err != nil {
					t.Error(err)
				}
				if n := poolSeries(mfs, "hung"); n != 0 {
					t.Errorf("a source that has not answered exported %d series", n)
				}
			})
		}
		wg.Wait()
		if _, err := pr.Gather(); err != nil { // a later one, the call still hung
			t.Error(err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a scrape waited for a source that never returns")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the hung source was called %d times: a goroutine more per scrape", n)
	}

	unblock.Do(func() { close(release) })
	mfs, err := pr.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if poolSeries(mfs, "hung") == 0 {
		t.Error("the source, answering again, is not exported")
	}
}
