# Shared by the lab benchmarks (latency_bench.sh, pipelining_bench.sh); sourced, not run.
# The smtp_exporter binary, a private lab (Knot and Postfix, tests/lab) in a temporary
# STATE directory on the benchmark's own ports, stopped by PID on exit, and medians.
# Environment: SMTP_EXPORTER_BIN (default build/exporter/smtp_exporter, then
# build-*/exporter/smtp_exporter), RUNS (per measurement, 1..50, default 5).

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BENCH_LAB=$BENCH_REPO/tests/lab
RUNS=${RUNS:-5}
BENCH_EXIT_HOOKS=()   # commands run (in order) before the lab stops

# bench_setup NAME: sets BIN, checks RUNS; NAME prefixes messages.
bench_setup() {
  BENCH_NAME=$1
  BIN=${SMTP_EXPORTER_BIN:-}
  if [[ -z "$BIN" ]]; then
    for candidate in "$BENCH_REPO"/build/exporter/smtp_exporter "$BENCH_REPO"/build-*/exporter/smtp_exporter; do
      if [[ -x "$candidate" ]]; then BIN=$candidate; break; fi
    done
  fi
  [[ -x "$BIN" ]] || { echo "$BENCH_NAME: no smtp_exporter binary; set SMTP_EXPORTER_BIN" >&2; exit 2; }
  if ! [[ "$RUNS" =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 50)); then
    echo "$BENCH_NAME: RUNS must be 1..50" >&2; exit 2
  fi
}

# bench_check_rtts RTT...: each an even number of ms, at most 2000 (the proxy adds RTT/2 each way).
bench_check_rtts() {
  local rtt
  for rtt in "$@"; do
    if ! [[ "$rtt" =~ ^[0-9]+$ ]] || ((rtt % 2 != 0 || rtt > 2000)); then
      echo "$BENCH_NAME: RTT '$rtt' must be an even number of ms, at most 2000" >&2; exit 2
    fi
  done
}

bench_cleanup() {
  local hook
  for hook in "${BENCH_EXIT_HOOKS[@]}"; do eval "$hook" || true; done
  "$BENCH_LAB/delay_proxy.sh" stop "$STATE" 2>/dev/null || true
  "$BENCH_LAB/postfix.sh" stop "$STATE" 2>/dev/null || true
  "$BENCH_LAB/dns.sh" stop "$STATE" 2>/dev/null || true
  rm -rf -- "$STATE"
}

# bench_start_lab SMTP_PORT DNS_PORT: Knot and Postfix in a new STATE (needs root, as the lab
# does; Postfix listens on 127.0.0.x and ::1 at SMTP_PORT, so nothing else may use it there).
bench_start_lab() {
  STATE=$(mktemp -d "/tmp/smtpx-$BENCH_NAME.XXXXXX")
  chmod 755 "$STATE"   # Postfix's daemons (user postfix) must traverse it
  trap bench_cleanup EXIT
  "$BENCH_LAB/dns.sh" start "$STATE" "$2" 2>/dev/null
  "$BENCH_LAB/postfix.sh" start "$STATE" "$1" 2>/dev/null
}

# bench_seconds COMMAND...: wall time of one run of COMMAND (exit 0 required), in seconds.
bench_seconds() {
  local t0 t1 out
  t0=$(date +%s%N)
  if ! out=$("$@" 2>&1); then
    echo "$BENCH_NAME: failed: $*" >&2
    printf '%s\n' "$out" | head -n 20 >&2
    exit 1
  fi
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}

# bench_median: the median of the numbers on stdin, one a line.
bench_median() {
  sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
