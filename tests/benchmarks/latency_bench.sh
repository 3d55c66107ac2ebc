#!/usr/bin/env bash
# How `check` scales with the network's round-trip time: good.lab.test (two endpoints,
# 127.0.0.2 and ::1, STARTTLS and three transaction probes each) directly against the lab's
# Postfix, and through tests/lab/delay_proxy.py at a few RTTs. Prints numbers; asserts nothing.
#
#   tests/benchmarks/latency_bench.sh [RTT_MS ...]      (default: 0 20 50 100 200)
#
# Environment: as tests/benchmarks/bench_lib.sh says (SMTP_EXPORTER_BIN, RUNS), and
# BENCH_SMTP_PORT (default 10225), BENCH_DNS_PORT (default 25553), BENCH_PROXY_PORT (default
# 10226). It starts its own Knot and Postfix on those ports and stops everything, by PID, on
# exit. Needs root (as the lab does).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
SMTP_PORT=${BENCH_SMTP_PORT:-10225}
DNS_PORT=${BENCH_DNS_PORT:-25553}
PROXY_PORT=${BENCH_PROXY_PORT:-10226}
RTTS=("$@")
((${#RTTS[@]} > 0)) || RTTS=(0 20 50 100 200)

bench_setup latency_bench
bench_check_rtts "${RTTS[@]}"
bench_start_lab "$SMTP_PORT" "$DNS_PORT"

# median_seconds PORT: median over RUNS checks of good.lab.test through PORT.
median_seconds() {
  local i
  for ((i = 0; i < RUNS; i++)); do
    bench_seconds "$BIN" check good.lab.test --dns-servers "127.0.0.1:$DNS_PORT" --port "$1" \
      --helo-name probe.lab.test --timeout 30s --format json
  done | bench_median
}

echo "smtp_exporter check good.lab.test: median of $RUNS runs each, wall time in seconds"
echo "(binary $BIN; the proxy adds RTT/2 in each direction)"
printf '%8s %10s %10s %8s %16s\n' rtt_ms direct_s proxied_s ratio extra_per_rtt
for rtt in "${RTTS[@]}"; do
  direct=$(median_seconds "$SMTP_PORT")
  LAB_PROXY_LIFETIME=600 "$BENCH_LAB/delay_proxy.sh" start "$STATE" $((rtt / 2)) \
    "127.0.0.2:$PROXY_PORT=127.0.0.2:$SMTP_PORT" "[::1]:$PROXY_PORT=[::1]:$SMTP_PORT" 2>/dev/null
  proxied=$(median_seconds "$PROXY_PORT")
  "$BENCH_LAB/delay_proxy.sh" stop "$STATE"
  # extra_per_rtt: (proxied - direct) / RTT, i.e. how many round trips the check waits for.
  awk -v r="$rtt" -v d="$direct" -v p="$proxied" 'BEGIN {
    ratio = (d > 0) ? p / d : 0
    extra = (r > 0) ? sprintf("%.1f", (p - d) / (r / 1000)) : "-"
    printf "%8d %10.3f %10.3f %8.2f %16s\n", r, d, p, ratio, extra }'
done
