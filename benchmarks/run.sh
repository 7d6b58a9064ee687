#!/usr/bin/env bash
# Runs the comparison benchmarks of issue 9 and rewrites the results section
# of ../BENCHMARKS.md (the analysis around it is kept). The Makefile's
# bench-compare target runs it. About 10 minutes on 2 idle cores, then the
# end-to-end benchmark (e2e.sh, about 4 minutes more).
#
# Environment: COUNT (default 6), BENCHTIME (default 300ms), BENCH (a regexp
# to run a subset; the results section then shows only that subset), E2E
# (default 1; 0 skips the end-to-end benchmark; e2e.sh lists its own).
# Redis benchmarks need a Redis at CACHING_REDIS_ADDR (default
# 127.0.0.1:6379) and are skipped without one (CI=true makes that a failure).
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-300ms}
BENCH=${BENCH:-'^Benchmark(StoreMixed|StoreGetHit|StoreGetHitOwnValues|StoreScaling|ResponseHit|ResponseHitParallel|ResponseHitDiscard|MemoHit|MemoHitParallel|RedisGet|Compress|CompressParallel)$'}
RATIO_BENCH='^BenchmarkHitRatio$'

mkdir -p results
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the run: $load" >&2

# COUNT rounds of -count 1 rather than one -count COUNT: go test runs the
# counts of a sub-benchmark back to back, so a burst of load from elsewhere
# would land on one contender; rounds spread it over all of them.
timed=(go test -run '^$' -bench "$BENCH" -benchmem -count 1 -benchtime "$BENCHTIME" -timeout 30m .)
# The hit-ratio replay is of one fixed trace: one run of it.
ratio=(go test -run '^$' -bench "$RATIO_BENCH" -benchtime 1x -count 1 -timeout 10m .)

{
	for ((round = 1; round <= COUNT; round++)); do
		echo "round $round of $COUNT" >&2
		"${timed[@]}"
	done
	"${ratio[@]}"
} | tee results/raw.txt
load_after=$(cut -d' ' -f1 /proc/loadavg)

# benchstat's view, one table per benchmark and one column per
# implementation. It needs the module proxy the first time; the tables of
# BENCHMARKS.md do not depend on it.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
if GOBIN="$bin" go install golang.org/x/perf/cmd/benchstat@latest 2>results/benchstat.err; then
	rm -f results/benchstat.err
	{
		echo "# benchstat -col /impl (or by row where there is no impl), per benchmark, of results/raw.txt"
		for name in $(grep -o '^Benchmark[A-Za-z]*' results/raw.txt | sort -u | sed 's/^Benchmark//'); do
			echo
			echo "## $name"
			if grep -q "^Benchmark$name/impl=" results/raw.txt; then
				"$bin/benchstat" -filter ".name:$name" -col /impl results/raw.txt
			else
				"$bin/benchstat" -filter ".name:$name" results/raw.txt
			fi
		done
	} >results/benchstat.txt
else
	echo "benchstat could not be installed (see results/benchstat.err); BENCHMARKS.md is still written" >&2
fi

q() { printf '%q ' "$@"; }
cmds="for round in \$(seq $COUNT); do $(q "${timed[@]}"); done
$(q "${ratio[@]}")
# load average (1 min) before the run: $load, after: $load_after"
ours=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- .. ":(exclude)results" ":(exclude)../BENCHMARKS.md" 2>/dev/null)" ]; then ours="$ours (with uncommitted changes)"; fi

go run ./internal/report -raw results/raw.txt -md ../BENCHMARKS.md -gomod go.mod -ours "$ours" -cmd "$cmds"
echo "wrote ../BENCHMARKS.md, results/raw.txt, results/benchstat.txt" >&2

if [ "${E2E:-1}" != 0 ]; then
	bash e2e.sh
fi
