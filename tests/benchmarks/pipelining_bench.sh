#!/usr/bin/env bash
# Issue #17 benchmark 5(a): our full check of one endpoint against blackbox_exporter 0.23's
# shallow `smtp_starttls` probe, side by side in one run, through tests/lab/delay_proxy.py at
# a few round-trip times. Ours twice: with RFC 2920 pipelining of the transaction probes (the
# default) and in lock-step (--pipelining=false). Prints medians and ratios; asserts nothing
# (the target, ours <= 1.2 x blackbox at 50 ms, is read off the table: docs/performance.md).
#
#   tests/benchmarks/pipelining_bench.sh [RTT_MS ...]      (default: 20 50 100)
#
# The endpoint is the lab's Postfix for good.lab.test at 127.0.0.2 (mx-good.lab.test):
# `check good.lab.test --endpoint 127.0.0.2:PROXY` (greeting, EHLO, STARTTLS, TLS, EHLO, the
# null-sender, postmaster and open-relay probes, QUIT; plus its PTR/FCrDNS lookups at the lab's
# Knot), and blackbox's probe of the same address (greeting, EHLO, STARTTLS, TLS, EHLO, QUIT
# without waiting for its reply). Runs alternate between the three, so drift hits all alike.
# Wall time for ours (process start included), curl's total time of /probe for blackbox.
#
# Environment: as tests/benchmarks/bench_lib.sh says (SMTP_EXPORTER_BIN, RUNS, default 5), and
# BENCH_SMTP_PORT (default 10235), BENCH_DNS_PORT (default 25563), BENCH_PROXY_PORT (default
# 10236), BENCH_BLACKBOX_PORT (default 19115, on 127.0.0.1). Installs Debian's
# prometheus-blackbox-exporter with apt-get when it is missing. Everything it starts listens on
# loopback and is stopped by PID on exit. Needs root (as the lab does).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
SMTP_PORT=${BENCH_SMTP_PORT:-10235}
DNS_PORT=${BENCH_DNS_PORT:-25563}
PROXY_PORT=${BENCH_PROXY_PORT:-10236}
BB_PORT=${BENCH_BLACKBOX_PORT:-19115}
RTTS=("$@")
((${#RTTS[@]} > 0)) || RTTS=(20 50 100)

bench_setup pipelining_bench
bench_check_rtts "${RTTS[@]}"

BLACKBOX=/usr/bin/prometheus-blackbox-exporter
if [[ ! -x $BLACKBOX ]]; then
  echo "pipelining_bench: installing prometheus-blackbox-exporter" >&2
  # Whether the package's own service starts is the host's policy (policy-rc.d); ours runs
  # apart from it, on its own loopback port and config.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    prometheus-blackbox-exporter >/dev/null
fi
command -v curl >/dev/null || { echo "pipelining_bench: needs curl" >&2; exit 2; }

bench_start_lab "$SMTP_PORT" "$DNS_PORT"

# blackbox_exporter's smtp_starttls module as its example config has it, the expectations
# matched to the lab's Postfix (no AUTH after TLS: expect the EHLO reply's last line instead);
# the lab's certificate is self-signed.
cat >"$STATE/blackbox.yml" <<'YML'
modules:
  smtp_starttls:
    prober: tcp
    timeout: 10s
    tcp:
      preferred_ip_protocol: ip4
      tls_config:
        insecure_skip_verify: true
      query_response:
        - expect: "^220 ([^ ]+) ESMTP (.+)$"
        - send: "EHLO prober\r"
        - expect: "^250-STARTTLS"
        - send: "STARTTLS\r"
        - expect: "^220"
        - starttls: true
        - send: "EHLO prober\r"
        - expect: "^250 "
        - send: "QUIT\r"
YML
"$BLACKBOX" --config.file="$STATE/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
  >"$STATE/blackbox.log" 2>&1 &
BB_PID=$!
BENCH_EXIT_HOOKS+=("kill $BB_PID 2>/dev/null; wait $BB_PID 2>/dev/null")
for ((i = 0; i < 100; i++)); do   # up to 10 s
  curl -sf -o /dev/null "http://127.0.0.1:$BB_PORT/-/healthy" && break
  sleep 0.1
done
BB_VERSION=$("$BLACKBOX" --version 2>&1 | head -n 1)

# One check of the endpoint through the proxy, as JSON: the command both timings run.
CHECK=("$BIN" check good.lab.test --endpoint "127.0.0.2:$PROXY_PORT" --mx-name mx-good.lab.test
  --dns-servers "127.0.0.1:$DNS_PORT" --helo-name probe.lab.test --timeout 30s --format json)

ours() {   # ours FLAG...: one check's wall time
  bench_seconds "${CHECK[@]}" "$@"
}

# ours_timed FILE_WALL FILE_CHECK FLAG...: one check; its wall time (process start and exit
# included) to FILE_WALL, and the check's own duration as it reports it (the observation's
# duration_seconds: from the check's start to its last answer, as a running exporter's /probe
# spends it, without the process around it) to FILE_CHECK.
ours_timed() {
  local wall=$1 check=$2 t0 t1 out
  shift 2
  t0=$(date +%s%N)
  if ! out=$("${CHECK[@]}" "$@" 2>/dev/null); then
    # A non-zero exit is the check's verdict (Nagios codes), not a failure: the lab's
    # self-signed certificate and loopback addresses give warnings; the JSON must be there.
    [[ $out == "{"* ]] || { echo "pipelining_bench: check failed: $out" >&2; exit 1; }
  fi
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f\n", ns / 1e9 }' >>"$wall"
  /usr/bin/python3 -c '
import json, sys
def find(node):
    if isinstance(node, dict):
        if "endpoints" in node and "duration_seconds" in node:
            return node["duration_seconds"]
        for value in node.values():
            found = find(value)
            if found is not None:
                return found
    return None
seconds = find(json.load(sys.stdin))
if seconds is None:
    sys.exit("pipelining_bench: no duration_seconds in the check output")
print("%.3f" % seconds)' <<<"$out" >>"$check"
}

blackbox() {   # one /probe of the endpoint through the proxy; probe_success must be 1
  local out
  out=$(curl -sf -w '\ntime_total %{time_total}\n' \
    "http://127.0.0.1:$BB_PORT/probe?module=smtp_starttls&target=127.0.0.2:$PROXY_PORT")
  if ! grep -qx 'probe_success 1' <<<"$out"; then
    echo "pipelining_bench: blackbox probe failed (debug: add &debug=true):" >&2
    grep -v '^#' <<<"$out" | head -n 20 >&2
    exit 1
  fi
  awk '$1 == "time_total" { printf "%.3f\n", $2 }' <<<"$out"
}

echo "one endpoint (127.0.0.2, lab Postfix) through the delay proxy: median of $RUNS runs, seconds"
echo "ours: $BIN; blackbox: $BB_VERSION, module smtp_starttls"
printf '%8s %12s %12s %12s %10s %14s %16s %14s\n' rtt_ms ours_piped piped_check \
  ours_lockstep blackbox piped/blackbox piped_check/bb lockstep/bb
for rtt in "${RTTS[@]}"; do
  LAB_PROXY_LIFETIME=900 "$BENCH_LAB/delay_proxy.sh" start "$STATE" $((rtt / 2)) \
    "127.0.0.2:$PROXY_PORT=127.0.0.2:$SMTP_PORT" 2>/dev/null
  : >"$STATE/piped" && : >"$STATE/piped_check" && : >"$STATE/lockstep" && : >"$STATE/bb"
  for ((i = 0; i < RUNS; i++)); do
    ours_timed "$STATE/piped" "$STATE/piped_check"
    ours --pipelining=false >>"$STATE/lockstep"
    blackbox >>"$STATE/bb"
  done
  "$BENCH_LAB/delay_proxy.sh" stop "$STATE"
  piped=$(bench_median <"$STATE/piped")
  piped_check=$(bench_median <"$STATE/piped_check")
  lockstep=$(bench_median <"$STATE/lockstep")
  bb=$(bench_median <"$STATE/bb")
  awk -v r="$rtt" -v p="$piped" -v c="$piped_check" -v l="$lockstep" -v b="$bb" 'BEGIN {
    printf "%8d %12.3f %12.3f %12.3f %10.3f %14.2f %16.2f %14.2f\n", r, p, c, l, b,
           (b > 0) ? p / b : 0, (b > 0) ? c / b : 0, (b > 0) ? l / b : 0 }'
done
