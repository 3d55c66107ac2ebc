#!/usr/bin/env bash
# Authoritative DNS (Knot DNS 3.2) for the smtp_exporter test lab.
#
#   tests/lab/dns.sh start  STATE_DIR [PORT]   # PORT defaults to 15353
#   tests/lab/dns.sh stop   STATE_DIR
#   tests/lab/dns.sh status STATE_DIR           # exit 0 running, 3 stopped
#
# Everything lives in STATE_DIR/dns: knot.conf (generated from
# tests/lab/dns/knot.conf.in), zones/, run/, db/, knotd.log, knotd.pid, port.
# knotd listens on 127.0.0.1@PORT and ::1@PORT only. Query it with
#   dig @127.0.0.1 -p PORT ...      (never through the system resolver)
# See tests/lab/README.md, section "DNS", for the names the zones contain.
#
# Environment (for generated worlds, e.g. tests/benchmarks/fleet): LAB_DNS_TEMPLATE_DIR, a
# directory with knot.conf.in and zones/*.zone to serve instead of tests/lab/dns, and
# LAB_DNS_READY_ZONES, the space-separated zones that must answer SOA before "start" returns
# (the first one must also answer on ::1).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE_DIR=${LAB_DNS_TEMPLATE_DIR:-$SCRIPT_DIR/dns}
DEFAULT_PORT=15353
# Zones that must answer SOA before "start" reports ready. broken.test is
# left out on purpose: it never loads (SERVFAIL is its whole point).
if [[ -n ${LAB_DNS_READY_ZONES:-} ]]; then
    read -r -a READY_ZONES <<<"$LAB_DNS_READY_ZONES"
else
    READY_ZONES=(lab.test 127.in-addr.arpa 100.51.198.in-addr.arpa ip6.arpa dnssec.test)
fi
START_TIMEOUT_MS=10000   # bounded wait for readiness
readonly STOP_TRIES=100  # x 50 ms = 5 s after SIGTERM, then SIGKILL

usage() {
    cat >&2 <<EOF
usage: $0 start STATE_DIR [PORT]   (PORT defaults to $DEFAULT_PORT)
       $0 stop STATE_DIR
       $0 status STATE_DIR
EOF
    exit 2
}

say() { echo "dns.sh: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# set_paths STATE_DIR: absolute paths for everything under STATE_DIR/dns.
set_paths() {
    local state=$1 create=${2:-}
    [[ -n $create ]] && mkdir -p "$state"
    STATE_DIR=$(realpath -m -- "$state")
    DNS_DIR="$STATE_DIR/dns"
    CONF="$DNS_DIR/knot.conf"
    LOG="$DNS_DIR/knotd.log"
    PIDFILE="$DNS_DIR/knotd.pid"
    PORTFILE="$DNS_DIR/port"
    # AF_UNIX paths are limited to 107 bytes; fall back to a short,
    # STATE_DIR-specific path under /tmp when STATE_DIR is deep.
    CONTROL_SOCK="$DNS_DIR/run/knot.sock"
    if (( ${#CONTROL_SOCK} > 100 )); then
        CONTROL_SOCK="/tmp/smtpx-lab-knot-$(printf '%s' "$DNS_DIR" | md5sum | cut -c1-12).sock"
    fi
}

log_tail() {
    if [[ -f $LOG ]]; then
        say "last lines of $LOG:"
        tail -n 20 "$LOG" | sed 's/^/    /' >&2
    fi
}

log() { say "$*"; }
die() {
    say "ERROR: $*"
    log_tail
    exit 1
}
# shellcheck source=tests/lab/proc_lib.sh
source "$SCRIPT_DIR/proc_lib.sh"

# The knotd processes started with our config, found by command line: one a crashed run left
# behind (its PID file gone or stale) is found too, and a reused PID is never mistaken for ours.
knotd_pids() { pids_with_args "$CONF" knotd; }

# soa_serial ADDR PORT ZONE: prints the SOA serial, or nothing.
soa_serial() {
    dig @"$1" -p "$2" +norec +time=1 +tries=1 +noall +answer SOA "$3" 2>/dev/null \
        | awk '$4 == "SOA" { print $7; exit }' || true
}

do_stop() {
    local quiet=${1:-} pids
    mapfile -t pids < <(knotd_pids)
    stop_pids knotd "${pids[@]}"
    rm -f "$PIDFILE"
    [[ $CONTROL_SOCK == /tmp/* ]] && rm -f "$CONTROL_SOCK"
    if [[ -z $quiet ]]; then
        if (( ${#pids[@]} > 0 )); then say "stopped knotd pid ${pids[*]}"; else say "not running (${STATE_DIR})"; fi
    fi
    return 0
}

# sed replacement text escaping (for | delimiter).
sed_esc() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

do_start() {
    local port=$1 t0 pid deadline listeners ready6=""
    t0=$(now_ms)
    local tool
    for tool in knotd knotc dig ss; do
        command -v "$tool" >/dev/null \
            || die "$tool not found: apt-get install -y knot knot-dnsutils dnsutils iproute2"
    done

    do_stop quiet

    # Refuse a busy port up front. knotd binds UDP with SO_REUSEPORT, so a
    # second knotd (another STATE_DIR, same port) gets its UDP sockets and only
    # dies later on the TCP bind ("critical: failed to configure server");
    # meanwhile the *other* instance would answer our readiness probe.
    listeners=$(ss -Hlnup "( sport = :$port )" 2>/dev/null; ss -Hlntp "( sport = :$port )" 2>/dev/null) || true
    if [[ -n $listeners ]]; then
        say "ERROR: port $port is already in use:"
        sed 's/^/    /' <<<"$listeners" >&2
        exit 1
    fi

    rm -rf "$DNS_DIR"
    mkdir -p "$DNS_DIR/run" "$DNS_DIR/db" "$DNS_DIR/zones"
    cp "$TEMPLATE_DIR"/zones/*.zone "$DNS_DIR/zones/"
    sed -e "s|@DNS_DIR@|$(sed_esc "$DNS_DIR")|g" \
        -e "s|@PORT@|$port|g" \
        -e "s|@CONTROL_SOCK@|$(sed_esc "$CONTROL_SOCK")|g" \
        "$TEMPLATE_DIR/knot.conf.in" >"$CONF"
    if grep -q '@[A-Z_]*@' "$CONF"; then
        die "unsubstituted placeholder in $CONF"
    fi

    local check
    if ! check=$(knotc -c "$CONF" conf-check 2>&1); then
        say "knotc conf-check failed for $CONF:"
        sed 's/^/    /' <<<"$check" >&2
        exit 1
    fi

    # stdin/stdout/stderr all redirected: a caller that captures our output
    # through a pipe must not be kept waiting by knotd holding the pipe open.
    knotd -c "$CONF" </dev/null >"$LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$port" >"$PORTFILE"

    # One dig per poll asks all zones (dig start-up costs ~25 ms, knot ~30 ms).
    local qargs=() answered=() missing=() z
    for z in "${READY_ZONES[@]}"; do qargs+=("$z." SOA); done
    local load_re
    load_re=$(printf '%s|' "${READY_ZONES[@]}" | sed -e 's/|$//' -e 's/\./\\./g')
    deadline=$(( $(now_ms) + START_TIMEOUT_MS ))
    for _ in $(seq 1 400); do
        proc_alive "$pid" || die "knotd (pid $pid) exited during start-up"
        # Fail fast when one of the required zones did not parse.
        if grep -qE "\[($load_re)\.\] zone event 'load' failed" "$LOG" 2>/dev/null; then
            say "ERROR: a required zone failed to load (see $LOG)"
            log_tail
            do_stop quiet || true
            exit 1
        fi
        mapfile -t answered < <(dig @127.0.0.1 -p "$port" +norec +time=1 +tries=1 +noall +answer \
            "${qargs[@]}" 2>/dev/null | awk '$4 == "SOA" { print $1 }' | sort -u || true)
        if (( ${#answered[@]} == ${#READY_ZONES[@]} )); then
            ready6=$(soa_serial ::1 "$port" "${READY_ZONES[0]}")
            [[ -n $ready6 ]] && break
        fi
        (( $(now_ms) < deadline )) || break
        sleep 0.01
    done
    if (( ${#answered[@]} != ${#READY_ZONES[@]} )) || [[ -z $ready6 ]]; then
        for z in "${READY_ZONES[@]}"; do
            printf '%s\n' "${answered[@]}" | grep -qxF "$z." || missing+=("$z@127.0.0.1")
        done
        [[ -n $ready6 ]] || missing+=("${READY_ZONES[0]}@::1")
        say "ERROR: knotd not ready after ${START_TIMEOUT_MS} ms; no SOA for: ${missing[*]}"
        log_tail
        do_stop quiet || true
        exit 1
    fi
    proc_alive "$pid" || die "knotd (pid $pid) exited during start-up"
    say "knotd pid $pid ready on 127.0.0.1@$port and ::1@$port in $(( $(now_ms) - t0 )) ms" \
        "(${READY_ZONES[0]} serial $ready6; state $DNS_DIR)"
}

do_status() {
    local pid port serial
    pid=$(knotd_pids | head -n 1)
    if [[ -n $pid ]]; then
        port=$(cat "$PORTFILE" 2>/dev/null || echo "?")
        serial=$(soa_serial 127.0.0.1 "$port" "${READY_ZONES[0]}")
        if [[ -n $serial ]]; then
            echo "running pid=$pid port=$port ${READY_ZONES[0]}-serial=$serial dir=$DNS_DIR"
        else
            echo "running pid=$pid port=$port NOT ANSWERING dir=$DNS_DIR"
        fi
        return 0
    fi
    echo "stopped dir=$DNS_DIR"
    return 3
}

main() {
    (( $# >= 2 )) || usage
    local cmd=$1
    [[ -n $2 ]] || usage
    case $cmd in
        start)
            (( $# <= 3 )) || usage
            local port=${3:-$DEFAULT_PORT}
            if ! [[ $port =~ ^[0-9]{1,5}$ ]] || (( 10#$port < 1 || 10#$port > 65535 )); then
                say "ERROR: bad port '$port'"; exit 2
            fi
            port=$(( 10#$port ))
            set_paths "$2" create
            do_start "$port"
            ;;
        stop)
            (( $# == 2 )) || usage
            set_paths "$2"
            do_stop
            ;;
        status)
            (( $# == 2 )) || usage
            set_paths "$2"
            do_status
            ;;
        *) usage ;;
    esac
}

main "$@"
