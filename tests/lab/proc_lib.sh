# shellcheck shell=bash
# Process helpers the lab's server scripts share (dns.sh, unbound.sh, exim.sh, aiosmtpd.sh,
# mta_sts.sh): sourced, not run.
# They find a lab server by its command line rather than by a PID file alone, so a server that a
# crashed run left behind is still found and stopped. Callers define log() and die() and set
# STOP_TRIES (SIGTERM wait, in 50 ms steps).

# True if PID is a live process (not a zombie).
proc_alive() {
  local stat=""
  { IFS= read -r stat < "/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ -n "$stat" && "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# True if any of the PIDs is alive.
any_alive() { local p; for p in "$@"; do proc_alive "$p" && return 0; done; return 1; }

# PIDs (one per line) of live processes whose command line has both ARG and PROGRAM as whole
# arguments, e.g. a config or PID file path and the server's binary or script.
pids_with_args() {
  local arg=$1 program=$2 f pid
  while IFS= read -r f; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || continue
    proc_alive "$pid" || continue
    tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$program" && echo "$pid"
  done < <(grep -lzxF -- "$arg" /proc/[0-9]*/cmdline 2>/dev/null || true)
}

# Stops the PIDs: SIGTERM, up to STOP_TRIES x 50 ms, then SIGKILL. NAME is for the log.
stop_pids() {
  local name=$1 i
  shift
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < STOP_TRIES; i++)); do any_alive "$@" || break; sleep 0.05; done
  if any_alive "$@"; then
    log "$name $* still alive $((STOP_TRIES * 50 / 1000)) s after SIGTERM, sending SIGKILL"
    kill -KILL "$@" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do any_alive "$@" || break; sleep 0.05; done
    ! any_alive "$@" || die "$name $* still alive after SIGKILL"
  fi
}
