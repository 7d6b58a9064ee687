#!/usr/bin/env bash
# Reports the keys the tests leave in Redis db 0 (CACHING_REDIS_ADDR): those
# matching caching-test* (the tests' key prefixes start so), listed with SCAN
# before the tests and after them. A test that leaks keys fills the shared
# Redis, and thousands of keys with TTLs once made Redis's expiry events late
# enough to fail a watch test. The run fails only when it added more than
# CACHING_CI_LEFTOVER_KEYS_MAX keys (1000; the last full run left 5): keys
# that were there before (a developer's earlier runs on the same machine)
# never fail it, nor do keys that expire or are deleted meanwhile. Nothing is
# deleted. Without redis-cli, or with Redis not answering, it says so and
# checks nothing (the tests themselves fail in CI without Redis).
#   bash .ci/leftover-keys.sh snapshot FILE   # before the tests: the keys, into FILE
#   bash .ci/leftover-keys.sh check FILE      # after them: compares with FILE
set -euo pipefail
addr=${CACHING_REDIS_ADDR:-127.0.0.1:6379}
max=${CACHING_CI_LEFTOVER_KEYS_MAX:-1000}
pattern='caching-test*'
mode=${1:?usage: leftover-keys.sh snapshot|check FILE}
file=${2:?usage: leftover-keys.sh snapshot|check FILE}

if ! command -v redis-cli >/dev/null; then
  echo "leftover keys: redis-cli not found, not checked"
  exit 0
fi

# keys writes the sorted keys matching pattern to $1 (SCAN may return a key
# more than once: sort -u), and fails if Redis does not answer.
keys() {
  redis-cli -h "${addr%:*}" -p "${addr##*:}" -n 0 --scan --pattern "$pattern" >"$1.raw" || return 1
  LC_ALL=C sort -u "$1.raw" >"$1"
  rm -f "$1.raw"
}

case $mode in
snapshot)
  if ! keys "$file"; then
    echo "leftover keys: Redis at $addr does not answer, not checked"
    rm -f "$file"
    exit 0
  fi
  echo "leftover keys: $(wc -l <"$file") keys matching $pattern in db 0 of $addr before the tests"
  ;;
check)
  if [ ! -f "$file" ]; then
    echo "leftover keys: no list of the keys before the tests, not checked"
    exit 0
  fi
  after=$(mktemp)
  trap 'rm -f "$after" "$after.raw"' EXIT
  if ! keys "$after"; then
    echo "leftover keys: Redis at $addr does not answer, not checked"
    exit 0
  fi
  added=$(LC_ALL=C comm -13 "$file" "$after" | wc -l)
  echo "leftover keys: $(wc -l <"$file") keys matching $pattern in db 0 of $addr before the tests, $(wc -l <"$after") after; $added added by this run"
  if [ "$added" -gt 0 ]; then
    # The first two ':'-separated fields of the keys added, counted; runs
    # of digits (the tests' timestamps, ids and counters) read N, so that
    # one test's keys count together.
    echo "leftover keys: top prefixes of the keys added:"
    LC_ALL=C comm -13 "$file" "$after" | cut -d: -f1,2 | sed -E 's/[0-9]+/N/g' |
      LC_ALL=C sort | uniq -c | sort -rn | head -n 10 || true # head may close the pipe early
  fi
  if [ "$added" -gt "$max" ]; then
    echo "leftover keys: FAIL: the tests left $added keys in Redis (more than $max): a test leaks keys (see the prefixes above)"
    exit 1
  fi
  ;;
*)
  echo "usage: leftover-keys.sh snapshot|check FILE" >&2
  exit 2
  ;;
esac
