// Command report turns the raw output of the comparison benchmarks into the
// tables of BENCHMARKS.md: it replaces what lies between the markers
// "<!-- results:begin -->" and "<!-- results:end -->" and keeps the rest of
// the file (the analysis, written by hand) as it is.
//
// Each figure is the median of the runs (-count) of one benchmark; "±" (on
// times and rates) is the largest distance of a run from that median, in
// percent. Ratios divide
// medians measured in the same run. benchstat's own view of the same file is
// written next to it by run.sh.
//
// Usage (run.sh does this):
//
//	go run ./internal/report -raw results/raw.txt -md ../BENCHMARKS.md -cmd "..." -ours abc1234
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

const (
	beginMarker = "<!-- results:begin -->"
	endMarker   = "<!-- results:end -->"
)

func main() {
	raw := flag.String("raw", "results/raw.txt", "raw `go test -bench` output")
	md := flag.String("md", "../BENCHMARKS.md", "Markdown file whose results section is replaced")
	cmd := flag.String("cmd", "", "the exact commands that produced -raw, one per line")
	ours := flag.String("ours", "", "the commit of this module that was measured")
	gomod := flag.String("gomod", "go.mod", "go.mod listing the peers' versions")
	flag.Parse()
	log.SetFlags(0)

	res, cpu, err := parse(*raw)
	if err != nil {
		log.Fatal(err)
	}
	doc, err := os.ReadFile(*md)
	if err != nil {
		log.Fatal(err)
	}
	begin, end := bytes.Index(doc, []byte(beginMarker)), bytes.Index(doc, []byte(endMarker))
	if begin < 0 || end < begin {
		log.Fatalf("report: %s has no %q ... %q section", *md, beginMarker, endMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:begin+len(beginMarker)])
	out.WriteString("\n")
	writeResults(&out, res, cpu, *cmd, *ours, *gomod)
	out.Write(doc[end:])
	if err := os.WriteFile(*md, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// sample is every run of one benchmark: unit -> values.
type sample map[string][]float64

// results holds the samples by benchmark name ("StoreMixed") and sub-name
// ("impl=otter"), in the order they first appear.
type results struct {
	names []string
	subs  map[string][]string
	data  map[string]map[string]sample
}

func (r *results) median(name, sub, unit string) (float64, bool) {
	v := r.data[name][sub][unit]
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is the largest distance of a value from the median, in percent.
func spread(v []float64) float64 {
	m := median(v)
	if m == 0 {
		return 0
	}
	var d float64
	for _, x := range v {
		d = max(d, math.Abs(x-m))
	}
	return 100 * d / m
}

func parse(path string) (*results, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	r := &results{subs: map[string][]string{}, data: map[string]map[string]sample{}}
	var cpu string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = strings.TrimSpace(c)
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		full := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(full, '-'); i > 0 {
			if _, err := strconv.Atoi(full[i+1:]); err == nil {
				full = full[:i] // the GOMAXPROCS suffix
			}
		}
		name, sub, _ := strings.Cut(full, "/")
		if r.data[name] == nil {
			r.names = append(r.names, name)
			r.data[name] = map[string]sample{}
		}
		s := r.data[name][sub]
		if s == nil {
			r.subs[name] = append(r.subs[name], sub)
			s = sample{}
			r.data[name][sub] = s
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			s[fields[i+1]] = append(s[fields[i+1]], v)
		}
	}
	return r, cpu, sc.Err()
}

// keyvals splits "impl=raw/size=64B" into its keys and values.
func keyvals(sub string) (keys, vals []string) {
	for _, part := range strings.Split(sub, "/") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			k, v = "case", part
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals
}

// withImpl is sub with its impl value replaced.
func withImpl(sub, impl string) string {
	parts := strings.Split(sub, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "impl=") {
			parts[i] = "impl=" + impl
		}
	}
	return strings.Join(parts, "/")
}

// table describes one table of the results.
type table struct {
	title, bench string
	// ref is the impl every row is divided by (in ns/op); "fastest" means
	// the lowest ns/op among the rows that differ only by impl; a sub-name
	// such as "entries=1000" means that row; "" means no ratio column.
	ref   string
	units []string
	note  string
}

var tables = []table{
	{"In-memory store: parallel 90% Get / 10% Set, Zipf keys (s=1.01) over 100k keys, 64 B values", "StoreMixed", "otter",
		[]string{"ns/op", "B/op", "allocs/op"}, "All keys fit (capacity 200k). `rwmutex-map` is the floor: a map behind one sync.RWMutex, no eviction, no TTL."},
	{"In-memory store: Get hit, one goroutine", "StoreGetHit", "otter", []string{"ns/op", "B/op", "allocs/op"},
		"Every key holds the same 64-byte slice: the stores that keep the caller's slice (all but caching-simple and freecache, which copy it) hold one value in all, and the hit does not read it."},
	{"In-memory store: Get hit, one goroutine, a value of its own under every key, read by the caller", "StoreGetHitOwnValues", "otter",
		[]string{"ns/op", "B/op", "allocs/op"}, "The same hit with 100k distinct 64-byte values, as a real cache holds, and the caller reading the first byte of the value it gets."},
	{"Hit ratio: capacity 10% of the key space, 1M-request Zipf trace (set on miss)", "HitRatio", "", []string{"hit%"},
		"One run: the trace is fixed, and every store but ristretto replays it deterministically (ristretto's admission samples at random; its figure moves by a few points between runs). go-cache and the map are unbounded and not listed."},
	{"Scaling of the simple store: Get hit as the store grows, and heap per entry (16 B key, 64 B value)", "StoreScaling", "entries=1000",
		[]string{"ns/op", "B/entry", "allocs/op"}, "B/entry is the heap growth of filling the store, divided by the entries: key, value copy and bookkeeping."},
	{"Response cache hit: 2 KiB JSON into an httptest recorder, one goroutine", "ResponseHit", "bare",
		[]string{"ns/op", "B/op", "allocs/op"}, "`bare` is the handler alone; `gin-bare` is the handler behind gin's router without a cache (what gin-cache's numbers include); `naive-map` is a map behind an RWMutex, the floor of any cache. Every row includes `httptest.NewRecorder` (1 alloc, 2 KiB body growth)."},
	{"Response cache hit, all cores (RunParallel)", "ResponseHitParallel", "bare", []string{"ns/op", "B/op", "allocs/op"}, ""},
	{"Response cache hit into a reused, discarding ResponseWriter (the middleware's own cost)", "ResponseHitDiscard", "bare",
		[]string{"ns/op", "B/op", "allocs/op"}, "The same hit without the recorder: the writer keeps the status and counts the body, and its header map is cleared and reused. The bare handler's one allocation is its `Header().Set`."},
	{"Memoized call hit: struct argument, struct result, 1000 cached arguments, one goroutine", "MemoHit", "fastest",
		[]string{"ns/op", "B/op", "allocs/op"}, "The peers are given hand-written keys (`\"stats:\"+id+\":\"+period`), the cheapest a user can write; ours derives the key from the argument value."},
	{"Memoized call hit, all cores (RunParallel)", "MemoHitParallel", "fastest", []string{"ns/op", "B/op", "allocs/op"}, ""},
	{"Redis round trip: a hit read on the real Redis, same client and pool", "RedisGet", "raw",
		[]string{"ns/op", "B/op", "allocs/op"}, "`raw` is `client.Get(ctx, key).Bytes()` on go-redis v9; `redisstore` is our backend; `caching-cache` is our Cache on that backend (entry envelope and stats); `go-redis-cache` is go-redis/cache's Get with no local cache."},
	{"Compression of a 20 KB JSON response, one goroutine", "Compress", "gzhttp",
		[]string{"ns/op", "MB/s", "B/op", "allocs/op", "B/resp"}, "Default level of each library. MB/s is uncompressed body per second; B/resp is the compressed body. `identity` is the handler alone, uncompressed."},
	{"Compression, all cores (RunParallel)", "CompressParallel", "gzhttp", []string{"ns/op", "MB/s", "B/op", "allocs/op"}, ""},
}

func writeResults(w *bytes.Buffer, r *results, cpu, cmd, ours, gomod string) {
	fmt.Fprintf(w, "\n_Generated by `benchmarks/run.sh`; edit the text outside this section only._\n\n")
	fmt.Fprintf(w, "### Machine and versions\n\n")
	fmt.Fprintf(w, "- CPU: %s, %d cores (GOMAXPROCS %d)\n", cpuModel(cpu), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if ours != "" {
		fmt.Fprintf(w, "- github.com/go-caching/caching: commit %s\n", ours)
	}
	for _, m := range peerVersions(gomod) {
		fmt.Fprintf(w, "- %s\n", m)
	}
	if cmd != "" {
		fmt.Fprintf(w, "\nCommands (in benchmarks/):\n\n```sh\n%s\n```\n", strings.TrimSpace(cmd))
	}
	fmt.Fprintf(w, "\nEach figure is the median of the runs; ± is the largest distance of one run from it. "+
		"Ratios divide medians of the same run (below 1.00 is faster than the reference). "+
		"benchstat's view of the same runs: [benchmarks/results/benchstat.txt](benchmarks/results/benchstat.txt).\n")

	writeGoals15(w, r)
	writeGoals(w, r)
	for _, t := range tables {
		writeTable(w, r, t)
	}
}

// cpuModel is the model name of /proc/cpuinfo, with what the Go benchmark
// header says (from CPUID) when that differs.
func cpuModel(fromBench string) string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	switch {
	case model == "" && fromBench == "":
		return "unknown"
	case model == "":
		return fromBench
	case fromBench == "" || fromBench == model:
		return model
	}
	return fmt.Sprintf("%s (/proc/cpuinfo; Go reports %q)", model, fromBench)
}

// peerVersions lists the direct requirements of gomod, but ours.
func peerVersions(gomod string) []string {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.Contains(line, "// indirect") || !strings.Contains(f[0], ".") ||
			strings.HasPrefix(f[0], "github.com/go-caching/") || f[0] == "module" || f[0] == "go" || f[0] == "replace" {
			continue
		}
		out = append(out, f[0]+" "+f[1])
	}
	return out
}

func writeTable(w *bytes.Buffer, r *results, t table) {
	subs := r.subs[t.bench]
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
	if len(subs) == 0 {
		fmt.Fprintf(w, "Not measured in this run (Benchmark%s did not run or was skipped).\n", t.bench)
		return
	}
	if t.note != "" {
		fmt.Fprintf(w, "%s\n\n", t.note)
	}
	keys, _ := keyvals(subs[0])
	head := slices.Clone(keys)
	head = append(head, t.units...)
	if t.ref != "" {
		label := "× " + t.ref
		if t.ref == "fastest" {
			label = "× fastest"
		}
		head = append(head, label+" (ns/op)")
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	for _, sub := range subs {
		_, vals := keyvals(sub)
		row := slices.Clone(vals)
		if len(row) < len(keys) {
			row = append(row, make([]string, len(keys)-len(row))...)
		}
		for _, u := range t.units {
			v := r.data[t.bench][sub][u]
			if len(v) == 0 {
				row = append(row, "")
				continue
			}
			var cell string
			switch u {
			case "ns/op", "MB/s":
				cell = num(median(v))
				if len(v) > 1 {
					cell += fmt.Sprintf(" ±%.0f%%", spread(v))
				}
			case "hit%":
				cell = fmt.Sprintf("%.2f", median(v))
			default: // counts: bytes, allocations
				cell = strconv.FormatFloat(math.Round(median(v)), 'f', -1, 64)
			}
			row = append(row, cell)
		}
		if t.ref != "" {
			row = append(row, ratioCell(r, t, sub))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}

func ratioCell(r *results, t table, sub string) string {
	v, ok := r.median(t.bench, sub, "ns/op")
	if !ok {
		return ""
	}
	var ref float64
	switch {
	case t.ref == "fastest":
		ref = math.Inf(1)
		for _, other := range r.subs[t.bench] {
			if withImpl(other, "") == withImpl(sub, "") {
				if x, ok := r.median(t.bench, other, "ns/op"); ok {
					ref = min(ref, x)
				}
			}
		}
	case strings.Contains(t.ref, "="):
		ref, ok = r.median(t.bench, t.ref, "ns/op")
	default:
		ref, ok = r.median(t.bench, withImpl(sub, t.ref), "ns/op")
	}
	if !ok || ref == 0 || math.IsInf(ref, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v/ref)
}

// num formats a median with three significant digits, or as an integer.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// goal is one target of issue 9 and how this run did against it.
type goal struct {
	what, target, got string
	met               string // "yes", "no" or "not measured"
}

// goalList is the goals of one table, in order.
type goalList []goal

// check adds a goal: ok says whether it was measured, met whether it was
// met, got what this run measured.
func (gs *goalList) check(what, target string, ok bool, got string, met bool) {
	g := goal{what: what, target: target, got: got, met: "no"}
	switch {
	case !ok:
		g.got, g.met = "—", "not measured"
	case met:
		g.met = "yes"
	}
	*gs = append(*gs, g)
}

// write writes the goals as a table under title.
func (gs goalList) write(w *bytes.Buffer, title string) {
	fmt.Fprintf(w, "\n### %s\n\n| goal | target | this run | met |\n| --- | --- | --- | --- |\n", title)
	for _, g := range gs {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.what, g.target, g.got, g.met)
	}
}

func writeGoals(w *bytes.Buffer, r *results) {
	ns := func(bench, sub string) (float64, bool) { return r.median(bench, sub, "ns/op") }
	var goals goalList
	check := goals.check

	for _, bench := range []string{"StoreMixed", "StoreGetHit"} {
		ours, ok1 := ns(bench, "impl=caching-simple")
		gc, ok2 := ns(bench, "impl=go-cache")
		lru, ok3 := ns(bench, "impl=golang-lru")
		ot, ok4 := ns(bench, "impl=otter")
		check(bench+": throughput at least go-cache's and golang-lru's", "ours ≤ both in ns/op", ok1 && ok2 && ok3,
			fmt.Sprintf("%.2f× go-cache, %.2f× golang-lru", ours/gc, ours/lru), ours <= gc && ours <= lru)
		check(bench+": within 1.5× of otter", "≤ 1.50× otter", ok1 && ok4, fmt.Sprintf("%.2f× otter", ours/ot), ours <= 1.5*ot)
	}
	{
		ours, ok1 := r.median("HitRatio", "impl=caching-simple", "hit%")
		lru, ok2 := r.median("HitRatio", "impl=golang-lru", "hit%")
		check("Hit ratio at least LRU's", "ours ≥ golang-lru", ok1 && ok2, fmt.Sprintf("%.2f%% vs %.2f%%", ours, lru), ours >= lru)
	}
	{
		ours, ok1 := ns("ResponseHit", "impl=caching")
		bare, ok2 := ns("ResponseHit", "impl=bare")
		gc, ok3 := ns("ResponseHit", "impl=gin-cache")
		check("Response hit: fastest of the real middlewares", "ours < gin-cache", ok1 && ok3, fmt.Sprintf("%.2f× gin-cache", ours/gc), ours < gc)
		check("Response hit: within 1.3× of the bare handler", "≤ 1.30× bare", ok1 && ok2, fmt.Sprintf("%.2f× bare", ours/bare), ours <= 1.3*bare)
	}
	{
		ours, ok := ns("MemoHit", "impl=caching")
		fastest, name := math.Inf(1), ""
		for _, sub := range r.subs["MemoHit"] {
			if v, _ := ns("MemoHit", sub); v < fastest {
				fastest, name = v, strings.TrimPrefix(sub, "impl=")
			}
		}
		check("Memoized hit: within 1.5× of the fastest", "≤ 1.50× fastest", ok, fmt.Sprintf("%.2f× %s", ours/fastest, name), ours <= 1.5*fastest)
	}
	for _, size := range []string{"64B", "2KiB"} {
		ours, ok1 := ns("RedisGet", "impl=redisstore/size="+size)
		raw, ok2 := ns("RedisGet", "impl=raw/size="+size)
		check("Redis Get ("+size+"): within 1.1× of raw go-redis", "≤ 1.10× raw", ok1 && ok2, fmt.Sprintf("%.2f× raw", ours/raw), ours <= 1.1*raw)
	}

	goals.write(w, "Goals of issue 9")
}

// writeGoals15 writes the targets of issue 15 and how this run did against
// them.
func writeGoals15(w *bytes.Buffer, r *results) {
	ns := func(bench, sub string) (float64, bool) { return r.median(bench, sub, "ns/op") }
	var goals goalList
	check := goals.check
	for _, bench := range []string{"StoreMixed", "StoreGetHit", "StoreGetHitOwnValues"} {
		ours, ok1 := ns(bench, "impl=caching-simple")
		ot, ok2 := ns(bench, "impl=otter")
		gc, ok3 := ns(bench, "impl=go-cache")
		what := bench + ": at most otter's and go-cache's time"
		if bench != "StoreMixed" {
			what = bench + ": at most go-cache's time"
		}
		met := ours <= gc && (bench != "StoreMixed" || ours <= ot)
		check(what, "≤ 1.00×", ok1 && ok2 && ok3, fmt.Sprintf("%.2f× otter, %.2f× go-cache", ours/ot, ours/gc), met)
	}
	{
		ours, ok1 := r.median("HitRatio", "impl=caching-simple", "hit%")
		ot, ok2 := r.median("HitRatio", "impl=otter", "hit%")
		check("Hit ratio: at least otter's", "ours ≥ otter", ok1 && ok2, fmt.Sprintf("%.2f%% vs %.2f%%", ours, ot), ours >= ot)
	}
	{
		worst, ok := 0.0, false
		for _, sub := range r.subs["StoreScaling"] {
			if v, found := r.median("StoreScaling", sub, "B/entry"); found {
				worst, ok = max(worst, v), true
			}
		}
		check("Heap per entry (16 B key, 64 B value), largest of the sizes", "≤ 150 B", ok, fmt.Sprintf("%.0f B", worst), worst <= 150)
	}
	{
		ours, ok1 := ns("ResponseHitDiscard", "impl=caching")
		naive, ok2 := ns("ResponseHitDiscard", "impl=naive-map")
		check("Response hit, the middleware's own cost (discarding writer)", "≤ 1.50× naive-map", ok1 && ok2, fmt.Sprintf("%.2f× naive-map", ours/naive), ours <= 1.5*naive)
		ours, ok1 = ns("ResponseHit", "impl=caching")
		bare, ok2 := ns("ResponseHit", "impl=bare")
		check("Response hit into an httptest recorder", "≤ 1.10× bare", ok1 && ok2, fmt.Sprintf("%.2f× bare", ours/bare), ours <= 1.1*bare)
	}
	for _, bench := range []string{"MemoHit", "MemoHitParallel"} {
		ours, ok := ns(bench, "impl=caching")
		fastest, name := math.Inf(1), ""
		for _, sub := range r.subs[bench] {
			if v, _ := ns(bench, sub); v < fastest && sub != "impl=caching" {
				fastest, name = v, strings.TrimPrefix(sub, "impl=")
			}
		}
		check(bench+": at most the fastest peer's time", "≤ 1.00× fastest peer", ok && name != "", fmt.Sprintf("%.2f× %s", ours/fastest, name), ours <= fastest)
	}
	goals.write(w, "Goals of issue 15")
}
