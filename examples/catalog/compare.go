package main

// compare.go: the before/after comparison (-compare). It starts the service
// in process three times on a fresh SQLite database, with caching off
// (null://), on (simple://), and on after the warm job ran, drives the same
// fixed mixed workload against each over loopback HTTP, and prints one
// table.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"compress/gzip"
	"compress/zlib"

	"github.com/andybalholm/brotli"
	"github.com/go-caching/caching"
	"github.com/klauspost/compress/zstd"
)

// Workload size: small enough to run in well under a minute on 2 cores.
const (
	compareRequests = 4000
	compareWorkers  = 8
	compareHot      = 200 // products and users the workload touches
	// compareReadsFirst is how many requests only read before the first
	// write: after a deploy, the cache is cold while users browse, and the
	// first request of each page is a miss unless the cache was warmed.
	compareReadsFirst = 200
	// workloadMinSeed is the fewest products for which every page the
	// workload reads exists (ten pages of 50): a page past the last is a
	// 404, a failed request.
	workloadMinSeed = 10 * 50
)

// checkWorkloadSeed refuses a seed too small for the workload.
func checkWorkloadSeed(seed int) error {
	if seed < workloadMinSeed {
		return fmt.Errorf("-seed is %d; the workload reads ten pages of 50 products: want %d or more", seed, workloadMinSeed)
	}
	return nil
}

// workItem is one request of the workload.
type workItem struct {
	method, path, body string
}

// workload returns the fixed request sequence: 60% list pages (the first
// ten, half of them at the default per_page, as the links of the first page
// lead to, and so the warm job fills), 23% single products, 15% statistics,
// 1% product updates, 1% sales; none of these writes in the first
// compareReadsFirst requests.
func workload() []workItem {
	rng := rand.New(rand.NewPCG(7, 7))
	items := make([]workItem, compareRequests)
	periodNames := []string{"weekly", "monthly", "yearly"}
	for i := range items {
		r := rng.IntN(100)
		if i < compareReadsFirst {
			r = rng.IntN(98)
		}
		switch {
		case r < 60:
			page, wide := 1+rng.IntN(10), rng.IntN(2) == 1
			switch {
			case wide:
				items[i] = workItem{"GET", fmt.Sprintf("/products?page=%d&per_page=50", page), ""}
			case page == 1:
				items[i] = workItem{"GET", "/products", ""}
			default:
				items[i] = workItem{"GET", fmt.Sprintf("/products?page=%d", page), ""}
			}
		case r < 83:
			items[i] = workItem{"GET", fmt.Sprintf("/products/%d", 1+rng.IntN(compareHot)), ""}
		case r < 98:
			items[i] = workItem{"GET", fmt.Sprintf("/api/stats/%d?period=%s", 1+rng.IntN(20), periodNames[rng.IntN(3)]), ""}
		case r < 99:
			items[i] = workItem{"PUT", fmt.Sprintf("/products/%d", 1+rng.IntN(compareHot)), fmt.Sprintf(`{"price": %d.99}`, 1+rng.IntN(500))}
		default:
			items[i] = workItem{"POST", "/api/sales", fmt.Sprintf(`{"user_id": %d, "amount": %d.50}`, 1+rng.IntN(20), 1+rng.IntN(300))}
		}
	}
	return items
}

// compareResult is one row of the table.
type compareResult struct {
	name          string
	elapsed       time.Duration
	latencies     []time.Duration
	queries       int64
	wire, decoded int64 // response body bytes as sent, and decompressed
	hitRatio      float64
	// firsts is the number of distinct GET targets of the workload;
	// firstHits, how many of their first requests were hits (X-Cache: HIT).
	firsts, firstHits int
	lookups           int64         // the lookups hitRatio is over: hits, stale hits and misses
	errors            int           // failed requests: transport errors and 4xx/5xx answers
	cacheErrors       int64         // Stats.Errors: backend errors the cache swallowed
	breaker           string        // Stats.Breaker at the end of the run
	cpu               time.Duration // CPU time of the process (server and client), 0 where unknown
}

// runCompare runs the workload with caching off and on and writes the table
// to out.
func runCompare(ctx context.Context, out io.Writer, seed int) error {
	if err := checkWorkloadSeed(seed); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "catalog-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	items := workload()
	var results []compareResult
	modes := []struct {
		name, url string
		warm      bool
	}{
		{"caching off (null://)", "null://", false},
		{"caching on (simple://)", "simple://", false},
		{"caching on, warmed", "simple://", true},
	}
	for i, mode := range modes {
		fmt.Fprintf(os.Stderr, "catalog: running %d requests with %s...\n", len(items), mode.name)
		res, err := compareOnce(ctx, filepath.Join(dir, fmt.Sprintf("mode%d.db", i)), mode.url, seed, items, mode.warm)
		if err != nil {
			return err
		}
		res.name = mode.name
		results = append(results, res)
	}
	writeTable(out, results)
	return nil
}

// compareOnce seeds a new database at path, starts the service with the
// backend cacheURL, runs the warm job if warm is set, and runs items
// against it. The figures are the workload's, the warm-up's left out.
func compareOnce(ctx context.Context, path, cacheURL string, seed int, items []workItem, warm bool) (compareResult, error) {
	svc, err := quietService(ctx, path, cacheURL, seed, caching.BreakerOptions{})
	if err != nil {
		return compareResult{}, err
	}
	defer svc.Close()
	if warm {
		if _, err := svc.api.warm(ctx); err != nil {
			return compareResult{}, err
		}
	}
	return drive(ctx, svc, items), nil
}

// quietService starts the service on a new database at path with the cache
// backend cacheURL and the circuit breaker br, logging nothing.
func quietService(ctx context.Context, path, cacheURL string, seed int, br caching.BreakerOptions) (*Service, error) {
	return NewService(ctx, Config{SQLitePath: path, CacheURL: cacheURL, Seed: seed, Breaker: br,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// drive runs items against svc over loopback HTTP, compareWorkers at a time.
// The hit ratio and the cache's error count are those of this run alone;
// the breaker state is the one at its end.
func drive(ctx context.Context, svc *Service, items []workItem) compareResult {
	var res compareResult
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: compareWorkers}}
	defer client.CloseIdleConnections()

	startQueries, startStats := svc.Store.Queries(), svc.Cache.Stats()
	first := make([]bool, len(items)) // the first request of its target
	seen := map[string]bool{}
	for i, it := range items {
		if it.method == "GET" && !seen[it.path] {
			seen[it.path], first[i] = true, true
			res.firsts++
		}
	}
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	res.latencies = make([]time.Duration, 0, len(items))
	start, startCPU := time.Now(), processCPU()
	for range compareWorkers {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(items) {
					mu.Unlock()
					return
				}
				i, it := next, items[next]
				next++
				mu.Unlock()
				d, wire, decoded, hit, err := doRequest(ctx, client, srv.URL, it)
				mu.Lock()
				if hit && first[i] {
					res.firstHits++
				}
				res.latencies = append(res.latencies, d)
				res.wire += wire
				res.decoded += decoded
				if err != nil {
					res.errors++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed, res.cpu = time.Since(start), processCPU()-startCPU
	res.queries = svc.Store.Queries() - startQueries
	end := svc.Cache.Stats()
	run := caching.Stats{Hits: end.Hits - startStats.Hits, StaleHits: end.StaleHits - startStats.StaleHits,
		Misses: end.Misses - startStats.Misses}
	res.hitRatio, res.lookups = run.HitRatio(), run.Hits+run.StaleHits+run.Misses
	res.cacheErrors = end.Errors - startStats.Errors
	res.breaker = end.Breaker
	return res
}

// doRequest sends one request asking for any encoding and returns its
// latency, its body size as sent and decoded, and whether it was a cache
// hit (X-Cache: HIT).
func doRequest(ctx context.Context, client *http.Client, base string, it workItem) (d time.Duration, wire, decoded int64, hit bool, err error) {
	var body io.Reader
	if it.body != "" {
		body = strings.NewReader(it.body)
	}
	req, err := http.NewRequestWithContext(ctx, it.method, base+it.path, body)
	if err != nil {
		return 0, 0, 0, false, err
	}
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd") // a browser's
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(start), 0, 0, false, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d = time.Since(start)
	hit = resp.Header.Get("X-Cache") == "HIT"
	if err != nil {
		return d, 0, 0, hit, err
	}
	plain, err := decodeEncoding(resp.Header.Get("Content-Encoding"), raw)
	if err != nil {
		return d, int64(len(raw)), 0, hit, err
	}
	if resp.StatusCode >= 400 {
		err = fmt.Errorf("%s %s: %s", it.method, it.path, resp.Status)
	}
	return d, int64(len(raw)), int64(len(plain)), hit, err
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// writeTable prints the results as an aligned table.
func writeTable(out io.Writer, results []compareResult) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\trequests\treq/s\tp50\tp99\tSQL queries\tbytes sent\tbytes uncompressed\thit ratio\tfirst requests hit\terrors\t")
	for _, r := range results {
		slices.Sort(r.latencies)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%d\t%d\t%d\t%.0f%%\t%d of %d\t%d\t\n", r.name, len(r.latencies),
			float64(len(r.latencies))/r.elapsed.Seconds(),
			percentile(r.latencies, 0.50).Round(time.Microsecond), percentile(r.latencies, 0.99).Round(time.Microsecond),
			r.queries, r.wire, r.decoded, 100*r.hitRatio, r.firstHits, r.firsts, r.errors)
	}
	tw.Flush()
	var buf bytes.Buffer
	if len(results) >= 2 && results[1].queries > 0 {
		fmt.Fprintf(&buf, "\ncaching on: %.1fx the requests/s, %.1fx fewer SQL queries; compression: %.1fx fewer bytes on the wire\n",
			(float64(len(results[1].latencies))/results[1].elapsed.Seconds())/(float64(len(results[0].latencies))/results[0].elapsed.Seconds()),
			float64(results[0].queries)/float64(results[1].queries),
			float64(results[1].decoded)/float64(max(1, results[1].wire)))
	}
	if len(results) == 3 {
		fmt.Fprintf(&buf, "warmed: the first request of %d of the %d pages and products asked for was a hit, against %d with a cold cache\n",
			results[2].firstHits, results[2].firsts, results[1].firstHits)
	}
	out.Write(buf.Bytes())
}

// decodeEncoding undoes the Content-Encoding enc of body.
func decodeEncoding(enc string, body []byte) ([]byte, error) {
	var r io.Reader
	switch enc {
	case "", "identity":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r = zr
	case "deflate": // the zlib format (RFC 9110, 8.4.1.2), not raw DEFLATE
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unknown Content-Encoding %q", enc)
	}
	return io.ReadAll(r)
}
