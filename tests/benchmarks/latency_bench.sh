#!/usr/bin/env bash
# How `check` scales with the network's round-trip time: good.lab.test (two endpoints,
# 127.0.0.2 and ::1, STARTTLS and three transaction probes each) directly against the lab's
# Postfix, and through tests/lab/delay_proxy.py at a few RTTs. Prints numbers; asserts nothing.
#
#   tests/benchmarks/latency_bench.sh [RTT_MS ...]      (default: 0 20 50 100 200)
#
# Environment: SMTP_EXPORTER_BIN (default build/exporter/smtp_exporter, then
# build-*/exporter/smtp_exporter), RUNS (checks per row, default 5; the median is shown),
# BENCH_SMTP_PORT (default 10225), BENCH_DNS_PORT (default 25553), BENCH_PROXY_PORT (default
# 10226). It starts its own Knot and Postfix in a temporary STATE_DIR on those ports (the
# Postfix listeners are on 127.0.0.x and ::1, so nothing else may use BENCH_SMTP_PORT there)
# and stops everything, by PID, on exit. Needs root (as the lab does).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
LAB=$REPO/tests/lab
RUNS=${RUNS:-5}
SMTP_PORT=${BENCH_SMTP_PORT:-10225}
DNS_PORT=${BENCH_DNS_PORT:-25553}
PROXY_PORT=${BENCH_PROXY_PORT:-10226}
RTTS=("$@")
((${#RTTS[@]} > 0)) || RTTS=(0 20 50 100 200)

BIN=${SMTP_EXPORTER_BIN:-}
if [[ -z "$BIN" ]]; then
  for candidate in "$REPO"/build/exporter/smtp_exporter "$REPO"/build-*/exporter/smtp_exporter; do
    if [[ -x "$candidate" ]]; then BIN=$candidate; break; fi
  done
fi
[[ -x "$BIN" ]] || { echo "latency_bench: no smtp_exporter binary; set SMTP_EXPORTER_BIN" >&2; exit 2; }
if ! [[ "$RUNS" =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 50)); then
  echo "latency_bench: RUNS must be 1..50" >&2; exit 2
fi
for rtt in "${RTTS[@]}"; do
  if ! [[ "$rtt" =~ ^[0-9]+$ ]] || ((rtt % 2 != 0 || rtt > 2000)); then
    echo "latency_bench: RTT '$rtt' must be an even number of ms, at most 2000" >&2; exit 2
  fi
done

STATE=$(mktemp -d /tmp/smtpx-latency-bench.XXXXXX)
chmod 755 "$STATE"   # Postfix's daemons (user postfix) must traverse it
cleanup() {
  "$LAB/delay_proxy.sh" stop "$STATE" 2>/dev/null || true
  "$LAB/postfix.sh" stop "$STATE" 2>/dev/null || true
  "$LAB/dns.sh" stop "$STATE" 2>/dev/null || true
  rm -rf -- "$STATE"
}
trap cleanup EXIT

"$LAB/dns.sh" start "$STATE" "$DNS_PORT" 2>/dev/null
"$LAB/postfix.sh" start "$STATE" "$SMTP_PORT" 2>/dev/null

# check_seconds PORT: wall time of one `check good.lab.test` (exit 0 required), in seconds.
check_seconds() {
  local port=$1 t0 t1 out
  t0=$(date +%s%N)
  if ! out=$("$BIN" check good.lab.test --dns-servers "127.0.0.1:$DNS_PORT" --port "$port" \
      --helo-name probe.lab.test --timeout 30s --format json 2>&1); then
    echo "latency_bench: check through port $port failed:" >&2
    printf '%s\n' "$out" | head -n 20 >&2
    exit 1
  fi
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}

# median_seconds PORT: median over RUNS checks.
median_seconds() {
  local i
  for ((i = 0; i < RUNS; i++)); do check_seconds "$1"; done |
    sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "smtp_exporter check good.lab.test: median of $RUNS runs each, wall time in seconds"
echo "(binary $BIN; the proxy adds RTT/2 in each direction)"
printf '%8s %10s %10s %8s %16s\n' rtt_ms direct_s proxied_s ratio extra_per_rtt
for rtt in "${RTTS[@]}"; do
  direct=$(median_seconds "$SMTP_PORT")
  LAB_PROXY_LIFETIME=600 "$LAB/delay_proxy.sh" start "$STATE" $((rtt / 2)) \
    "127.0.0.2:$PROXY_PORT=127.0.0.2:$SMTP_PORT" "[::1]:$PROXY_PORT=[::1]:$SMTP_PORT" 2>/dev/null
  proxied=$(median_seconds "$PROXY_PORT")
  "$LAB/delay_proxy.sh" stop "$STATE"
  # extra_per_rtt: (proxied - direct) / RTT, i.e. how many round trips the check waits for.
  awk -v r="$rtt" -v d="$direct" -v p="$proxied" 'BEGIN {
    ratio = (d > 0) ? p / d : 0
    extra = (r > 0) ? sprintf("%.1f", (p - d) / (r / 1000)) : "-"
    printf "%8d %10.3f %10.3f %8.2f %16s\n", r, d, p, ratio, extra }'
done
