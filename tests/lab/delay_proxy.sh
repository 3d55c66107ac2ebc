#!/usr/bin/env bash
# Latency proxy (tests/lab/delay_proxy.py) for the smtp_exporter test lab, by PID.
#
#   tests/lab/delay_proxy.sh start  STATE_DIR DELAY_MS LISTEN=TARGET [LISTEN=TARGET ...]
#   tests/lab/delay_proxy.sh stop   STATE_DIR
#   tests/lab/delay_proxy.sh status STATE_DIR          (exit 0 running, 3 stopped)
#
# DELAY_MS is added in each direction (RTT = 2 x DELAY_MS). LISTEN and TARGET are
# ADDR:PORT or [ADDR6]:PORT, e.g. 127.0.0.2:10125=127.0.0.2:10025 [::1]:10125=[::1]:10025.
# One proxy per STATE_DIR (files in STATE_DIR/delay_proxy/: proxy.pid, proxy.log, .lock).
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
# LAB_PROXY_LIFETIME=SECONDS (default 600): the proxy exits by itself after that.
# LAB_PROXY_MAX_CONN=N (default 64, at most 1000): connections open at once over all routes.
# LAB_PROXY_STATS_FILE=PATH (default none): the proxy's --stats-file, the connections open at
# once per listen and upstream address (JSON, rewritten at most once a second and at exit).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly PYTHON=/usr/bin/python3   # the system one: a pyenv shim on PATH costs ~100 ms
readonly READY_DEADLINE_MS=10000 STOP_TRIES=100   # 100 x 50 ms = 5 s, then SIGKILL

log() { printf 'delay_proxy.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
  cat >&2 <<'EOF'
usage: delay_proxy.sh start  STATE_DIR DELAY_MS LISTEN=TARGET [LISTEN=TARGET ...]
       delay_proxy.sh stop   STATE_DIR
       delay_proxy.sh status STATE_DIR
EOF
  exit 2
}
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

proc_alive() {   # alive and not a zombie
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

set_paths() {
  local dir=$1 create=$2
  if [[ $create == 1 ]]; then mkdir -p -- "$dir"; fi
  DIR=$(realpath -m -- "$dir")/delay_proxy
  PIDFILE=$DIR/proxy.pid
  LOG=$DIR/proxy.log
}

# The proxy of this STATE_DIR: its command line names our pid file (guards against PID reuse).
find_proxy() {
  local pid
  [[ -r "$PIDFILE" ]] || return 0
  pid=$(tr -dc '0-9' < "$PIDFILE")
  [[ -n "$pid" ]] && proc_alive "$pid" || return 0
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$PIDFILE" && echo "$pid"
  return 0
}

do_stop() {
  local pid i
  [[ -d "$DIR" ]] || return 0
  pid=$(find_proxy)
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TRIES; i++)); do
      proc_alive "$pid" || break
      sleep 0.05
    done
    if proc_alive "$pid"; then
      log "proxy $pid ignored SIGTERM for $((STOP_TRIES * 50)) ms; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f -- "$PIDFILE"
}

# tcp_open ADDR:PORT|[ADDR6]:PORT: something accepts connections there.
tcp_open() {
  local spec=$1 host port
  host=${spec%:*}; port=${spec##*:}; host=${host#[}; host=${host%]}
  # shellcheck disable=SC2016  # $1/$2 belong to the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe "$host" "$port" 2>/dev/null
}

cmd_start() {
  local delay=$1 t0 pid i route listen
  shift
  local -a routes=("$@") args=()
  t0=$(now_ms)
  [[ "$delay" =~ ^[0-9]{1,5}$ ]] || die "bad DELAY_MS '$delay'"
  do_stop
  for route in "${routes[@]}"; do
    [[ "$route" == *=* ]] || die "bad route '$route' (LISTEN=TARGET)"
    listen=${route%%=*}
    if tcp_open "$listen"; then die "$listen already accepts connections; not starting"; fi
    args+=(--route "$route")
  done
  mkdir -p -- "$DIR"
  if [[ -e "$LOG" ]]; then mv -f -- "$LOG" "$LOG.prev"; fi
  if [[ -n "${LAB_PROXY_STATS_FILE:-}" ]]; then
    args+=(--stats-file "$(realpath -m -- "$LAB_PROXY_STATS_FILE")")
  fi
  "$PYTHON" -I "$SCRIPT_DIR/delay_proxy.py" "${args[@]}" --delay-ms "$delay" \
    --lifetime "${LAB_PROXY_LIFETIME:-600}" --max-conn "${LAB_PROXY_MAX_CONN:-64}" \
    --pid-file "$PIDFILE" --new-session \
    </dev/null >>"$LOG" 2>&1 9>&- &
  pid=$!
  for ((i = 0; i < 500; i++)); do   # the proxy writes its pid file once it listens
    [[ -s "$PIDFILE" ]] && break
    proc_alive "$pid" || { tail -n 5 "$LOG" >&2; die "delay_proxy.py exited during start-up"; }
    (($(now_ms) - t0 < READY_DEADLINE_MS)) || break
    sleep 0.02
  done
  # No probe connection (it would reach the target): the pid file is written only once every
  # listener is bound.
  [[ -s "$PIDFILE" ]] || { do_stop; die "no pid file within $READY_DEADLINE_MS ms"; }
  log "up: pid $(find_proxy), ${delay} ms each way, ${routes[*]} ($(($(now_ms) - t0)) ms)"
}

lock_state() {
  mkdir -p -- "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 30 9 || die "another delay_proxy.sh holds $DIR/.lock for more than 30 s"
}

(($# >= 2)) || usage
[[ -n "$2" ]] || usage
case "$1" in
  start)
    (($# >= 4)) || usage
    set_paths "$2" 1
    lock_state
    cmd_start "${@:3}"
    ;;
  stop)
    (($# == 2)) || usage
    set_paths "$2" 0
    if [[ -d "$DIR" ]]; then lock_state; fi
    do_stop
    ;;
  status)
    (($# == 2)) || usage
    set_paths "$2" 0
    if [[ -n "$(find_proxy)" ]]; then log "running: pid $(find_proxy)"; exit 0; fi
    log "not running"
    exit 3
    ;;
  *) usage ;;
esac
