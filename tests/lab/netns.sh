#!/usr/bin/env bash
# Network-namespace world for the smtp_exporter test lab: real routing and IPv6.
#
#   tests/lab/netns.sh start  STATE_DIR
#   tests/lab/netns.sh stop   STATE_DIR
#   tests/lab/netns.sh status STATE_DIR          (exit 0 running, 3 stopped)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
#
# Three namespaces (names prefixed with $LAB_NETNS_PREFIX, default "smtpx"):
#
#   smtpx-mon  --veth--  smtpx-rtr  --veth--  smtpx-mail
#   (exporter,           (forwards;           (Postfix on 198.51.100.{2,10,12,13,14}
#    Knot on              reject route for     and 2001:db8:100::{2,10,11}, port 25)
#    127.0.0.1@53)        2001:db8:100::2:0/112)
#
# Addresses only in 198.51.100.0/24 and 2001:db8:100::/64 (never 192.0.2.0/24: that is the
# real host network here). No namespace has a default route. The monitor has routes to the
# mail LAN (198.51.100.0/26, 2001:db8:100::/112) and to 2001:db8:100::2:0/112 (the router
# rejects it with ICMPv6 "no route"), and none to 2001:db8:100::3:0/112 (connect() fails
# locally with ENETUNREACH). See tests/lab/README.md, section "Network namespaces".
#
# Everything lives in STATE_DIR/netns/: dns/ (tests/lab/dns.sh, run inside smtpx-mon),
# postfix/ (tests/lab/postfix.sh with LAB_PF_MASTER=netns, run inside smtpx-mail), names
# (the namespaces this world created), .lock.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
PREFIX=${LAB_NETNS_PREFIX:-smtpx}
[[ "$PREFIX" =~ ^[a-z0-9]{1,8}$ ]] || { echo "netns.sh: LAB_NETNS_PREFIX must be 1-8 of [a-z0-9]" >&2; exit 2; }
readonly NS_MON=$PREFIX-mon NS_RTR=$PREFIX-rtr NS_MAIL=$PREFIX-mail
readonly NAMESPACES=("$NS_MON" "$NS_RTR" "$NS_MAIL")
readonly DNS_PORT=53 SMTP_PORT=25
readonly STOP_TRIES=100           # x 50 ms = 5 s, then SIGKILL
readonly READY_DEADLINE_MS=10000  # bounded wait for the routing checks

# Every address, in one place (keep in step with tests/lab/dns/zones/* and the README).
readonly MON_V4=198.51.100.66/26 MON_V6=2001:db8:100::1:2/112
readonly RTR_MON_V4=198.51.100.65/26 RTR_MON_V6=2001:db8:100::1:1/112
readonly RTR_MAIL_V4=198.51.100.1/26 RTR_MAIL_V6=2001:db8:100::1/112
readonly MAIL_V4=(198.51.100.2 198.51.100.10 198.51.100.12 198.51.100.13 198.51.100.14)
readonly MAIL_V6=(2001:db8:100::2 2001:db8:100::10 2001:db8:100::11)
readonly REJECTED_V6=2001:db8:100::2:0/112   # the router answers ICMPv6 "no route"

log() { printf 'netns.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
  cat >&2 <<'EOF'
usage: netns.sh start  STATE_DIR
       netns.sh stop   STATE_DIR
       netns.sh status STATE_DIR
EOF
  exit 2
}
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

ns_exists() { [[ -e /run/netns/$1 ]] || ip netns list 2>/dev/null | grep -qE "^$1( |$)"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

proc_alive() {   # alive and not a zombie
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# live_pids NS: PIDs of the live processes inside NS (zombies left out).
live_pids() {
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null || true); do
    proc_alive "$pid" && echo "$pid"
  done
  return 0
}

set_paths() {
  local dir=$1 create=$2
  if [[ $create == 1 ]]; then mkdir -p -- "$dir"; fi
  if [[ -d "$dir" ]]; then STATE=$(cd -- "$dir" && pwd -P); else STATE=$(realpath -m -- "$dir"); fi
  NETNS_DIR=$STATE/netns
}

# Serialise start/stop on one STATE_DIR.
lock_state() {
  mkdir -p -- "$NETNS_DIR"
  exec 8>"$NETNS_DIR/.lock"
  flock -w 30 8 || die "another netns.sh holds $NETNS_DIR/.lock for more than 30 s"
}

# Stops the servers of STATE_DIR (by PID, through their own scripts), then every process
# still inside one of our namespaces (a leftover from a crashed run, maybe of another
# STATE_DIR: the namespace names are fixed), then deletes the namespaces.
do_stop() {
  local ns i
  local -a left
  if [[ -d "$NETNS_DIR" ]]; then
    "$SCRIPT_DIR/postfix.sh" stop "$NETNS_DIR" 2>/dev/null || log "postfix.sh stop failed"
    "$SCRIPT_DIR/dns.sh" stop "$NETNS_DIR" 2>/dev/null || log "dns.sh stop failed"
  fi
  for ns in "${NAMESPACES[@]}"; do
    ns_exists "$ns" || continue
    mapfile -t left < <(live_pids "$ns")
    if ((${#left[@]} > 0)); then
      log "$ns: stopping leftover processes ${left[*]}"
      for ((i = 0; i < STOP_TRIES; i++)); do
        mapfile -t left < <(live_pids "$ns")
        ((${#left[@]} > 0)) || break
        if ((i == 0)); then kill -TERM "${left[@]}" 2>/dev/null || true
        elif ((i == STOP_TRIES / 2)); then kill -KILL "${left[@]}" 2>/dev/null || true
        fi
        sleep 0.05
      done
      mapfile -t left < <(live_pids "$ns")
      ((${#left[@]} == 0)) || die "$ns: processes still alive after SIGKILL: ${left[*]}"
    fi
    ip netns del "$ns" 2>/dev/null || die "ip netns del $ns failed"
  done
  rm -f -- "$NETNS_DIR/names"
}

# tcp_connect NS ADDR PORT: prints "open", "refused", "unreachable" or "timeout" as seen
# from NS (bash /dev/tcp takes IP literals without any DNS lookup).
tcp_connect() {
  local out
  # shellcheck disable=SC2016  # $1/$2 belong to the inner shell
  out=$(ip netns exec "$1" timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && echo open' probe "$2" "$3" 2>&1) || true
  case "$out" in
    *open*) echo open ;;
    *refused*) echo refused ;;
    *unreachable* | *"No route"*) echo unreachable ;;
    *) echo "timeout${out:+ ($out)}" ;;
  esac
}

setup_network() {
  local ns a
  for ns in "${NAMESPACES[@]}"; do
    ip netns add "$ns" || die "ip netns add $ns failed (network namespaces need root and CONFIG_NET_NS)"
    echo "$ns" >> "$NETNS_DIR/names"
  done
  # veth pairs created directly inside the namespaces: no interface name in the host's
  # namespace, so nothing can clash there. "ip -n NS" is much cheaper than "ip netns exec".
  ip link add name to-rtr netns "$NS_MON" type veth peer name to-mon netns "$NS_RTR"
  ip link add name to-rtr netns "$NS_MAIL" type veth peer name to-mail netns "$NS_RTR"

  # Router: forwards both families. ICMP errors unthrottled (tests send bursts); neighbour
  # discovery gives up after 3 x 100 ms, so an address nobody owns on the mail LAN fails fast.
  in_ns "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
    net.ipv6.neigh.to-mail.retrans_time_ms=100 net.ipv4.neigh.to-mail.retrans_time_ms=100 ||
    die "sysctl in $NS_RTR failed"
  ip -n "$NS_RTR" -batch - <<EOF || die "configuring $NS_RTR failed"
link set lo up
addr add $RTR_MON_V4 dev to-mon
addr add $RTR_MON_V6 dev to-mon nodad
addr add $RTR_MAIL_V4 dev to-mail
addr add $RTR_MAIL_V6 dev to-mail nodad
link set to-mon up
link set to-mail up
route add unreachable $REJECTED_V6
EOF

  # Monitor: routes to the mail LAN and to the rejected prefix only; no default route, no
  # route to 2001:db8:100::3:0/112.
  ip -n "$NS_MON" -batch - <<EOF || die "configuring $NS_MON failed"
link set lo up
addr add $MON_V4 dev to-rtr
addr add $MON_V6 dev to-rtr nodad
link set to-rtr up
route add 198.51.100.0/26 via ${RTR_MON_V4%/*}
route add 2001:db8:100::/112 via ${RTR_MON_V6%/*}
route add $REJECTED_V6 via ${RTR_MON_V6%/*}
EOF

  # Mail host: every server address on one interface; back to the monitor LAN via the router.
  {
    echo "link set lo up"
    for a in "${MAIL_V4[@]}"; do echo "addr add $a/26 dev to-rtr"; done
    for a in "${MAIL_V6[@]}"; do echo "addr add $a/112 dev to-rtr nodad"; done
    echo "link set to-rtr up"
    echo "route add 198.51.100.64/26 via ${RTR_MAIL_V4%/*}"
    echo "route add 2001:db8:100::1:0/112 via ${RTR_MAIL_V6%/*}"
  } | ip -n "$NS_MAIL" -batch - || die "configuring $NS_MAIL failed"
}

cmd_start() {
  local t0 out tool deadline i seen
  t0=$(now_ms)
  for tool in ip flock timeout; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install iproute2 util-linux coreutils)"
  done
  ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (needs root and network namespaces)"
  ((EUID == 0)) || die "network namespaces need root"

  do_stop   # idempotent; also clears a leftover of a crashed run
  : > "$NETNS_DIR/names"
  setup_network

  # Knot in the monitor namespace, on its own loopback (127.0.0.1@53, ::1@53).
  # 8>&-: the daemons must not inherit (and so hold) our lock.
  if ! out=$(in_ns "$NS_MON" "$SCRIPT_DIR/dns.sh" start "$NETNS_DIR" "$DNS_PORT" 2>&1 8>&-); then
    printf '%s\n' "$out" >&2; do_stop; die "dns.sh start failed inside $NS_MON"
  fi
  # Postfix in the mail namespace: the netns listeners (tests/lab/postfix/master-netns.cf.in).
  if ! out=$(LAB_PF_MASTER=netns in_ns "$NS_MAIL" "$SCRIPT_DIR/postfix.sh" start "$NETNS_DIR" "$SMTP_PORT" 2>&1 8>&-); then
    printf '%s\n' "$out" >&2; do_stop; die "postfix.sh start failed inside $NS_MAIL"
  fi

  # Routing as promised, seen from the monitor: both families reach the mail host through
  # the router, the rejected prefix fails at the router, the unrouted one fails locally.
  deadline=$(($(now_ms) + READY_DEADLINE_MS))
  local -A want=(
    [198.51.100.10]=open [2001:db8:100::10]=open [2001:db8:100::11]=open
    [2001:db8:100::2:12]=unreachable [2001:db8:100::3:13]=unreachable
  )
  local addr
  for addr in "${!want[@]}"; do
    for ((i = 0; i < 20; i++)); do
      seen=$(tcp_connect "$NS_MON" "$addr" "$SMTP_PORT")
      [[ "$seen" == "${want[$addr]}" ]] && break
      (($(now_ms) < deadline)) || break
      sleep 0.1
    done
    if [[ "$seen" != "${want[$addr]}" ]]; then
      do_stop; die "from $NS_MON, [$addr]:$SMTP_PORT is '$seen', expected '${want[$addr]}'"
    fi
  done
  log "up: $NS_MON (Knot 127.0.0.1@$DNS_PORT), $NS_RTR, $NS_MAIL (Postfix port $SMTP_PORT)," \
    "state $NETNS_DIR ($(($(now_ms) - t0)) ms)"
}

cmd_status() {
  local ns rc=0
  for ns in "${NAMESPACES[@]}"; do
    ns_exists "$ns" || { log "namespace $ns missing"; rc=3; }
  done
  "$SCRIPT_DIR/dns.sh" status "$NETNS_DIR" >/dev/null 2>&1 || { log "Knot not running"; rc=3; }
  "$SCRIPT_DIR/postfix.sh" status "$NETNS_DIR" >/dev/null 2>&1 || { log "Postfix not running"; rc=3; }
  if ((rc == 0)); then log "running: ${NAMESPACES[*]}, state $NETNS_DIR"; else log "not running"; fi
  exit "$rc"
}

(($# == 2)) || usage
[[ -n "$2" ]] || usage
case "$1" in
  start)
    set_paths "$2" 1
    lock_state
    cmd_start
    ;;
  stop)
    set_paths "$2" 0
    ((EUID == 0)) || die "network namespaces need root"
    t0=$(now_ms)
    if [[ -d "$NETNS_DIR" ]]; then lock_state; fi
    do_stop
    log "stopped ($(($(now_ms) - t0)) ms)"
    ;;
  status)
    set_paths "$2" 0
    cmd_status
    ;;
  *) usage ;;
esac
