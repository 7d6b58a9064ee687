package main

// outage.go: the backend outage run (-outage), issue 12 item 9's
// measurement. For Redis and for memcached, each started on a port of its
// own, it drives the -compare workload against the in-process service:
// with caching off (null://, the reference); with the cache on the server
// while it is up; with the server killed (every request must still
// succeed); with the same service once the server is back (recovery
// without a restart); with the circuit breaker turned off while the server
// is down (what the catalog did before the breaker); and against a
// blackholed server, one that accepts connections and never answers, where
// only the breaker spares each request the backend's timeout.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// Outage run sizes: each mode runs the workload outagePasses times over
// (12,000 requests: a few breaker cool-downs long), except the blackhole
// without a breaker, where each request waits for the backend's timeout.
const (
	outagePasses            = 3
	blackholeUnguardedItems = 80
	recoveryLimit           = 10 * time.Second
	// alternateChunk is the turn of each mode that runs in turns with
	// others (see alternate).
	alternateChunk = 1000
)

// slowWait is the latency the table counts requests over (>=200ms): under
// the backends' timeouts (250ms for memcached, 500ms for Redis), over what
// a request that does not wait for one takes.
const slowWait = 200 * time.Millisecond

// The modes of the outage run, one row each, in the table's order.
const (
	modeNull            = "caching off (null://)"
	modeUp              = "server up"
	modeKilled          = "server killed"
	modeKilledNoBreaker = "server killed, no breaker"
	modeRestarted       = "server restarted"
	modeRecovered       = "recovered"
	modeBlackhole       = "blackholed"
	modeBlackholeAgain  = "blackholed, again"
	modeBlackholeNoBrk  = "blackholed, no breaker"
)

var outageModes = []string{modeNull, modeUp, modeKilled, modeKilledNoBreaker, modeRestarted, modeRecovered, modeBlackhole, modeBlackholeAgain, modeBlackholeNoBrk}

// noBreaker turns the Cache's circuit breaker off.
var noBreaker = caching.BreakerOptions{Threshold: -1}

// outageBackend is a cache server the outage run starts and kills.
type outageBackend struct {
	name string
	bin  string
	args func(port int) []string
	// url is the CACHE_URL of a service of its own (namespace ns) on the
	// server at addr.
	url func(addr, ns string) string
}

var outageBackends = []outageBackend{
	{"redis", "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	}, func(addr, ns string) string { return "redis://" + addr + "/0?prefix=" + ns + ":" }},
	{"memcached", "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "64"}
	}, func(addr, ns string) string { return "memcached://" + addr + "?namespace=" + ns }},
}

// outageResult is one mode's run on one backend.
type outageResult struct {
	backend string
	compareResult
	// recovery is, after a restart, how long the breaker took to close
	// again: when the first probe found the server back.
	recovery time.Duration
}

// runOutage runs every mode on every backend, rounds times over (the
// backends and modes interleaved, so that the machine's noise spreads over
// all of them), and writes one table of medians to out.
func runOutage(ctx context.Context, out io.Writer, seed, rounds int) error {
	if rounds < 1 {
		return fmt.Errorf("-rounds is %d; want 1 or more", rounds)
	}
	if err := checkWorkloadSeed(seed); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "catalog-outage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// go-redis logs each failed dial to stderr, process-wide.
	redis.SetLogger(&logging.VoidLogger{})
	var items []workItem
	for range outagePasses {
		items = append(items, workload()...)
	}
	var all []outageResult
	for round := range rounds {
		for _, b := range outageBackends {
			fmt.Fprintf(os.Stderr, "catalog: round %d/%d, %s: %d requests per mode...\n", round+1, rounds, b.name, len(items))
			srv, err := testutil.Launch(b.bin, b.args)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			rs, err := outageRound(ctx, filepath.Join(dir, fmt.Sprint(round)), seed, b, srv, items, caching.BreakerOptions{})
			srv.Stop()
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			bs, err := blackholeRound(ctx, filepath.Join(dir, fmt.Sprint(round)), seed, b, items, items[:blackholeUnguardedItems])
			if err != nil {
				return fmt.Errorf("%s blackholed: %w", b.name, err)
			}
			all = append(append(all, rs...), bs...)
		}
	}
	writeOutageTable(out, all)
	return nil
}

// outageRound runs, against the server srv (up), the modes up; null://,
// killed and killed with no breaker, in turns; restarted; and recovered
// (once the breaker has closed). It leaves srv up. The
// services' databases go under dir; br is the breaker of the service that
// has one.
func outageRound(ctx context.Context, dir string, seed int, b outageBackend, srv *testutil.Process, items []workItem, br caching.BreakerOptions) ([]outageResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db := func(mode string) string { return filepath.Join(dir, b.name+"-"+mode+".db") }
	null, err := quietService(ctx, db("null"), "null://", seed, caching.BreakerOptions{})
	if err != nil {
		return nil, err
	}
	defer null.Close()
	svc, err := quietService(ctx, db("breaker"), b.url(srv.Addr, "outage-breaker"), seed, br)
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	unguarded, err := quietService(ctx, db("nobreaker"), b.url(srv.Addr, "outage-nobreaker"), seed, noBreaker)
	if err != nil {
		return nil, err
	}
	defer unguarded.Close()

	var results []outageResult
	run := func(s *Service, name string, items []workItem) {
		r := drive(ctx, s, items)
		r.name = name
		results = append(results, outageResult{backend: b.name, compareResult: r})
	}
	run(svc, modeUp, items)
	drive(ctx, unguarded, items[:len(items)/10]) // its connections, pooled as in the other
	srv.Stop()
	// The reference and the modes the target is about run in turns, so that
	// the machine's load, which drifts from one second to the next, weighs
	// on them alike.
	turns := alternate(ctx, []*Service{null, svc, unguarded}, items, alternateChunk)
	for i, name := range []string{modeNull, modeKilled, modeKilledNoBreaker} {
		turns[i].name = name
		results = append(results, outageResult{backend: b.name, compareResult: turns[i]})
	}
	if err := srv.Restart(); err != nil {
		return nil, err
	}
	watch := watchBreaker(svc.Cache)
	run(svc, modeRestarted, items)
	// The breaker closes at the first probe that finds the server back; on
	// Redis that can take a second or two (go-redis fails calls from memory
	// until its background dial, once a second, succeeds, and a probe that
	// fails then costs another cool-down). Until then, a little more of the
	// workload.
	for deadline := time.Now().Add(recoveryLimit); svc.Cache.Stats().Breaker != "closed"; {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the breaker was not closed %v after the server was back", recoveryLimit)
		}
		drive(ctx, svc, items[:min(len(items), 100)])
	}
	results[len(results)-1].recovery = watch()
	run(svc, modeRecovered, items)
	return results, nil
}

// alternate runs items against each of svcs in turns of chunk requests,
// and returns each one's turns merged into one result.
func alternate(ctx context.Context, svcs []*Service, items []workItem, chunk int) []compareResult {
	res := make([]compareResult, len(svcs))
	for start := 0; start < len(items); start += chunk {
		part := items[start:min(start+chunk, len(items))]
		for i, s := range svcs {
			res[i].add(drive(ctx, s, part))
		}
	}
	return res
}

// add merges the run r into res, as if the two were one run (but for
// firsts and firstHits, which the outage table does not show); the breaker
// state is r's.
func (res *compareResult) add(r compareResult) {
	if lookups := res.lookups + r.lookups; lookups > 0 {
		res.hitRatio = (res.hitRatio*float64(res.lookups) + r.hitRatio*float64(r.lookups)) / float64(lookups)
	}
	res.lookups += r.lookups
	res.elapsed += r.elapsed
	res.latencies = append(res.latencies, r.latencies...)
	res.queries += r.queries
	res.wire += r.wire
	res.decoded += r.decoded
	res.errors += r.errors
	res.cacheErrors += r.cacheErrors
	res.cpu += r.cpu
	res.breaker = r.breaker
}

// watchBreaker polls c's breaker from now on; the function it returns stops
// polling and reports how long the breaker took to be closed, or -1 if it
// was not closed yet.
func watchBreaker(c *caching.Cache) func() time.Duration {
	start, stop, closed := time.Now(), make(chan struct{}), make(chan time.Duration, 1)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for c.Stats().Breaker != "closed" {
			select {
			case <-stop:
				if c.Stats().Breaker == "closed" { // since the last poll
					closed <- time.Since(start)
				} else {
					closed <- -1
				}
				return
			case <-tick.C:
			}
		}
		closed <- time.Since(start)
	}()
	return func() time.Duration {
		close(stop)
		return <-closed
	}
}

// blackholeRound runs items twice against a service whose cache server
// accepts connections and never answers: the first run pays for the
// requests that wait for the backend's timeout until the breaker opens, the
// second shows the open breaker (and its probes). Then it runs
// unguardedItems (if any) against a service with no breaker.
func blackholeRound(ctx context.Context, dir string, seed int, b outageBackend, items, unguardedItems []workItem) ([]outageResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	hole, err := listenBlackhole()
	if err != nil {
		return nil, err
	}
	defer hole.Close()
	var results []outageResult
	for _, m := range []struct {
		br    caching.BreakerOptions
		runs  []string
		items []workItem
	}{{caching.BreakerOptions{}, []string{modeBlackhole, modeBlackholeAgain}, items}, {noBreaker, []string{modeBlackholeNoBrk}, unguardedItems}} {
		if len(m.items) == 0 {
			continue
		}
		svc, err := quietService(ctx, filepath.Join(dir, b.name+"-"+m.runs[0]+".db"), b.url(hole.Addr().String(), "outage"), seed, m.br)
		if err != nil {
			return nil, err
		}
		for _, name := range m.runs {
			r := drive(ctx, svc, m.items)
			r.name = name
			results = append(results, outageResult{backend: b.name, compareResult: r})
		}
		svc.Close()
	}
	return results, nil
}

// blackhole is a TCP listener that accepts connections and never answers
// on them: a hung server, or a network that drops its answers.
type blackhole struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func listenBlackhole() (*blackhole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &blackhole{Listener: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	return h, nil
}

// Close stops accepting and closes the connections it holds.
func (h *blackhole) Close() error {
	err := h.Listener.Close()
	<-h.done
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
	return err
}

// writeOutageTable prints, for each backend and mode, the medians over the
// rounds: req/s with its spread (min-max), the ratio of the median to the
// median of null:// on the same backend, the median and range of the
// per-round ratios, CPU time per request, and the
// requests that took slowWait or more (those that waited for a timeout).
func writeOutageTable(out io.Writer, results []outageResult) {
	type key struct{ backend, mode string }
	var order []key
	runs := map[key][]outageResult{}
	for _, r := range results {
		k := key{r.backend, r.name}
		if _, ok := runs[k]; !ok {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r)
	}
	backends := slices.CompactFunc(slices.Clone(order), func(a, b key) bool { return a.backend == b.backend })
	slices.SortStableFunc(order, func(a, b key) int {
		return cmp.Or(
			cmp.Compare(slices.IndexFunc(backends, func(k key) bool { return k.backend == a.backend }),
				slices.IndexFunc(backends, func(k key) bool { return k.backend == b.backend })),
			cmp.Compare(slices.Index(outageModes, a.mode), slices.Index(outageModes, b.mode)))
	})
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tmode\trequests\treq/s\tmin-max\tx null://\tper round\tp50\tp99\tCPU/req\t>=200ms\tSQL queries\tfailed\thit ratio\tStats.Errors\tbreaker\tclosed after\t")
	for _, k := range order {
		rs, ref := runs[k], runs[key{k.backend, modeNull}]
		rps := make([]float64, len(rs))
		var ratios, p50, p99, cpu, refCPU, queries, hits, errs []float64
		var failed int
		var slow, recovery []float64
		var states []string
		for i, r := range rs {
			rps[i] = r.rate()
			if i < len(ref) {
				ratios = append(ratios, r.rate()/ref[i].rate())
			}
			slices.Sort(r.latencies)
			p50 = append(p50, float64(percentile(r.latencies, 0.50)))
			p99 = append(p99, float64(percentile(r.latencies, 0.99)))
			cpu = append(cpu, float64(r.cpu)/float64(len(r.latencies)))
			queries = append(queries, float64(r.queries))
			slow = append(slow, float64(len(r.latencies)-sort.Search(len(r.latencies), func(i int) bool { return r.latencies[i] >= slowWait })))
			hits = append(hits, r.hitRatio)
			errs = append(errs, float64(r.cacheErrors))
			if r.recovery != 0 {
				recovery = append(recovery, float64(r.recovery))
			}
			failed += r.errors
			state := cmp.Or(r.breaker, "none")
			if !slices.Contains(states, state) {
				states = append(states, state)
			}
		}
		refRPS := make([]float64, len(ref))
		for i, r := range ref {
			refRPS[i] = r.rate()
			refCPU = append(refCPU, float64(r.cpu)/float64(len(r.latencies)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f-%.0f\t%.2fx\t%.2f (%.2f-%.2f)\t%v\t%v\t%v (%.2fx)\t%.0f\t%.0f\t%d\t%.0f%%\t%.0f\t%s\t%s\t\n",
			k.backend, k.mode, len(rs[0].latencies), median(rps), slices.Min(rps), slices.Max(rps),
			median(rps)/median(refRPS), median(ratios), slices.Min(ratios), slices.Max(ratios),
			time.Duration(median(p50)).Round(time.Microsecond), time.Duration(median(p99)).Round(time.Microsecond),
			time.Duration(median(cpu)).Round(time.Microsecond), median(cpu)/median(refCPU), median(slow), median(queries),
			failed, 100*median(hits), median(errs), strings.Join(states, "/"), spread(recovery))
	}
	tw.Flush()
	fmt.Fprintf(out, "\nmedians over %d round(s); x null:// is the ratio of the medians; per round, the median (and range)\n"+
		"of each round's ratio to the null:// run of the same round, which runs in turns with the killed modes;\n"+
		"CPU/req is the process's CPU time (service and load generator) per request, and its ratio to null://'s\n", len(runs[order[0]]))
}

// spread formats durations as their median and range, or "" for none; a
// negative one (not recovered) as "never".
func spread(ds []float64) string {
	if len(ds) == 0 {
		return ""
	}
	f := func(d float64) string {
		if d < 0 {
			return "never"
		}
		return time.Duration(d).Round(time.Millisecond).String()
	}
	m := median(ds)
	return fmt.Sprintf("%s (%s-%s)", f(m), f(ds[0]), f(ds[len(ds)-1]))
}

// rate is the run's throughput in requests per second.
func (r compareResult) rate() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

// median returns the median of xs (the mean of the middle two for an even
// count); xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
