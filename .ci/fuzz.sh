#!/usr/bin/env bash
# Runs every fuzz target of the module (and of examples/, benchmarks/ if they
# have any) for a fixed number of inputs: FUZZTIME=2000x by default.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-2000x}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./\(examples\|benchmarks\)/' | sort | while read -r f; do
  dir=$(dirname "$f")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "fuzz: $dir $name ($fuzztime)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$dir"
  done
done
