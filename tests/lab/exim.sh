#!/usr/bin/env bash
# Exim 4.96 for the smtp_exporter test lab: unpacked from Debian's exim4-daemon-light, never
# installed (it conflicts with the installed Postfix as a package), run in a private mount
# namespace so that nothing on the host changes.
#
#   tests/lab/exim.sh fetch                      download + unpack the .deb (needs apt-get update)
#   tests/lab/exim.sh start  STATE_DIR [PORT]    (PORT defaults to 25)
#   tests/lab/exim.sh stop   STATE_DIR
#   tests/lab/exim.sh status STATE_DIR           (exit 0 running, 3 stopped)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
# The unpacked tree lives in LAB_EXIM_ROOT (default: .lab/pkgs/exim4 in the source tree); it needs
# the libraries of the package's Depends (libidn12, libgnutls-dane0: scripts/dev.sh installs them).
# Everything else lives in STATE_DIR/exim/: exim.conf, names, tls/, spool/, log/mainlog,
# exim.pid (written by Exim), daemon.pid (ours), etc/ (passwd, group, resolv.conf seen by Exim),
# mainlog.ready-offset. See tests/lab/README.md, "Exim".
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
readonly EXIM_ROOT=${LAB_EXIM_ROOT:-$(dirname "$(dirname "$SCRIPT_DIR")")/.lab/pkgs/exim4}
readonly EXIM_BIN=$EXIM_ROOT/usr/sbin/exim4
# Exim's compiled-in user. It exists only in the private passwd/group the daemon sees.
readonly EXIM_USER=Debian-exim
readonly EXIM_UID=${LAB_EXIM_UID:-64925}
readonly ADDRESSES=(127.0.0.40 127.0.0.41 127.0.0.42 127.0.0.43 127.0.0.44
                    127.0.0.45 127.0.0.46 127.0.0.47 127.0.0.48 127.0.0.49)
# Exim's resolver (helo_verify_hosts) asks this address, where nothing listens on port 53: every
# lookup fails at once and stays on loopback.
readonly DEAD_NAMESERVER=127.0.0.39
readonly READY_TRIES=100   # x 50 ms
readonly STOP_TRIES=100    # x 50 ms = 5 s after SIGTERM, then SIGKILL

log() { printf 'exim.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=tests/lab/proc_lib.sh
source "$SCRIPT_DIR/proc_lib.sh"
usage() {
  cat >&2 <<'USAGE'
usage: exim.sh fetch
       exim.sh start  STATE_DIR [PORT]
       exim.sh stop   STATE_DIR
       exim.sh status STATE_DIR
USAGE
  exit 2
}

set_paths() {
  [[ -n "$1" ]] || die "STATE_DIR must not be empty"
  mkdir -p -- "$1"
  STATE=$(cd -- "$1" && pwd -P)
  ED=$STATE/exim
  PIDFILE=$ED/daemon.pid
}

# PIDs of every Exim process of this STATE_DIR: the daemon and the per-session children it
# forked, all started with "-C $ED/exim.conf".
instance_pids() { pids_with_args "$ED/exim.conf" "$EXIM_BIN"; }

do_stop() {
  # No early return for a missing state folder: a crashed run's server is found by its command
  # line.
  local -a pids=()
  mapfile -t pids < <(instance_pids)
  stop_pids exim "${pids[@]}"
  rm -f -- "$PIDFILE"
}

# The daemon sees private copies of passwd/group (with Exim's user) and resolv.conf; the
# host's files are untouched because the bind mounts exist only in this mount namespace.
in_namespace() {
  # shellcheck disable=SC2016  # $1 and $@ belong to the inner sh
  unshare -m --propagation private sh -c '
    mount --bind "$1/etc/passwd" /etc/passwd &&
    mount --bind "$1/etc/group" /etc/group &&
    mount --bind "$1/etc/resolv.conf" /etc/resolv.conf &&
    shift && exec "$@"' exim-lab "$ED" "$@"
}

listening() {   # every address has a listener on PORT (reads the socket table, connects to nothing)
  local table a
  table=$(ss -Hltn 2>/dev/null) || return 1
  for a in "${ADDRESSES[@]}"; do
    grep -qF " $a:$PORT " <<<"$table" || return 1
  done
}

fail_start() {
  log "ERROR: $*"
  for f in "$ED/daemon.out" "$ED/log/mainlog" "$ED/log/paniclog"; do
    if [[ -s "$f" ]]; then log "---- tail of $f ----"; tail -n 20 -- "$f" >&2; fi
  done
  do_stop || true
  exit 1
}

cmd_fetch() {
  if [[ -x "$EXIM_BIN" ]]; then
    check_libraries
    log "already unpacked: $EXIM_BIN"
    return 0
  fi
  local dl
  dl=$(mktemp -d /tmp/smtpx-exim-fetch.XXXXXX)
  # apt-get download writes into the current directory; _apt cannot write a mktemp dir.
  chmod 755 "$dl"
  ( cd "$dl" && apt-get download -q exim4-daemon-light ) >&2 || { rm -rf "$dl"; die "apt-get download exim4-daemon-light failed (run apt-get update first)"; }
  mkdir -p -- "$EXIM_ROOT"
  dpkg-deb -x "$dl"/exim4-daemon-light_*.deb "$EXIM_ROOT" || { rm -rf "$dl"; die "dpkg-deb -x failed"; }
  rm -rf "$dl"
  [[ -x "$EXIM_BIN" ]] || die "no $EXIM_BIN in the package"
  check_libraries
  log "unpacked into $EXIM_ROOT"
}

# The package's Depends are not installed by dpkg-deb -x: name any library the binary misses.
check_libraries() {
  local missing
  missing=$(ldd "$EXIM_BIN" 2>&1 | grep 'not found' || true)
  [[ -z "$missing" ]] || die "$EXIM_BIN misses libraries (scripts/dev.sh installs them): $missing"
}

cmd_start() {
  [[ $(id -u) == 0 ]] || die "needs root (mount namespace, port $PORT)"
  [[ -x "$EXIM_BIN" ]] || die "no Exim at $EXIM_BIN: run 'tests/lab/exim.sh fetch' (scripts/dev.sh deps does)"
  check_libraries
  if getent passwd "$EXIM_UID" >/dev/null || getent group "$EXIM_UID" >/dev/null; then
    die "uid/gid $EXIM_UID is taken on this host; set LAB_EXIM_UID to a free one"
  fi
  do_stop
  # One look at the socket table (no connection, so no server logs a probe): is any of our
  # addresses already taken on PORT (another STATE_DIR, an MTA)?
  local a table
  table=$(ss -Hltn 2>/dev/null) || die "ss (iproute2) failed"
  for a in "${ADDRESSES[@]}"; do
    if grep -qF " $a:$PORT " <<<"$table"; then die "$a:$PORT already has a listener"; fi
  done
  rm -rf -- "$ED"
  mkdir -p -- "$ED"/{etc,tls,spool,log}
  cp /etc/passwd "$ED/etc/passwd"; cp /etc/group "$ED/etc/group"
  printf '%s:x:%s:%s:Exim lab:/nonexistent:/usr/sbin/nologin\n' "$EXIM_USER" "$EXIM_UID" "$EXIM_UID" >> "$ED/etc/passwd"
  printf '%s:x:%s:\n' "$EXIM_USER" "$EXIM_UID" >> "$ED/etc/group"
  printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DEAD_NAMESERVER" > "$ED/etc/resolv.conf"
  ( umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 \
      -keyout "$ED/tls/key.pem" -out "$ED/tls/cert.pem" -subj /CN=mx-ex-good.lab.test \
      -addext subjectAltName=DNS:mx-ex-good.lab.test >"$ED/tls/openssl.out" 2>&1 ) \
    || fail_start "openssl req failed: $(cat "$ED/tls/openssl.out")"
  # The TLS key must be readable by Exim's user: given -C, the daemon drops root once its
  # ports are bound, and reads the key as Debian-exim ("454 TLS currently unavailable"
  # otherwise; LAB-NOTES §3).
  chmod 644 "$ED/tls/cert.pem"; chmod 640 "$ED/tls/key.pem"; chgrp "$EXIM_UID" "$ED/tls/key.pem"
  sed -e "s|@DIR@|$ED|g" -e "s|@PORT@|$PORT|g" "$SCRIPT_DIR/exim/exim.conf.in" > "$ED/exim.conf"
  cp "$SCRIPT_DIR/exim/names" "$ED/names"
  chmod 644 "$ED/exim.conf" "$ED/names"
  chown -R "$EXIM_UID:$EXIM_UID" "$ED/spool" "$ED/log"
  # Exim's user must reach the spool and the key: every directory above them must be searchable.
  local d=$ED
  while [[ "$d" != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  local check
  check=$(in_namespace "$EXIM_BIN" -C "$ED/exim.conf" -bV 2>&1) || fail_start "exim -bV rejects the config: $check"
  # A simple command in the background, so $! is the daemon itself: setsid (no fork, a
  # background job is no group leader: own session, it outlives the caller's process group)
  # execs unshare, which execs sh, which execs Exim. fd 9 (our lock) is not inherited.
  # shellcheck disable=SC2016  # $1 and $@ belong to the inner sh
  setsid unshare -m --propagation private sh -c '
    mount --bind "$1/etc/passwd" /etc/passwd &&
    mount --bind "$1/etc/group" /etc/group &&
    mount --bind "$1/etc/resolv.conf" /etc/resolv.conf &&
    shift && exec "$@"' exim-lab "$ED" "$EXIM_BIN" -C "$ED/exim.conf" -bdf \
    </dev/null >"$ED/daemon.out" 2>&1 9>&- &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  local i
  for ((i = 0; i < READY_TRIES; i++)); do
    proc_alive "$pid" || fail_start "exim exited during start-up"
    if [[ -s "$ED/log/mainlog" ]] && grep -q 'daemon started' "$ED/log/mainlog" && listening; then
      stat -c %s "$ED/log/mainlog" > "$ED/mainlog.ready-offset"
      echo "$PORT" > "$ED/port"
      log "exim $pid listening on ${ADDRESSES[*]} port $PORT"
      return 0
    fi
    sleep 0.05
  done
  fail_start "exim not listening on every address within $((READY_TRIES * 50)) ms"
}

cmd="${1:-}"
case "$cmd" in
  fetch) [[ $# == 1 ]] || usage; cmd_fetch ;;
  start)
    [[ $# == 2 || $# == 3 ]] || usage
    PORT=${3:-25}
    [[ "$PORT" =~ ^[0-9]+$ ]] || usage
    set_paths "$2"
    exec 9>"$STATE/.exim.lock"; flock 9
    cmd_start ;;
  stop)
    [[ $# == 2 ]] || usage
    set_paths "$2"
    exec 9>"$STATE/.exim.lock"; flock 9
    do_stop ;;
  status)
    [[ $# == 2 ]] || usage
    set_paths "$2"
    [[ -n "$(instance_pids)" ]] || exit 3 ;;
  *) usage ;;
esac
