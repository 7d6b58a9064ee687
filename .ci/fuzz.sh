#!/usr/bin/env bash
# Runs every fuzz target of the module, and of the modules beside it
# (examples/, benchmarks/, metrics/: each target from its own module's
# root), for a fixed number of inputs: FUZZTIME=2000x by default. A failing
# input is minimised for at most FUZZMINIMIZETIME (10s by default; go
# test's own is a minute, spent on each new failure): the input is saved
# under its package's testdata/fuzz either way.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-2000x}
minimizetime=${FUZZMINIMIZETIME:-10s}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | sort | while read -r f; do
  dir=$(dirname "$f")
  mod=$dir
  while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
  pkg=.${dir#"$mod"}
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "fuzz: $dir $name ($fuzztime)"
    (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg")
  done
done
