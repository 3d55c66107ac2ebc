#!/usr/bin/env bash
# MTA-STS policy server (tests/lab/mta_sts_server.py: python3 http.server + ssl) for the
# smtp_exporter test lab.
#
#   tests/lab/mta_sts.sh start  STATE_DIR [PORT]   (PORT defaults to 443)
#   tests/lab/mta_sts.sh stop   STATE_DIR
#   tests/lab/mta_sts.sh status STATE_DIR          (exit 0 running, 3 stopped)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
# Files in STATE_DIR/mta_sts/: server.pid (written by the server once both addresses listen),
# server.out (its request log), tls/ca.crt (the lab CA to trust: --mta-sts-ca-file),
# tls/good.crt (names every mta-sts.* lab host served on 127.0.0.84), tls/wrong.crt (same CA,
# another name, served on 127.0.0.85). 127.0.0.86 (mta-sts.stsnofetch.lab.test) has no server.
# LAB_MTA_STS_LIFETIME (seconds, default 3600): the server exits by itself after it.
# See tests/lab/README.md, "MTA-STS policy server".
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly SERVER_PY=$SCRIPT_DIR/mta_sts_server.py
readonly ADDRESSES=(127.0.0.84 127.0.0.85)
readonly GOOD_NAMES="DNS:mta-sts.stsgood.lab.test,DNS:mta-sts.stsbadpolicy.lab.test,DNS:mta-sts.stsnotcovered.lab.test,DNS:mta-sts.stsnotls.lab.test,DNS:mta-sts.stsredirect.lab.test"
readonly READY_TRIES=200   # x 50 ms = 10 s
readonly STOP_TRIES=100    # x 50 ms = 5 s after SIGTERM, then SIGKILL

log() { printf 'mta_sts.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=tests/lab/proc_lib.sh
source "$SCRIPT_DIR/proc_lib.sh"
usage() { echo "usage: mta_sts.sh start STATE_DIR [PORT] | stop STATE_DIR | status STATE_DIR" >&2; exit 2; }

set_paths() {
  [[ -n "$1" ]] || die "STATE_DIR must not be empty"
  mkdir -p -- "$1"
  STATE=$(cd -- "$1" && pwd -P)
  MD=$STATE/mta_sts
  PIDFILE=$MD/server.pid
}

# The server of this STATE_DIR: its command line names our script and our PID file.
instance_pids() { pids_with_args "$PIDFILE" "$SERVER_PY"; }

do_stop() {
  local -a pids=()
  mapfile -t pids < <(instance_pids)
  stop_pids mta_sts "${pids[@]}"
  rm -f -- "$PIDFILE" "$PIDFILE.tmp"
}

fail_start() {
  log "ERROR: $*"
  [[ -s "$MD/server.out" ]] && { log "---- tail of $MD/server.out ----"; tail -n 20 -- "$MD/server.out" >&2; }
  do_stop || true
  exit 1
}

# P-256 keys: the lab CA, a leaf for the good names, a leaf for a name no policy host has.
make_certs() {
  local dir=$1
  ( set -e
    cd "$dir"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
    key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=smtp_exporter lab MTA-STS CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -out ca.crt
    leaf() {  # leaf NAME SUBJECT_ALT_NAMES
      key "$1.key"
      openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
      printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 \
        -extfile "$1.ext" -out "$1.crt"
      rm -f "$1.csr" "$1.ext"
    }
    leaf good "$GOOD_NAMES"
    leaf wrong "DNS:somewhere-else.lab.test"
    chmod 644 ./*.crt ./*.key ) >"$dir/openssl.out" 2>&1
}

cmd_start() {
  do_stop
  local a table
  table=$(ss -Hltn 2>/dev/null) || die "ss (iproute2) failed"
  for a in "${ADDRESSES[@]}"; do
    if grep -qF " $a:$PORT " <<<"$table"; then die "$a:$PORT already has a listener"; fi
  done
  rm -rf -- "$MD"
  mkdir -p -- "$MD/tls"
  make_certs "$MD/tls" || fail_start "openssl failed: $(cat "$MD/tls/openssl.out")"
  setsid /usr/bin/python3 -I "$SERVER_PY" --port "$PORT" --tls-dir "$MD/tls" \
    --lifetime "${LAB_MTA_STS_LIFETIME:-3600}" --pid-file "$PIDFILE" \
    </dev/null >"$MD/server.out" 2>&1 9>&- &
  local pid=$! i
  for ((i = 0; i < READY_TRIES; i++)); do
    proc_alive "$pid" || fail_start "the policy server exited during start-up"
    if [[ -s "$PIDFILE" ]]; then
      echo "$PORT" > "$MD/port"
      log "policy server $pid listening on ${ADDRESSES[*]} port $PORT"
      return 0
    fi
    sleep 0.05
  done
  fail_start "no PID file within $((READY_TRIES * 50)) ms"
}

case "${1:-}" in
  start)
    [[ $# == 2 || $# == 3 ]] || usage
    PORT=${3:-443}
    [[ "$PORT" =~ ^[0-9]+$ ]] || usage
    set_paths "$2"
    exec 9>"$STATE/.mta_sts.lock"; flock 9
    cmd_start ;;
  stop)
    [[ $# == 2 ]] || usage
    set_paths "$2"
    exec 9>"$STATE/.mta_sts.lock"; flock 9
    do_stop ;;
  status)
    [[ $# == 2 ]] || usage
    set_paths "$2"
    [[ -n "$(instance_pids)" ]] || exit 3 ;;
  *) usage ;;
esac
