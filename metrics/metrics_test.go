package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/metrics"
	"github.com/go-caching/caching/pool"
)

// remote is a simple store seen as a remote one (entries encoded, a circuit
// breaker in front) that can be made to fail, and that reports its Stats.
type remote struct {
	s    *simple.Store
	fail atomic.Bool
}

var errDown = errors.New("remote: down")

func (r *remote) down() error {
	if r.fail.Load() {
		return errDown
	}
	return nil
}

func (r *remote) Get(ctx context.Context, k string) ([]byte, error) {
	if err := r.down(); err != nil {
		return nil, err
	}
	return r.s.Get(ctx, k)
}

func (r *remote) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := r.down(); err != nil {
		return nil, err
	}
	return r.s.GetMany(ctx, keys)
}

func (r *remote) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if err := r.down(); err != nil {
		return err
	}
	return r.s.Set(ctx, k, v, ttl)
}

func (r *remote) Add(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	if err := r.down(); err != nil {
		return false, err
	}
	return r.s.Add(ctx, k, v, ttl)
}

func (r *remote) Delete(ctx context.Context, keys ...string) error {
	if err := r.down(); err != nil {
		return err
	}
	return r.s.Delete(ctx, keys...)
}

func (r *remote) Clear(ctx context.Context) error { return r.s.Clear(ctx) }
func (r *remote) Close() error                    { return r.s.Close() }
func (r *remote) Stats() backend.Stats            { return r.s.Stats() }

// clock is a Cache clock moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// The metrics of a Cache that are expected in every scrape, with their
// label sets.
var expected = []string{
	"caching_hits_total", "caching_stale_hits_total", "caching_misses_total", "caching_bypasses_total",
	"caching_sets_total", "caching_errors_total", "caching_corrupt_total",
	"caching_entries", "caching_bytes", "caching_evictions_total",
	"caching_leases_total", "caching_lease_waits_total", "caching_lease_timeouts_total", "caching_pending_invalidations",
	"caching_collapse_timeouts_total", "caching_collapse_takeovers_total",
	"caching_view_requests_total", "caching_view_errors_total", "caching_view_corrupt_total",
	"caching_memoize_calls_total", "caching_memoize_errors_total", "caching_memoize_corrupt_total",
	"caching_backend_call_duration_seconds", "caching_backend_call_errors_total",
	"caching_pool_connections", "caching_pool_max_open", "caching_pool_waits_total",
	"caching_pool_wait_seconds_total", "caching_pool_timeouts_total", "caching_pool_opened_total",
	"caching_pool_connect_errors_total", "caching_pool_closed_total", "caching_pool_queries_total",
	"caching_pool_slow_queries_total",
}

// TestCollectorEveryMetricPresentAndMoving scrapes the collector's text
// output twice, with every kind of event between, parses it with the
// Prometheus text parser, and checks that every metric is present in both
// and moved.
func TestCollectorEveryMetricPresentAndMoving(t *testing.T) {
	ctx := context.Background()
	s, err := simple.New(simple.Options{MaxEntries: 200})
	if err != nil {
		t.Fatal(err)
	}
	store := &remote{s: s}
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	lat := metrics.NewLatency()
	c := caching.Must(&caching.Options{Backend: store, Observer: lat, Clock: clk.Now,
		Lease: 20 * time.Millisecond, Breaker: caching.BreakerOptions{Threshold: 30, Cooldown: time.Hour}})
	defer c.Close()

	var pools pool.Registry
	var polled atomic.Int64
	if err := pools.Register("db", func() any {
		n := polled.Add(1)
		return pool.Stats{Kind: "sql", Open: int(n), InUse: int(n), Idle: int(n), MaxOpen: int(n), Waits: n,
			WaitTimeMS: float64(n), Timeouts: n, Opened: n, ConnectErrors: n, Closed: map[string]int64{"idle_timeout": n},
			Queries: n, SlowQueries: n}
	}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(c, metrics.Options{Latency: lat, Pools: &pools}))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	var failing atomic.Bool
	view := c.Cached(time.Second, caching.Name("products"), caching.StaleIfError(time.Hour))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "page")
	}))
	write := c.Cached(time.Second, caching.Name("products"), caching.InvalidateOnWrite())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	m := caching.Memoize(c, "square", func(_ context.Context, n int) (int, error) { return n * n, nil })
	get := func(path string, hdr ...string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if len(hdr) == 2 {
			r.Header.Set(hdr[0], hdr[1])
		}
		view.ServeHTTP(httptest.NewRecorder(), r)
	}
	// gaveUp serves two requests of path: the first one's handler runs
	// until the second, which waited for it past its CollapseTimeout, has
	// run the handler itself.
	gaveUp := func(path string) {
		started, release := make(chan struct{}), make(chan struct{})
		slow := c.Cached(time.Second, caching.Name("slow"), caching.CollapseTimeout(time.Nanosecond))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Lead") != "" {
				close(started)
				<-release
			}
			fmt.Fprint(w, "slow")
		}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set("X-Lead", "1")
			slow.ServeHTTP(httptest.NewRecorder(), r)
		}()
		<-started
		slow.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		close(release)
		<-done
	}
	round := func(i int, more bool) {
		p := fmt.Sprint("/p/", i)
		get(p)                              // miss, a lease taken
		get(p)                              // hit
		get(p, "Authorization", "Bearer x") // bypass
		clk.Advance(2 * time.Second)
		failing.Store(true)
		get(p) // stale: the handler fails
		failing.Store(false)
		// A corrupt entry, for the view and the function.
		key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, fmt.Sprint("/bad/", i), nil), caching.Name("products"))
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Set(ctx, key, []byte("garbage"), 0)
		get(fmt.Sprint("/bad/", i))
		mk, _ := m.Key(1000 + i)
		_ = s.Set(ctx, mk, []byte("garbage"), 0)
		_, _ = m.Get(ctx, 1000+i)
		_, _ = m.Get(ctx, i) // miss
		_, _ = m.Get(ctx, i) // hit
		// Another process's lease on a key: this one waits, then times out.
		lk, _ := c.ViewKey(httptest.NewRequest(http.MethodGet, fmt.Sprint("/leased/", i), nil), caching.Name("products"))
		_ = s.Set(ctx, "l/"+lk, []byte("h"), time.Hour)
		get(fmt.Sprint("/leased/", i))
		// A request that gives up waiting for another's run of its key.
		gaveUp(fmt.Sprint("/slow/", i))
		if more {
			for j := range 300 { // past the store's bound: evictions
				_ = c.Set(ctx, fmt.Sprint("flood/", j), []byte("x"), time.Hour)
			}
		}
		// Backend errors, for the view and the function; in the second
		// round until the breaker opens.
		store.fail.Store(true)
		for j := 0; j < 1 || more && c.Stats().Breaker != "open"; j++ {
			get(fmt.Sprint("/down/", i, "/", j))
			_, _ = m.Get(ctx, -1-j)
		}
		if more {
			// A write whose invalidation fails: it waits to be retried
			// (the breaker stays open for the rest of the test).
			write.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, p, nil))
		}
		store.fail.Store(false)
	}

	round(1, false)
	first := scrape(t, srv.URL)
	round(2, true)
	second := scrape(t, srv.URL)

	for _, name := range expected {
		a, ok1 := first[name]
		b, ok2 := second[name]
		if !ok1 || !ok2 {
			t.Errorf("%s: missing from a scrape (first %v, second %v)", name, ok1, ok2)
			continue
		}
		if total(a) == total(b) {
			t.Errorf("%s did not move: %v", name, total(a))
		}
	}
	if v := series(first["caching_breaker_state"], "state", "closed"); v != 1 {
		t.Errorf("breaker closed = %v in the first scrape, want 1", v)
	}
	if v := series(second["caching_breaker_state"], "state", "open"); v != 1 {
		t.Errorf("breaker open = %v in the second scrape, want 1", v)
	}
	for _, outcome := range []string{"hit", "stale", "miss", "bypass"} {
		a := series(first["caching_view_requests_total"], "outcome", outcome)
		b := series(second["caching_view_requests_total"], "outcome", outcome)
		if a <= 0 || b <= a {
			t.Errorf("caching_view_requests_total{outcome=%q}: %v then %v, want positive and moving", outcome, a, b)
		}
	}
	for _, outcome := range []string{"hit", "miss"} {
		if v := series(second["caching_memoize_calls_total"], "outcome", outcome); v <= 0 {
			t.Errorf("caching_memoize_calls_total{outcome=%q} = %v", outcome, v)
		}
	}
	if _, ok := second["caching_near_hits_total"]; ok {
		t.Error("near-cache metrics exported for a Cache without a near cache")
	}
}

// scrape reads and parses the collector's text output.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// total is the sum of a family's values (a histogram's sample counts).
func total(f *dto.MetricFamily) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// series is the sum of the values of f's series whose label has value.
func series(f *dto.MetricFamily, label, value string) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// TestLatencyExportedOnce: one Latency given to two Caches, each Collector
// registered under a label of its own as the docs say for several Caches,
// exported the shared histogram under both labels: a Cache that made no
// backend call showed the other's calls, and every sum counted them twice.
// New refuses a Latency another Collector exports.
func TestLatencyExportedOnce(t *testing.T) {
	lat := metrics.NewLatency()
	a := caching.Must(&caching.Options{Observer: lat})
	defer a.Close()
	b := caching.Must(&caching.Options{Observer: lat})
	defer b.Close()
	reg := prometheus.NewRegistry()
	prometheus.WrapRegistererWith(prometheus.Labels{"cache": "a"}, reg).MustRegister(metrics.New(a, metrics.Options{Latency: lat}))
	panicked := func(f func()) (p any) {
		defer func() { p = recover() }()
		f()
		return nil
	}
	want := "metrics: New: this Latency is exported by another Collector already; give each Cache its own NewLatency"
	if p := panicked(func() { metrics.New(b, metrics.Options{Latency: lat}) }); p != want {
		t.Errorf("a second Collector of one Latency: panic %v, want %q", p, want)
	}
	if p := panicked(func() {
		prometheus.WrapRegistererWith(prometheus.Labels{"cache": "b"}, reg).MustRegister(metrics.New(b, metrics.Options{Latency: metrics.NewLatency()}))
	}); p != nil {
		t.Errorf("a Latency of its own: %v", p)
	}
}

func ExampleNew() {
	lat := metrics.NewLatency()
	c := caching.Must(&caching.Options{Observer: lat})
	defer c.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(c, metrics.Options{Latency: lat}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /products", c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "[]")
	})))
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/products", nil))
	fmt.Println(c.ViewStats()["GET /products"].Misses)
	// Output: 1
}
