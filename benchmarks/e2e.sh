#!/usr/bin/env bash
# The end-to-end benchmark of issue 15: real HTTP servers on loopback, one
# process each and one at a time, serving the same cached 2 KiB JSON route,
# driven by a Go load generator (cmd/e2ebench, internal/e2e). It rewrites
# the "End to end" results section of ../BENCHMARKS.md and writes
# results/e2e.txt (one line per measurement). run.sh calls it. About 3
# minutes.
#
# Environment: ROUNDS (default 5), DURATION (5s), WARMUP (1s), CONNS (32),
# WORKERS and THREADS (gunicorn's; default 5 and 2), CONTENDERS (a
# comma-separated subset), INSTALL (default 1: install Debian's Flask,
# Flask-Caching, redis-py and gunicorn with apt-get when they are missing and
# this runs as root; 0: measure without the Flask rows when they are
# missing). The Redis rows need a Redis at REDIS (default
# redis://127.0.0.1:6379/0: .ci/services.sh starts one); they use a key
# prefix of their own and delete it after each measurement.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
CONNS=${CONNS:-32}
WORKERS=${WORKERS:-5}
THREADS=${THREADS:-2}
CONTENDERS=${CONTENDERS:-naive-map,cached-simple,cached-redis,cached-near-redis,flask-simplecache,flask-rediscache}
REDIS=${REDIS:-redis://127.0.0.1:6379/0}

packages="python3-flask python3-flask-caching python3-redis gunicorn"
if [ "${INSTALL:-1}" = 1 ] && ! { command -v gunicorn >/dev/null && /usr/bin/python3 -c 'import flask, flask_caching, redis' 2>/dev/null; }; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing $packages" >&2
		(apt-get update -qq && apt-get install -y -qq $packages) >&2
	else
		echo "not root or no apt-get: the Flask rows are measured only if $packages are installed" >&2
	fi
fi

mkdir -p results
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/e2ebench" ./cmd/e2ebench

ours=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- .. ":(exclude)results" ":(exclude)../BENCHMARKS.md" 2>/dev/null)" ]; then ours="$ours (with uncommitted changes)"; fi

args=(-rounds "$ROUNDS" -duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS" -workers "$WORKERS" -threads "$THREADS" -contenders "$CONTENDERS" -redis "$REDIS")
"$bin/e2ebench" run "${args[@]}" -raw results/e2e.txt -md ../BENCHMARKS.md -commit "$ours" \
	-cmd "go build -o e2ebench ./cmd/e2ebench && ./e2ebench run $(printf '%q ' "${args[@]}")"
echo "wrote ../BENCHMARKS.md (End to end), results/e2e.txt" >&2
