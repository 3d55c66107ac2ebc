#!/usr/bin/env bash
# aiosmtpd (tests/lab/aiosmtpd_lab.py, Debian's python3-aiosmtpd) for the smtp_exporter test lab.
#
#   tests/lab/aiosmtpd.sh start  STATE_DIR [PORT]   (PORT defaults to 25)
#   tests/lab/aiosmtpd.sh stop   STATE_DIR
#   tests/lab/aiosmtpd.sh status STATE_DIR          (exit 0 running, 3 stopped)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
# Files in STATE_DIR/aiosmtpd/: server.pid (written by the server once every address listens),
# sessions.log (its session log), server.out (stdout/stderr), tls/. LAB_AIOSMTPD_LIFETIME
# (seconds, default 3600): the server exits by itself after it. See tests/lab/README.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly SERVER_PY=$SCRIPT_DIR/aiosmtpd_lab.py
readonly ADDRESSES=(127.0.0.60 127.0.0.61 127.0.0.62 127.0.0.63 127.0.0.70 127.0.0.71 127.0.0.72 127.0.0.73)
# The message submission listeners (RFC 8314) on real ports: starting needs root, as the
# integration tests run.
readonly SUBMISSION_LISTENERS=(127.0.0.70:587 127.0.0.70:465 127.0.0.71:587 127.0.0.71:465
                               127.0.0.72:587 127.0.0.73:587 127.0.0.73:465)
readonly READY_TRIES=200   # x 50 ms = 10 s
readonly STOP_TRIES=100    # x 50 ms = 5 s after SIGTERM, then SIGKILL

log() { printf 'aiosmtpd.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=tests/lab/proc_lib.sh
source "$SCRIPT_DIR/proc_lib.sh"
usage() { echo "usage: aiosmtpd.sh start STATE_DIR [PORT] | stop STATE_DIR | status STATE_DIR" >&2; exit 2; }

set_paths() {
  [[ -n "$1" ]] || die "STATE_DIR must not be empty"
  mkdir -p -- "$1"
  STATE=$(cd -- "$1" && pwd -P)
  AD=$STATE/aiosmtpd
  PIDFILE=$AD/server.pid
}

# The server of this STATE_DIR: its command line names our script and our PID file.
instance_pids() { pids_with_args "$PIDFILE" "$SERVER_PY"; }

do_stop() {
  # No early return for a missing state folder: a crashed run's server is found by its command
  # line.
  local -a pids=()
  mapfile -t pids < <(instance_pids)
  stop_pids aiosmtpd "${pids[@]}"
  rm -f -- "$PIDFILE" "$PIDFILE.tmp"
}

fail_start() {
  log "ERROR: $*"
  [[ -s "$AD/server.out" ]] && { log "---- tail of $AD/server.out ----"; tail -n 20 -- "$AD/server.out" >&2; }
  do_stop || true
  exit 1
}

cmd_start() {
  /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null \
    || die "python3-aiosmtpd is not installed (scripts/dev.sh deps installs it)"
  do_stop
  # One look at the socket table (no connection, so no server logs a probe): is any of our
  # addresses already taken on PORT (another STATE_DIR, an MTA)?
  local a table
  table=$(ss -Hltn 2>/dev/null) || die "ss (iproute2) failed"
  for a in "${ADDRESSES[@]}"; do
    if grep -qF " $a:$PORT " <<<"$table"; then die "$a:$PORT already has a listener"; fi
  done
  for a in "${SUBMISSION_LISTENERS[@]}"; do
    if grep -qF " $a " <<<"$table"; then die "$a already has a listener"; fi
  done
  rm -rf -- "$AD"
  mkdir -p -- "$AD/tls"
  ( umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 \
      -keyout "$AD/tls/key.pem" -out "$AD/tls/cert.pem" -subj /CN=mx-aio-good.lab.test \
      -addext subjectAltName=DNS:mx-aio-good.lab.test >"$AD/tls/openssl.out" 2>&1 ) \
    || fail_start "openssl req failed: $(cat "$AD/tls/openssl.out")"
  # Debian's python3 in isolated mode (-I): a pyenv/venv python3 on PATH may lack aiosmtpd.
  setsid /usr/bin/python3 -I "$SERVER_PY" --port "$PORT" \
    --lifetime "${LAB_AIOSMTPD_LIFETIME:-3600}" --pid-file "$PIDFILE" \
    --log "$AD/sessions.log" --cert "$AD/tls/cert.pem" --key "$AD/tls/key.pem" \
    </dev/null >"$AD/server.out" 2>&1 9>&- &
  local pid=$! i
  for ((i = 0; i < READY_TRIES; i++)); do
    proc_alive "$pid" || fail_start "aiosmtpd exited during start-up"
    if [[ -s "$PIDFILE" ]]; then
      echo "$PORT" > "$AD/port"
      log "aiosmtpd $pid listening on ${ADDRESSES[*]} port $PORT"
      return 0
    fi
    sleep 0.05
  done
  fail_start "no PID file within $((READY_TRIES * 50)) ms"
}

case "${1:-}" in
  start)
    [[ $# == 2 || $# == 3 ]] || usage
    PORT=${3:-25}
    [[ "$PORT" =~ ^[0-9]+$ ]] || usage
    set_paths "$2"
    exec 9>"$STATE/.aiosmtpd.lock"; flock 9
    cmd_start ;;
  stop)
    [[ $# == 2 ]] || usage
    set_paths "$2"
    exec 9>"$STATE/.aiosmtpd.lock"; flock 9
    do_stop ;;
  status)
    [[ $# == 2 ]] || usage
    set_paths "$2"
    [[ -n "$(instance_pids)" ]] || exit 3 ;;
  *) usage ;;
esac
