#!/usr/bin/env bash
# Runs libFuzzer harnesses, JOBS at a time: tools/fuzz.sh SECONDS JOBS HARNESS...
# Each harness starts from its committed seed corpus (cxx/fuzz/corpus/<harness>), adds what it
# finds under build/fuzz/corpus/<harness> and logs to build/fuzz/<harness>.log; a crash leaves
# its input in build/fuzz/artifacts, prints the log's tail and fails the run. The harnesses share
# nothing, so they run side by side: the smoke run's time is the slowest batch, not the sum.
set -uo pipefail
seconds=$1
jobs=$2
shift 2
mkdir -p build/fuzz/artifacts

run_one() {
  local h=$1 seconds=$2
  mkdir -p "build/fuzz/corpus/$h"
  if ! "build/fuzz/fuzz/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$h-" \
      "build/fuzz/corpus/$h" "cxx/fuzz/corpus/$h" 2>"build/fuzz/$h.log"; then
    echo "== $h ($seconds s): FAILED"
    tail -40 "build/fuzz/$h.log"
    return 1
  fi
  echo "== $h ($seconds s): $(grep -E "stat::number_of_executed_units|Done" "build/fuzz/$h.log" | tr '\n' ' ')"
}
export -f run_one

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$1" "$2"' _ {} "$seconds"
