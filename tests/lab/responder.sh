#!/usr/bin/env bash
# Scripted SMTP responder (tests/lab/responder.py) for the smtp_exporter test lab.
#
#   tests/lab/responder.sh start  STATE_DIR [PORT]   (PORT defaults to 25)
#   tests/lab/responder.sh stop   STATE_DIR
#   tests/lab/responder.sh status STATE_DIR          (exit 0 running, 3 stopped)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
#
# One python3 process serves every misbehaving server (127.0.0.8-16, one scenario per
# address, all on PORT). Everything lives in STATE_DIR/responder/: responder.pid,
# responder.log (a fresh one per start; the previous one becomes responder.log.prev),
# responder.log.ready-offset and port. See tests/lab/README.md, "Scripted responder".
# Environment knobs:
#   LAB_RESPONDER_LIFETIME=SECONDS   the responder exits by itself after this (default 3600)
#   LAB_RESPONDER_OPTS="..."         extra responder.py options, split on blanks, for example
#                                    "--tlsbroken-mode inject --pause 3" (see responder.py --help)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly RESPONDER_PY=$SCRIPT_DIR/responder.py
readonly READY_TRIES=100          # rounds of probes, 50 ms apart ...
readonly READY_DEADLINE_MS=10000  # ... and never longer than this in total
readonly STOP_TRIES=100           # x 50 ms = 5 s after SIGTERM, then SIGKILL

log() { printf 'responder.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
  cat >&2 <<'EOF'
usage: responder.sh start  STATE_DIR [PORT]
       responder.sh stop   STATE_DIR
       responder.sh status STATE_DIR
EOF
  exit 2
}
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# set_paths STATE_DIR create(0|1): sets STATE, RD (= STATE/responder) and the file names.
set_paths() {
  local dir=$1 create=$2
  [[ -n "$dir" ]] || die "STATE_DIR must not be empty"
  if [[ $create == 1 ]]; then
    mkdir -p -- "$dir"
  elif [[ ! -d "$dir" ]]; then
    STATE="" RD=""; return 0
  fi
  STATE=$(cd -- "$dir" && pwd -P)
  RD=$STATE/responder
  PIDFILE=$RD/responder.pid
  LOGFILE=$RD/responder.log
}

# --- process helpers ------------------------------------------------------------
proc_alive() {   # alive and not a zombie (no fork: it runs in polling loops)
  local pid=$1 stat=""
  { IFS= read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }   # the field after "(comm) " is the state
  [[ -n "$stat" && "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# Is PID a responder.py of *this* STATE_DIR (its command line has "--pid-file $PIDFILE")?
is_ours() {
  local pid=$1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  proc_alive "$pid" || return 1
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$RESPONDER_PY" || return 1
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$PIDFILE"
}

# Every live responder of this STATE_DIR: the one in the pid file, plus any whose pid
# file was lost (found by its command line).
instance_pids() {
  local f pid
  while IFS= read -r f; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || continue
    is_ours "$pid" && echo "$pid"
  done < <(grep -lzxF -- "$PIDFILE" /proc/[0-9]*/cmdline 2>/dev/null || true)
}

alive_pids() {   # succeeds if any of the PIDs is still alive
  local p
  for p in "$@"; do proc_alive "$p" && return 0; done
  return 1
}

# --- TCP readiness ------------------------------------------------------------------
# tcp_open ADDR PORT: something accepts connections there (IP literals only: bash's
# /dev/tcp uses getaddrinfo, which does not hit DNS for them). Sends nothing.
tcp_open() {
  # shellcheck disable=SC2016
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe "$1" "$2" 2>/dev/null
}

# probe_all ADDR...: tcp_open ADDR $PORT for all addresses in parallel; prints the
# addresses that accepted (space separated).
probe_all() {
  local a j
  local -a addrs=("$@") pids=()
  for a in "${addrs[@]}"; do tcp_open "$a" "$PORT" & pids+=($!); done
  for j in "${!pids[@]}"; do
    if wait "${pids[$j]}"; then printf '%s ' "${addrs[$j]}"; fi
  done
}

# --- commands --------------------------------------------------------------------------
do_stop() {   # quiet unless something was running
  [[ -n "${RD:-}" && -d "$RD" ]] || return 0
  local i
  local -a pids=()
  mapfile -t pids < <(instance_pids)
  if ((${#pids[@]} > 0)); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < STOP_TRIES; i++)); do
      alive_pids "${pids[@]}" || break
      sleep 0.05
    done
    if alive_pids "${pids[@]}"; then
      log "responder ${pids[*]} did not exit within $((STOP_TRIES * 50)) ms of SIGTERM, sending SIGKILL"
      kill -KILL "${pids[@]}" 2>/dev/null || true
      for ((i = 0; i < 40; i++)); do
        alive_pids "${pids[@]}" || break
        sleep 0.05
      done
      ! alive_pids "${pids[@]}" || die "responder ${pids[*]} still alive after SIGKILL"
    fi
  fi
  rm -f -- "$PIDFILE" "$PIDFILE.tmp"
}

fail_start() {
  log "ERROR: $*"
  if [[ -s "$LOGFILE" ]]; then
    log "---- tail of $LOGFILE ----"; tail -n 25 -- "$LOGFILE" >&2
  fi
  do_stop || true
  exit 1
}

cmd_start() {
  local t0 pid i a n busy ok deadline lifetime python listing
  local -a addrs=() pending=() next=() extra=()
  t0=$(now_ms)
  [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || die "bad PORT '$PORT'"
  PORT=$((10#$PORT))
  ((PORT >= 1 && PORT <= 65535)) || die "bad PORT '$PORT'"
  lifetime=${LAB_RESPONDER_LIFETIME:-3600}
  if ! [[ "$lifetime" =~ ^[0-9]{1,6}$ ]] || ((10#$lifetime < 1 || 10#$lifetime > 604800)); then
    die "bad LAB_RESPONDER_LIFETIME '$lifetime' (1..604800 seconds)"
  fi
  lifetime=$((10#$lifetime))
  python=/usr/bin/python3   # the system one: a pyenv shim on PATH costs ~100 ms
  [[ -x "$python" ]] || python=$(command -v python3) || die "python3 not found"
  [[ -r "$RESPONDER_PY" ]] || die "$RESPONDER_PY missing"
  read -r -a extra <<< "${LAB_RESPONDER_OPTS:-}"

  # The addresses come from responder.py itself (one "ADDRESS SCENARIO" per line).
  listing=$("$python" -I "$RESPONDER_PY" "${extra[@]+"${extra[@]}"}" --list) ||
    die "$RESPONDER_PY ${extra[*]} --list failed (bad LAB_RESPONDER_OPTS?)"
  while read -r a _; do [[ -n "$a" ]] && addrs+=("$a"); done <<< "$listing"
  ((${#addrs[@]} > 0)) || die "$RESPONDER_PY --list printed no addresses"

  do_stop   # idempotent: a previous instance from this STATE_DIR goes first

  busy=$(probe_all "${addrs[@]}")
  [[ -z "$busy" ]] ||
    die "already accepting connections on port $PORT: ${busy% } (another lab instance or MTA?); not starting"

  mkdir -p -- "$RD"
  if [[ -e "$LOGFILE" ]]; then mv -f -- "$LOGFILE" "$LOGFILE.prev"; fi
  rm -f -- "$LOGFILE.ready-offset" "$PIDFILE" "$PIDFILE.tmp"
  echo "$PORT" > "$RD/port"

  # --new-session: setsid() in the responder, so it is not killed with the caller's
  # process group; it writes $PIDFILE itself once every address listens.
  "$python" -I "$RESPONDER_PY" "${extra[@]+"${extra[@]}"}" --port "$PORT" --lifetime "$lifetime" \
    --pid-file "$PIDFILE" --new-session </dev/null >>"$LOGFILE" 2>&1 9>&- &
  pid=$!

  deadline=$(($(now_ms) + READY_DEADLINE_MS))
  for ((i = 0; i < 1000 && $(now_ms) < deadline; i++)); do
    [[ -s "$PIDFILE" && "$(tr -dc '0-9' < "$PIDFILE")" == "$pid" ]] && break
    proc_alive "$pid" || fail_start "responder (pid $pid) exited during start-up"
    sleep 0.01
  done
  [[ -s "$PIDFILE" ]] || fail_start "responder (pid $pid) wrote no pid file within $READY_DEADLINE_MS ms"

  pending=("${addrs[@]}")
  for ((i = 0; i < READY_TRIES && ${#pending[@]} > 0 && $(now_ms) < deadline; i++)); do
    is_ours "$pid" || fail_start "responder (pid $pid) exited during start-up"
    ok=" $(probe_all "${pending[@]}") "
    next=()
    for a in "${pending[@]}"; do
      [[ "$ok" == *" $a "* ]] || next+=("$a")
    done
    pending=("${next[@]+"${next[@]}"}")
    ((${#pending[@]} == 0)) || sleep 0.05
  done
  ((${#pending[@]} == 0)) ||
    fail_start "no TCP connection to: ${pending[*]} (port $PORT) after $i rounds, $(($(now_ms) - t0)) ms"

  # Each readiness probe (and each busy-port probe of a later start) logs an "open" and
  # a "close" line. Wait (bounded) until they are in the log, then record the byte offset
  # so tests can look at their own lines only: tail -c +$((OFFSET+1)) responder.log
  for ((i = 0; i < 40; i++)); do
    n=$(grep -c ' close ' "$LOGFILE" 2>/dev/null || true)
    ((${n:-0} >= ${#addrs[@]})) && break
    sleep 0.025
  done
  stat -c %s "$LOGFILE" > "$LOGFILE.ready-offset"

  log "up: pid $pid, port $PORT, ${#addrs[@]} addresses (${addrs[0]}-${addrs[-1]}), lifetime ${lifetime} s, log $LOGFILE ($(($(now_ms) - t0)) ms)"
}

cmd_status() {
  [[ -n "${RD:-}" && -d "$RD" ]] || { log "not running (no $1/responder)"; exit 3; }
  local -a pids=()
  mapfile -t pids < <(instance_pids)   # also finds one whose pid file was lost
  if ((${#pids[@]} > 0)); then
    log "running: pid ${pids[*]}, port $(cat "$RD/port" 2>/dev/null || echo '?'), log $LOGFILE"
    exit 0
  fi
  log "not running ($RD)"
  exit 3
}

# Serialise start/stop on one STATE_DIR (fd 9 is closed for the responder).
lock_state() {
  mkdir -p -- "$RD"
  exec 9>"$RD/.lock"
  flock -w 30 9 || die "another responder.sh holds $RD/.lock for more than 30 s"
}

# --- main ----------------------------------------------------------------------------
(($# >= 2)) || usage
CMD=$1
case "$CMD" in
  start)
    (($# <= 3)) || usage
    PORT=${3:-25}
    set_paths "$2" 1
    lock_state
    cmd_start
    ;;
  stop)
    (($# == 2)) || usage
    set_paths "$2" 0
    t0=$(now_ms)
    if [[ -n "$RD" && -d "$RD" ]]; then lock_state; fi
    do_stop
    log "stopped ($(($(now_ms) - t0)) ms)"
    ;;
  status)
    (($# == 2)) || usage
    set_paths "$2" 0
    cmd_status "$2"
    ;;
  *) usage ;;
esac
