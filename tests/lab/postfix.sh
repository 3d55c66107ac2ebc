#!/usr/bin/env bash
# Postfix instance for the smtp_exporter test lab.
#
#   tests/lab/postfix.sh start  STATE_DIR [PORT]   (PORT defaults to 25)
#   tests/lab/postfix.sh stop   STATE_DIR
#   tests/lab/postfix.sh status STATE_DIR          (exit 0 running, 3 stopped)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 (status) not running. Messages go to stderr.
#
# Everything lives in STATE_DIR/postfix/ (config, queue, TLS cert, SASL config,
# maillog). Listeners bind to loopback addresses only (see tests/lab/README.md,
# section "Postfix"). Nothing resolves names through the system resolver and all
# mail is discarded. Environment knobs:
#   LAB_PF_VERBOSE=1   add debug_peer_list for loopback: the maillog then holds
#                      every SMTP command and reply ("< unknown[..]: MAIL FROM:<..>")
set -euo pipefail

TEMPLATE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/postfix" && pwd -P)
readonly MASTER_BIN=/usr/lib/postfix/sbin/master
readonly POSTFIX_SBIN_DIR=/usr/lib/postfix/sbin
# Every smtpd listener, in master.cf order. Keep in sync with postfix/master.cf.in.
# LAB_PF_MASTER=netns (set by tests/lab/netns.sh, which runs this script inside its mail
# namespace): postfix/master-netns.cf.in and its listeners instead.
# LAB_PF_TEMPLATE_DIR=DIR (generated worlds, e.g. tests/benchmarks/fleet): main.cf.in,
# master.cf.in and smtpd.conf.in from DIR, and the listeners from DIR/listeners, one address a line.
# LAB_PF_READY_DEADLINE_MS (default 10000): how long start waits for every listener's 220.
if [[ -n "${LAB_PF_TEMPLATE_DIR:-}" ]]; then
  TEMPLATE_DIR=$(cd "$LAB_PF_TEMPLATE_DIR" && pwd -P)
  readonly MASTER_TEMPLATE=master.cf.in
  mapfile -t LISTENERS < "$TEMPLATE_DIR/listeners"
  readonly LISTENERS
elif [[ "${LAB_PF_MASTER:-}" == netns ]]; then
  readonly MASTER_TEMPLATE=master-netns.cf.in
  readonly LISTENERS=(198.51.100.2 2001:db8:100::2 198.51.100.10 2001:db8:100::10 2001:db8:100::11
                      198.51.100.12 198.51.100.13 198.51.100.14)
else
  readonly MASTER_TEMPLATE=master.cf.in
  readonly LISTENERS=(127.0.0.2 127.0.0.20 127.0.0.21 ::1 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7)
fi
readonly TEMPLATE_DIR
readonly READY_TRIES=100     # rounds of probes, 50 ms apart ...
readonly READY_DEADLINE_MS=${LAB_PF_READY_DEADLINE_MS:-10000}   # ... and never longer than this in total
readonly STOP_TRIES=100      # x 50 ms = 5 s before SIGKILL

# Parent of master: a child subreaper (prctl PR_SET_CHILD_SUBREAPER) that reaps
# master and every Postfix child orphaned when master exits. Without it they are
# reparented to PID 1, which on these machines (firecracker init) reaps only
# every ~1.5-2 s, so "pgrep -a smtpd" still shows <defunct> entries after stop.
# It writes master's PID to argv[1] and exits once it has no children left.
readonly REAPER_PY='
import ctypes, os, signal, sys
pidfile, argv = sys.argv[1], sys.argv[2:]
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
try:
    os.setsid()
except OSError:
    pass
sigs = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE)
for s in sigs:
    signal.signal(s, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    for s in sigs:
        signal.signal(s, signal.SIG_DFL)
    os.setsid()  # master leads its own session and process group
    os.execv(argv[0], argv)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % pid)
os.replace(pidfile + ".tmp", pidfile)
rc = 0
while True:
    try:
        p, st = os.wait()
    except ChildProcessError:
        break
    if p == pid:
        rc = os.waitstatus_to_exitcode(st)
sys.exit(rc if 0 <= rc < 256 else 1)
'

log() { printf 'postfix.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
  cat >&2 <<'EOF'
usage: postfix.sh start  STATE_DIR [PORT]
       postfix.sh stop   STATE_DIR
       postfix.sh status STATE_DIR
EOF
  exit 2
}
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# --- paths ----------------------------------------------------------------------
# set_paths STATE_DIR create(0|1): sets STATE, PF (= STATE/postfix), CONF and friends.
set_paths() {
  local dir=$1 create=$2
  [[ -n "$dir" ]] || die "STATE_DIR must not be empty"
  if [[ $create == 1 ]]; then
    mkdir -p -- "$dir"
  elif [[ ! -d "$dir" ]]; then
    STATE="" PF="" CONF=""; return 0
  fi
  STATE=$(cd -- "$dir" && pwd -P)
  # The path ends up in main.cf / master.cf / sed replacements: keep it boring.
  [[ "$STATE" =~ ^/[A-Za-z0-9._/+-]*$ ]] ||
    die "STATE_DIR '$STATE' contains characters Postfix config cannot take (allowed: A-Za-z0-9._/+-)"
  PF=$STATE/postfix
  CONF=$PF/etc            # config_directory (kept apart from queue/: "postfix check" scans it)
  PIDFILE=$PF/master.pid
  REAPERPID=$PF/reaper.pid
  MAILLOG=$PF/maillog
}

# --- process helpers ------------------------------------------------------------
proc_alive() {   # alive and not a zombie
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Is PID the master process of *this* instance (cmdline "master -c $CONF ...")?
is_our_master() {
  local pid=$1 cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  proc_alive "$pid" || return 1
  cmd=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == "$MASTER_BIN"$'\n-c\n'"$CONF"$'\n'* ]] && return 0
  # started some other way (postfix -c ... start): master has MAIL_CONFIG in its environment
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$MASTER_BIN" ]] &&
    grep -qzxF "MAIL_CONFIG=$CONF" "/proc/$pid/environ" 2>/dev/null
}

# Master PID of this instance, or nothing. Looks at our pid file first, then at
# Postfix's own queue/pid/master.pid (covers a lost/deleted pid file).
find_master() {
  local pid f
  for f in "$PIDFILE" "$PF/queue/pid/master.pid"; do
    [[ -r "$f" ]] || continue
    pid=$(tr -dc '0-9' < "$f")
    if [[ -n "$pid" ]] && is_our_master "$pid"; then echo "$pid"; return 0; fi
  done
  return 0
}

# Every live Postfix daemon (master, smtpd, qmgr, postlogd, ...) of this instance:
# the binaries live in /usr/lib/postfix/sbin and master exports MAIL_CONFIG=$CONF
# into every child's environment.
instance_pids() {
  local f pid
  while IFS= read -r f; do
    pid=${f#/proc/}; pid=${pid%/environ}
    [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || continue
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$POSTFIX_SBIN_DIR"/* ]] || continue
    proc_alive "$pid" && echo "$pid"
  done < <(grep -lzxF "MAIL_CONFIG=$CONF" /proc/[0-9]*/environ 2>/dev/null || true)
}

# --- SMTP readiness ------------------------------------------------------------------
# smtp_banner ADDR PORT: succeeds if ADDR:PORT accepts a TCP connection and greets
# with "220 ". Sends QUIT so the session ends cleanly in the log.
# IP literals only: bash's /dev/tcp uses getaddrinfo, which does not hit DNS for them.
smtp_banner() {
  local addr=$1 port=$2
  # shellcheck disable=SC2016  # $1/$2 are the inner shell's arguments
  timeout 4 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    IFS= read -r -t 3 -u 3 line || exit 1
    [[ "$line" == "220 "* ]] || exit 1
    printf "QUIT\r\n" >&3
    IFS= read -r -t 1 -u 3 line || true
    exec 3>&-
  ' probe "$addr" "$port" 2>/dev/null
}
# tcp_open ADDR PORT: something accepts connections there
tcp_open() {
  # shellcheck disable=SC2016
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe "$1" "$2" 2>/dev/null
}

# probe_all FUNC ADDR...: run FUNC ADDR $PORT for all addresses in parallel and
# print the addresses for which it succeeded (space separated).
probe_all() {
  local fn=$1 a j; shift
  local -a addrs=("$@") pids=()
  for a in "${addrs[@]}"; do "$fn" "$a" "$PORT" & pids+=($!); done
  for j in "${!pids[@]}"; do
    if wait "${pids[$j]}"; then printf '%s ' "${addrs[$j]}"; fi
  done
}

# --- commands --------------------------------------------------------------------------
# PID of this instance's reaper (python3 running REAPER_PY with our pid file), or nothing.
find_reaper() {
  local pid
  [[ -r "$REAPERPID" ]] || return 0
  pid=$(tr -dc '0-9' < "$REAPERPID")
  [[ -n "$pid" ]] && proc_alive "$pid" || return 0
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$PIDFILE" && echo "$pid"
  return 0
}

pgid_of() { sed -E 's/^[0-9]+ \(.*\) . [0-9]+ ([0-9]+) .*/\1/' "/proc/$1/stat" 2>/dev/null || true; }

# Stop this instance. Postfix's master, on SIGTERM, sends SIGTERM to its process
# group (the children), logs "terminating on signal 15", then sleep(1)s before
# exiting. We do the same group kill ourselves and SIGKILL the master as soon
# as its children are gone (it is only sleeping by then): ~50 ms instead of ~1 s.
# Any straggler of this instance (found through MAIL_CONFIG) is killed too.
do_stop() {   # quiet unless something was running
  [[ -n "${PF:-}" && -d "$PF" ]] || return 0
  local pid i children
  pid=$(find_master)
  if [[ -n "$pid" ]]; then
    if [[ "$(pgid_of "$pid")" == "$pid" ]]; then
      kill -TERM -- "-$pid" 2>/dev/null || true     # master + every child
    else
      kill -TERM "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < STOP_TRIES; i++)); do
      proc_alive "$pid" || break
      children=$(instance_pids | grep -vx "$pid" | tr '\n' ' ' || true)
      if [[ -z "${children// /}" ]] && ((i >= 1)); then
        kill -KILL "$pid" 2>/dev/null || true      # children gone: master only sleeps
      fi
      sleep 0.05
    done
    if proc_alive "$pid"; then
      log "master $pid did not exit within $((STOP_TRIES * 50)) ms, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Children (smtpd in a session, postlogd, ...) normally die with the master;
  # make sure none is left behind.
  local -a left=()
  for ((i = 0; i < 60; i++)); do
    mapfile -t left < <(instance_pids)
    ((${#left[@]} > 0)) || break
    if ((i == 0)); then kill -TERM "${left[@]}" 2>/dev/null || true
    elif ((i >= 20)); then kill -KILL "${left[@]}" 2>/dev/null || true
    fi
    sleep 0.05
  done
  mapfile -t left < <(instance_pids)
  ((${#left[@]} == 0)) || die "processes of $PF still alive: ${left[*]}"
  # The reaper exits by itself once it has reaped everything.
  pid=$(find_reaper)
  if [[ -n "$pid" ]]; then
    for ((i = 0; i < 40; i++)); do
      proc_alive "$pid" || break
      sleep 0.025
    done
    if proc_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f -- "$PIDFILE" "$REAPERPID"
}

# Postfix daemons drop to user "postfix" and then open absolute paths such as
# data_directory/master.lock, so every directory above them must be searchable
# by others (mktemp -d gives 0700). Fix what lies inside STATE_DIR, refuse otherwise.
ensure_traversable() {
  local d=$PF
  while [[ -n "$d" && "$d" != / ]]; do
    if [[ $(( 8#$(stat -c %a -- "$d") & 1 )) == 0 ]]; then
      if [[ "$d" == "$STATE" || "$d" == "$STATE"/* ]]; then
        log "chmod o+x $d (user postfix must traverse it)"
        chmod o+x -- "$d"
      else
        die "$d is not searchable by others; user postfix cannot reach $PF (use a STATE_DIR elsewhere)"
      fi
    fi
    d=$(dirname -- "$d")
  done
  setpriv --reuid=postfix --regid=postfix --clear-groups -- test -w "$PF/data" ||
    die "user postfix cannot write $PF/data"
}

# render TEMPLATE OUT. Postfix's dict_load_file() re-reads a file whose mtime is
# within the last ~2 s every 300 ms until it "settles down" (this made every
# postfix/postconf run in "postfix check" cost +0.3-1.5 s), so the rendered
# files are back-dated by 10 s.
render() {
  sed -e "s|@PFDIR@|$PF|g" -e "s|@CONFDIR@|$CONF|g" -e "s|@PORT@|$PORT|g" "$1" > "$2.tmp"
  touch -d "@$(( $(date +%s) - 10 ))" -- "$2.tmp"
  mv -f -- "$2.tmp" "$2"
}

fail_start() {
  log "ERROR: $*"
  if ! grep -qE 'fatal|warning' "$MAILLOG" 2>/dev/null; then
    log "(master logs fatal errors before its logging is up only to /dev/log, which does not exist"
    log " here; to see them: strace -f -e trace=openat,bind,connect,write $MASTER_BIN -c $CONF -d)"
  fi
  if [[ -s "$MAILLOG" ]]; then
    log "---- tail of $MAILLOG ----"; tail -n 25 -- "$MAILLOG" >&2
  fi
  if [[ -s "$PF/master.out" ]]; then
    log "---- $PF/master.out ----"; tail -n 25 -- "$PF/master.out" >&2
  fi
  do_stop || true
  exit 1
}

cmd_start() {
  local t0 pid reaper i pending next a n expected busy ok deadline
  t0=$(now_ms)
  [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || die "bad PORT '$PORT'"
  PORT=$((10#$PORT))
  ((PORT >= 1 && PORT <= 65535)) || die "bad PORT '$PORT'"
  [[ -x "$MASTER_BIN" ]] || die "$MASTER_BIN not found (apt-get install postfix)"
  PYTHON=/usr/bin/python3   # the system one: a pyenv shim on PATH costs ~100 ms
  [[ -x "$PYTHON" ]] || PYTHON=$(command -v python3) || die "python3 not found"
  for f in main.cf.in "$MASTER_TEMPLATE" smtpd.conf.in; do
    [[ -r "$TEMPLATE_DIR/$f" ]] || die "template $TEMPLATE_DIR/$f missing"
  done

  do_stop   # idempotent: a previous instance from this STATE_DIR goes first

  busy=$(probe_all tcp_open "${LISTENERS[@]}")
  [[ -z "$busy" ]] ||
    die "already accepting connections on port $PORT: ${busy% } (another lab instance or MTA?); not starting"

  mkdir -p -- "$CONF/sasl" "$PF/queue" "$PF/data" "$PF/tls"
  chown postfix "$PF/data"
  ensure_traversable
  render "$TEMPLATE_DIR/main.cf.in" "$CONF/main.cf"
  render "$TEMPLATE_DIR/$MASTER_TEMPLATE" "$CONF/master.cf"
  # Debian's Postfix looks for the Cyrus config in $config_directory/sasl (it
  # ignored cyrus_sasl_config_path when that pointed elsewhere).
  render "$TEMPLATE_DIR/smtpd.conf.in" "$CONF/sasl/smtpd.conf"
  if [[ "${LAB_PF_VERBOSE:-0}" == 1 ]]; then
    printf '%s\n' '# LAB_PF_VERBOSE=1' 'debug_peer_list = 127.0.0.0/8, [::1]/128' 'debug_peer_level = 1' >> "$CONF/main.cf"
    touch -d "@$(( $(date +%s) - 10 ))" -- "$CONF/main.cf"
  fi

  # Self-signed certificate, generated on the first start of this STATE_DIR and
  # reused afterwards (delete STATE_DIR/postfix/tls to get a new one).
  if [[ ! -s "$PF/tls/cert.pem" || ! -s "$PF/tls/key.pem" ]]; then
    ( umask 077
      openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -keyout "$PF/tls/key.pem" -out "$PF/tls/cert.pem" \
        -subj /CN=mx-good.lab.test -addext subjectAltName=DNS:mx-good.lab.test \
        >"$PF/tls/openssl.out" 2>&1 ) || { cat "$PF/tls/openssl.out" >&2; die "openssl req failed"; }
    chmod 644 "$PF/tls/cert.pem"
  fi

  # Fresh maillog per start; keep the previous one for post-mortems.
  if [[ -e "$MAILLOG" ]]; then mv -f -- "$MAILLOG" "$MAILLOG.prev"; fi
  rm -f -- "$PF/maillog.ready-offset"
  : > "$PF/master.out"

  # Creates the queue subdirectories and fixes permissions.
  if ! postfix -c "$CONF" check > "$PF/check.out" 2>&1; then
    cat "$PF/check.out" >&2
    fail_start "postfix -c $CONF check failed"
  fi
  if grep -qE 'fatal|error' "$PF/check.out"; then
    cat "$PF/check.out" >&2
    fail_start "postfix -c $CONF check reported errors"
  fi

  # master -d stays in the foreground under the reaper (see REAPER_PY), in its
  # own session and process group, like a daemon: it is not killed with the
  # caller's process group, and stop can signal the whole instance at once.
  rm -f -- "$PIDFILE" "$REAPERPID"
  printf '%s' "$REAPER_PY" > "$PF/reaper.py"
  "$PYTHON" -I "$PF/reaper.py" "$PIDFILE" "$MASTER_BIN" -c "$CONF" -d \
    </dev/null >>"$PF/master.out" 2>&1 9>&- &
  reaper=$!
  echo "$reaper" > "$REAPERPID"

  deadline=$(($(now_ms) + READY_DEADLINE_MS))
  pid=""
  for ((i = 0; i < 500 && $(now_ms) < deadline; i++)); do   # the reaper writes master's pid
    if [[ -s "$PIDFILE" ]]; then pid=$(tr -dc '0-9' < "$PIDFILE"); break; fi
    proc_alive "$reaper" || fail_start "master launcher (pid $reaper) exited during start-up"
    sleep 0.01
  done
  [[ -n "$pid" ]] || fail_start "master launcher wrote no pid file within $READY_DEADLINE_MS ms"

  pending=("${LISTENERS[@]}")
  for ((i = 0; i < READY_TRIES && ${#pending[@]} > 0 && $(now_ms) < deadline; i++)); do
    proc_alive "$pid" || fail_start "master (pid $pid) exited during start-up"
    ok=" $(probe_all smtp_banner "${pending[@]}") "
    next=()
    for a in "${pending[@]}"; do
      [[ "$ok" == *" $a "* ]] || next+=("$a")
    done
    pending=("${next[@]+"${next[@]}"}")
    ((${#pending[@]} == 0)) || sleep 0.05
  done
  ((${#pending[@]} == 0)) ||
    fail_start "no 220 greeting from: ${pending[*]} (port $PORT) after $i rounds, $(($(now_ms) - t0)) ms"
  is_our_master "$pid" || fail_start "master (pid $pid) exited during start-up"

  # The readiness probes log one "disconnect from unknown[127.0.0.1|::1] quit=1 commands=1"
  # line each. Wait (bounded) until they are in the maillog, then record the byte
  # offset so tests can look at their own lines only: tail -c +$((OFFSET+1)) maillog
  expected=${#LISTENERS[@]}
  for ((i = 0; i < 40; i++)); do
    n=$(grep -c ' disconnect from .* quit=1 commands=1$' "$MAILLOG" 2>/dev/null || true)
    ((${n:-0} >= expected)) && break
    sleep 0.025
  done
  stat -c %s "$MAILLOG" > "$PF/maillog.ready-offset" 2>/dev/null || echo 0 > "$PF/maillog.ready-offset"

  log "up: pid $pid, port $PORT, ${#LISTENERS[@]} listeners, config $CONF, maillog $MAILLOG ($(($(now_ms) - t0)) ms)"
}

cmd_status() {
  [[ -n "${PF:-}" && -d "$PF" ]] || { log "not running (no $1/postfix)"; exit 3; }
  local pid
  pid=$(find_master)
  if [[ -n "$pid" ]]; then
    log "running: pid $pid, config $CONF"
    exit 0
  fi
  log "not running ($PF)"
  exit 3
}

# Serialise start/stop on one STATE_DIR (fd 9 is closed for the daemon).
lock_state() {
  mkdir -p -- "$PF"
  exec 9>"$PF/.lock"
  flock -w 30 9 || die "another postfix.sh holds $PF/.lock for more than 30 s"
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
    if [[ -n "$PF" && -d "$PF" ]]; then lock_state; fi
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
