#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ built in BUILD_DIR (cmake -DSMTP_EXPORTER_FUZZ=ON):
# each target first replays its seed corpus (corpus/<target>/, every seed once: a regression
# check), then fuzzes for SECONDS. Any crash, sanitizer report, leak, timeout or violated
# invariant fails the run (exit 1) and leaves the input in BUILD_DIR/fuzz-artifacts/ to replay:
#   BUILD_DIR/tests/fuzz/<target> BUILD_DIR/fuzz-artifacts/crash-...
# Inputs found along the way go to BUILD_DIR/fuzz-corpus/<target>/ (never into the repo), so
# repeated runs in one build directory keep what earlier runs learnt.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]    (default: every target)
# Two targets run at a time (CI has 2 cores); SECONDS is per target.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}" && pwd)
SECONDS_PER_TARGET=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
else
  # Every target built; each must have its seed corpus (run_one fails otherwise).
  TARGETS=()
  for binary in "$BUILD"/tests/fuzz/*_fuzzer; do
    [ -x "$binary" ] && TARGETS+=("$(basename "$binary" _fuzzer)")
  done
  [ "${#TARGETS[@]}" -gt 0 ] || { echo "fuzz: no targets built in $BUILD/tests/fuzz" >&2; exit 1; }
fi
PARALLEL=${FUZZ_PARALLEL:-2}

ARTIFACTS="$BUILD/fuzz-artifacts"
LOGS="$BUILD/fuzz-logs"
mkdir -p "$ARTIFACTS" "$LOGS"

# A failed check must abort at once with a stack trace; leaks are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local target=$1
  local binary="$BUILD/tests/fuzz/${target}_fuzzer"
  local seeds="$HERE/corpus/$target"
  local found="$BUILD/fuzz-corpus/$target"
  [ -x "$binary" ] || { echo "fuzz: $binary is missing (build the fuzz_targets target)" >&2; return 1; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; return 1; }
  mkdir -p "$found"
  local dict=()
  [ -f "$HERE/$target.dict" ] && dict=("-dict=$HERE/$target.dict")
  # -timeout: one input taking 10 s is a hang. -rss_limit_mb: growth past 2 GiB is a finding.
  # New inputs go to the first corpus directory ($found); the seeds are only read.
  "$binary" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$ARTIFACTS/${target}-" -print_final_stats=1 "${dict[@]}" \
    "$found" "$seeds" >"$LOGS/$target.log" 2>&1
}

failed=()
pids=()
names=()
wait_first() {
  # Waits for the oldest running target and records its result.
  local pid=${pids[0]} name=${names[0]}
  pids=("${pids[@]:1}")
  names=("${names[@]:1}")
  if wait "$pid"; then
    echo "fuzz: $name ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$LOGS/$name.log" | grep -Eo '[0-9]+$' || echo '?') inputs)"
  else
    echo "fuzz: $name FAILED; its log ($LOGS/$name.log) ends:" >&2
    tail -n 40 "$LOGS/$name.log" >&2
    failed+=("$name")
  fi
}
for target in "${TARGETS[@]}"; do
  if [ "${#pids[@]}" -ge "$PARALLEL" ]; then
    wait_first
  fi
  run_one "$target" &
  pids+=("$!")
  names+=("$target")
done
while [ "${#pids[@]}" -gt 0 ]; do
  wait_first
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $ARTIFACTS)" >&2
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran clean for ${SECONDS_PER_TARGET}s each"
