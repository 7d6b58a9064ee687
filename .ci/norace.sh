#!/usr/bin/env bash
# Runs without the race detector the tests that check something only there,
# after .ci/run's `go test -race ./...` has run every test: the allocation
# checks of the hit paths (testing.AllocsPerRun) skip under -race, and
# backend/simple's model test runs ten times the seeds without it.
# .ci/racetests.go finds them: every test that uses, itself or through the
# helpers it calls, a name of a race-constrained file (raceEnabled, raceOn,
# ...), and it fails when a test skips under -race in another way. Each
# package's tests run with `go test -count=1 -run '^(...)$'` from its
# module's root (the modules beside this one included); this fails when one
# of them did not run, as well as when one fails.
#   bash .ci/norace.sh
set -euo pipefail
cd "$(dirname "$0")/.."
list=$(go run .ci/racetests.go)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
while read -r dir run; do
  mod=$dir
  while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
  pkg=.${dir#"$mod"}
  echo "norace: $dir $run"
  if ! (cd "$mod" && go test -count=1 -timeout 20m -v -run "$run" "$pkg") >"$log" 2>&1; then
    cat "$log"
    status=1
    continue
  fi
  # Only the verdicts: -v's other lines are the tests' own logs.
  grep -E '^(--- |ok |FAIL|PASS$)' "$log" || true
  names=${run#'^('}
  names=${names%')$'}
  for name in ${names//|/ }; do
    if ! grep -qE "^--- (PASS|SKIP): $name \\(" "$log"; then
      echo "norace: $dir $name did not run"
      status=1
    fi
  done
done <<<"$list"
exit $status
