#!/usr/bin/env bash
# The fleet benchmark's standard set (issue #17, item 5(b)): one fleet_bench.py run per row,
# each taking and releasing the shared lab lock itself, rows appended to RESULTS.
#
#   tests/benchmarks/fleet/run_all.sh BUILD_DIR RESULTS [RUN ...]
#
# RUN is N or N@RTT_MS (default: 1000 3000 1000@50). Examples:
#   tests/benchmarks/fleet/run_all.sh build /tmp/fleet-results.md
#   tests/benchmarks/fleet/run_all.sh build /tmp/fleet-results.md 10000
# Environment: FLEET_CYCLE_LIMIT (seconds for a first cycle, default 600), FLEET_LABEL (default:
# the last commit that changed exporter/, probes/, config/ or CMakeLists.txt). Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../../.." && pwd -P)
(($# >= 2)) || { sed -n '2,12p' "${BASH_SOURCE[0]}" >&2; exit 2; }
BUILD=$1 RESULTS=$2
shift 2
RUNS=("$@")
((${#RUNS[@]} > 0)) || RUNS=(1000 3000 1000@50)
# The last commit that changed the exporter's code (benchmark-only commits do not count).
LABEL=${FLEET_LABEL:-$(git -C "$REPO" log -1 --format=%h -- exporter probes config CMakeLists.txt \
  2>/dev/null || echo unknown)}

for run in "${RUNS[@]}"; do
  [[ "$run" =~ ^([0-9]+)(@([0-9]+))?$ ]] || { echo "run_all: bad RUN '$run'" >&2; exit 2; }
  n=${BASH_REMATCH[1]} rtt=${BASH_REMATCH[3]:-0}
  echo "run_all: N=$n rtt=${rtt} ms (commit $LABEL)" >&2
  /usr/bin/python3 "$HERE/fleet_bench.py" --build-dir "$BUILD" --domains "$n" --rtt-ms "$rtt" \
    --cycle-limit "${FLEET_CYCLE_LIMIT:-600}" --results "$RESULTS" --label "$LABEL"
done
