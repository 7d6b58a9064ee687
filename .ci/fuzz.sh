#!/usr/bin/env bash
# Runs every fuzz target of the module, and of the modules beside it
# (examples/, benchmarks/, metrics/: each target from its own module's
# root), for a fixed number of inputs: FUZZTIME=2000x by default. A failing
# input is minimised for at most FUZZMINIMIZETIME (10s by default; go
# test's own is a minute, spent on each new failure): the input is saved
# under its package's testdata/fuzz either way.
#
# Each package's test binary is built once, with the fuzzing
# instrumentation (`go test -c -fuzz`), and run once per target from the
# package's folder with the flags `go test -fuzz` gives it, the same corpus
# cache (GOCACHE/fuzz/IMPORTPATH) included: a `go test -fuzz` per target
# spent a second or more (five for the root package) on the go command and
# the link each time.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-2000x}
minimizetime=${FUZZMINIMIZETIME:-10s}
fuzzcache=$(go env GOCACHE)/fuzz
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '/testdata/' | xargs -n1 dirname | sort -u | while read -r dir; do
  mod=$dir
  while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
  pkg=.${dir#"$mod"}
  names=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort)
  importpath=$(cd "$mod" && go list -f '{{.ImportPath}}' "$pkg")
  echo "fuzz: $dir: building the test binary"
  (cd "$mod" && go test -c -fuzz "^($(echo $names | tr ' ' '|'))\$" -o "$bin/pkg.test" "$pkg")
  for name in $names; do
    echo "fuzz: $dir $name ($fuzztime)"
    (cd "$dir" && "$bin/pkg.test" -test.paniconexit0 -test.timeout=10m0s -test.run='^$' -test.fuzz="^${name}\$" \
      -test.fuzztime="$fuzztime" -test.fuzzminimizetime="$minimizetime" -test.fuzzcachedir="$fuzzcache/$importpath")
  done
done
