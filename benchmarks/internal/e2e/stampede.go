package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching"
)

// The stampede benchmark (issue 13): a cold key hit at once by every
// request of several server processes on one Redis. Without the lease each
// process runs the handler once (its own flight collapses its requests);
// with it, one process runs it for all.

// StampedeRoutes adds the stampede route to mux: GET /stampede/{key},
// cached on c (host left out of the key, so that every process shares it)
// with Lease(lease), whose handler works for work and counts its runs; and
// GET /stampede-runs, which answers that count.
func StampedeRoutes(mux *http.ServeMux, c *caching.Cache, lease, work time.Duration) {
	var runs atomic.Int64
	mux.Handle("GET /stampede/{key}", c.Cached(TTL, caching.IgnoreHost(), caching.Lease(lease), caching.CacheStatusHeader(StatusHeader))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			time.Sleep(work)
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "made for %s\n", r.PathValue("key"))
		})))
	mux.HandleFunc("GET /stampede-runs", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, runs.Load())
	})
}

// StampedeOptions configures Stampede.
type StampedeOptions struct {
	Env Env
	// Procs is the number of server processes (4), Conc the concurrent
	// requests sent to each for one cold key (50).
	Procs, Conc int
	// Rounds is the number of cold keys of each configuration, measured in
	// alternation (20).
	Rounds int
	// Work is how long the handler works (50 ms); Lease the lease of the
	// configuration with one (2 s).
	Work, Lease time.Duration
	Log         io.Writer
}

// StampedeResult is what one configuration came to.
type StampedeResult struct {
	Lease time.Duration // 0: the configuration without a lease
	// Runs holds the handler runs of each round (each cold key), summed
	// over the processes.
	Runs []int64
	// Latency is the latency of every request of every round.
	Latency Histogram
	Errors  int
}

// Stampede runs the benchmark: two sets of opts.Procs server processes on
// one Redis, without and with the lease, and opts.Rounds cold keys for each,
// alternately.
func Stampede(ctx context.Context, opts StampedeOptions) ([]*StampedeResult, error) {
	if opts.Procs == 0 {
		opts.Procs = 4
	}
	if opts.Conc == 0 {
		opts.Conc = 50
	}
	if opts.Rounds == 0 {
		opts.Rounds = 20
	}
	if opts.Work == 0 {
		opts.Work = 50 * time.Millisecond
	}
	if opts.Lease == 0 {
		opts.Lease = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	results := []*StampedeResult{{}, {Lease: opts.Lease}}
	servers := make([][]*Process, len(results))
	defer func() {
		for _, ps := range servers {
			for _, p := range ps {
				_ = p.Stop()
			}
		}
	}()
	for i, res := range results {
		for range opts.Procs {
			args := append(opts.Env.Self[1:len(opts.Env.Self):len(opts.Env.Self)], "-mode", ModeRedis,
				"-redis", opts.Env.redisURL(), "-prefix", opts.Env.Prefix,
				"-lease", res.Lease.String(), "-work", opts.Work.String())
			cmd := exec.Command(opts.Env.Self[0], args...)
			cmd.Env = append(os.Environ(), opts.Env.SelfEnv...)
			p, err := Start(cmd, 30*time.Second)
			if err != nil {
				return nil, err
			}
			servers[i] = append(servers[i], p)
		}
	}
	defer func() { _ = ClearPrefix(context.Background(), opts.Env.redisURL(), opts.Env.Prefix) }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Conc}, Timeout: time.Minute}
	for round := range opts.Rounds {
		for i, res := range results {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			key := fmt.Sprintf("cold-%d-%d-%d", time.Now().UnixNano(), round, i)
			runs, err := stampedeRound(client, servers[i], key, opts.Conc, res)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, runs)
			fmt.Fprintf(opts.Log, "round %d, lease %v: %d handler runs\n", round+1, res.Lease, runs)
		}
	}
	return results, nil
}

// stampedeRound sends conc requests for key to each server at once and
// returns the handler runs it caused.
func stampedeRound(client *http.Client, servers []*Process, key string, conc int, res *StampedeResult) (int64, error) {
	before, err := stampedeRuns(client, servers)
	if err != nil {
		return 0, err
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for _, p := range servers {
		for range conc {
			wg.Go(func() {
				<-start
				t := time.Now()
				resp, err := client.Get("http://" + p.Addr + "/stampede/" + key)
				ok := err == nil
				if ok {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == http.StatusOK
				}
				d := time.Since(t)
				mu.Lock()
				res.Latency.Record(d)
				if !ok {
					res.Errors++
				}
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	after, err := stampedeRuns(client, servers)
	return after - before, err
}

func stampedeRuns(client *http.Client, servers []*Process) (int64, error) {
	var n int64
	for _, p := range servers {
		resp, err := client.Get("http://" + p.Addr + "/stampede-runs")
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("e2e: /stampede-runs: %q", b)
		}
		n += v
	}
	return n, nil
}

// WriteStampede writes the results as a Markdown table: handler runs per
// cold key, and the latency of every request (the work included).
func WriteStampede(w io.Writer, results []*StampedeResult, work time.Duration) {
	fmt.Fprintln(w, "| configuration | handler runs per cold key (mean, max) | p50 | p99 | max | p50 over the work | errors |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		name := "no lease (today)"
		if r.Lease > 0 {
			name = fmt.Sprintf("Lease(%v)", r.Lease)
		}
		var sum, most int64
		for _, n := range r.Runs {
			sum += n
			most = max(most, n)
		}
		mean := float64(sum) / float64(max(len(r.Runs), 1))
		p50 := r.Latency.Quantile(0.5)
		fmt.Fprintf(w, "| %s | %.2f, %d | %s | %s | %s | +%s | %d |\n", name, mean, most,
			formatLatency(p50), formatLatency(r.Latency.Quantile(0.99)), formatLatency(r.Latency.Max()),
			formatLatency(max(p50-work, 0)), r.Errors)
	}
}
