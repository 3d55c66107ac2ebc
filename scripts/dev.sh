#!/usr/bin/env bash
# Developer entry point: the README's two commands call this.
#   scripts/dev.sh run    install what is missing, build, start the offline lab, probe it
#   scripts/dev.sh test   install what is missing, build (warnings as errors), run every test,
#                         then again under AddressSanitizer + UndefinedBehaviorSanitizer, then
#                         every libFuzzer target of tests/fuzz/ for a few seconds
#   scripts/dev.sh fuzz [SECONDS]   build the fuzz targets (clang) and run each for SECONDS
#                         (default 600): the longer run; needs what `deps` installs, not root
#   scripts/dev.sh deps | build
# Needs root (apt-get, Postfix on 127.0.0.x:25): run it as root, or as a user with sudo, for
# whom it re-runs itself through sudo.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

# Build and test dependencies, all from Debian 12. Postfix, Knot and dig are the lab's real
# servers; prometheus gives promtool; nlohmann-json writes the JSON output; chromium is the
# browser the HTML report tests drive (through playwright-core, never a downloaded browser).
PACKAGES=(
  build-essential cmake pkg-config ca-certificates openssl
  libssl-dev libc-ares-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev zlib1g-dev
  prometheus-cpp-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev
  postfix libsasl2-modules knot knot-dnsutils dnsutils iproute2 python3 procps
  unbound  # the lab's validating resolver (tests/lab/unbound.sh) in front of the signed zone
  prometheus chromium fonts-dejavu-core
  python3-yaml systemd  # tests/dashboards, tests/deploy: YAML parsing, systemd-analyze verify
  # tests/fuzz/: clang 14 and its libFuzzer runtime (libclang-rt-14-dev, only recommended by
  # clang, so named here); llvm brings llvm-symbolizer for readable sanitizer stack traces.
  clang libclang-rt-14-dev llvm
  # Other real MTAs in the lab (tests/lab/README.md): aiosmtpd, and the libraries the unpacked
  # Exim 4.96 links against (exim4-daemon-light itself conflicts with postfix: see deps()).
  python3-aiosmtpd util-linux libidn12 libgnutls-dane0 libgnutls30 libidn2-0 libdb5.3 libnsl2
  libpcre2-8-0 libcrypt1
)

as_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      exec sudo -E bash "$0" "$@"
    fi
    echo "dev.sh: run as root (installs packages and binds 127.0.0.x:25)" >&2
    exit 1
  fi
}

deps() {
  echo "== installing packages (apt-get update first)"
  apt-get update -q
  # Postfix asks a debconf question at install time; "No configuration" leaves /etc alone:
  # the lab runs its own instance from a private config directory.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
  # Exim conflicts with Postfix as a Debian package: download its .deb and unpack it into
  # .lab/pkgs/exim4 (never installed; the lab runs it in a private mount namespace).
  "$ROOT/tests/lab/exim.sh" fetch
  node_tools
}

# Test-only tools from npm (tests/node/package.json, pinned by its lock file): TypeScript and
# @grafana/schema type-check the dashboard, playwright-core drives Debian's chromium. They run on
# Node.js 18 (Debian 12's own nodejs) and newer; playwright-core is pinned to 1.61.1, the last
# release whose `engines` accepts Node 18. A machine's own Node is used only when it is 18 or
# newer and brings npm; otherwise Debian's nodejs + npm are installed, so nothing depends on
# what a machine happens to have.
NODE_MIN_MAJOR=18

node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -e 'process.stdout.write(String(process.versions.node.split(".")[0]))' 2>/dev/null || echo 0
}

node_tools() {
  if [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ] || ! command -v npm >/dev/null 2>&1; then
    echo "== installing Debian's nodejs + npm (no usable Node.js >= $NODE_MIN_MAJOR with npm found)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
  fi
  if [ "$(node_major)" -lt "$NODE_MIN_MAJOR" ]; then
    echo "dev.sh: Node.js >= $NODE_MIN_MAJOR is needed for the test tools; found $(node --version 2>&1)" >&2
    exit 1
  fi
  echo "== installing test tools from npm (tests/node) with Node.js $(node --version)"
  (cd "$ROOT/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
}

build() {
  local dir=$1; shift
  echo "== building in $dir $*"
  cmake -S "$ROOT" -B "$ROOT/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMTP_EXPORTER_WERROR=ON "$@"
  cmake --build "$ROOT/$dir" -j "$JOBS"
}

# The libFuzzer targets (tests/fuzz/): clang, in build-fuzz, away from the g++ builds. Only the
# libraries the targets link are built. -O1 and line tables only: quick to build, still fast
# to run, and stack traces keep file:line.
fuzz_build() {
  echo "== building build-fuzz (clang: libFuzzer + ASan + UBSan, tests/fuzz/)"
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DBUILD_TESTING=OFF \
    -DSMTP_EXPORTER_FUZZ=ON
  cmake --build "$ROOT/build-fuzz" -j "$JOBS" --target fuzz_targets
}

# Every fuzz target replays its seed corpus, then fuzzes for $1 seconds; any crash, sanitizer
# report or violated invariant fails (tests/fuzz/run.sh).
fuzz_run() {
  echo "== fuzzing: every target of tests/fuzz/ for $1 s"
  FUZZ_PARALLEL="$JOBS" "$ROOT/tests/fuzz/run.sh" "$ROOT/build-fuzz" "$1"
}

run_tests() {
  local dir=$1
  echo "== testing $dir"
  # --no-tests=error: an empty test list is a failure, never a silent pass.
  ctest --test-dir "$ROOT/$dir" --output-on-failure --no-tests=error
}

cmd_test() {
  deps
  build build
  run_tests build
  build build-asan -DSMTP_EXPORTER_SANITIZE=address,undefined
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 run_tests build-asan
  # ThreadSanitizer for the concurrent parts: a TSan build's unit_tests holds only their suites
  # (SMTP_EXPORTER_CONCURRENT_UNIT_TESTS in tests/CMakeLists.txt says which and why), all run.
  echo "== building build-tsan (the concurrent parts' unit tests)"
  cmake -S "$ROOT" -B "$ROOT/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSMTP_EXPORTER_WERROR=ON -DSMTP_EXPORTER_SANITIZE=thread
  cmake --build "$ROOT/build-tsan" -j "$JOBS" --target unit_tests
  TSAN_OPTIONS=halt_on_error=1 "$ROOT/build-tsan/tests/unit_tests"
  # A short fuzz of every parser of network or config input: 10 s each, $JOBS at a time.
  fuzz_build
  fuzz_run 10
  echo "== all tests passed"
}

cmd_run() {
  deps
  build build
  local state="$ROOT/.lab"
  mkdir -p "$state"
  trap '"$ROOT/tests/lab/responder.sh" stop "$state" || true; "$ROOT/tests/lab/postfix.sh" stop "$state" || true; "$ROOT/tests/lab/dns.sh" stop "$state" || true' EXIT
  "$ROOT/tests/lab/dns.sh" start "$state" 15353
  "$ROOT/tests/lab/postfix.sh" start "$state" 25
  "$ROOT/tests/lab/responder.sh" start "$state" 25
  echo
  echo "== the offline lab is up: Knot serves lab.test on 127.0.0.1:15353, one real Postfix"
  echo "== listens on 127.0.0.x:25 with one listener per failure mode, and a scripted responder"
  echo "== plays what Postfix cannot (HELO-only, 554 greeting, greylisting, ...; tests/lab/README.md)."
  echo "== smtp_exporter checks every lab domain (first results within a minute):"
  echo "==   http://127.0.0.1:10125/          every domain, worst first, with its report"
  echo "==   http://127.0.0.1:10125/metrics   what Prometheus scrapes"
  echo "== Ctrl-C stops the exporter and the lab."
  echo
  "$ROOT/build/exporter/smtp_exporter" --config.file "$ROOT/tests/lab/smtp_exporter.lab.yml" \
    --web.listen-address 127.0.0.1:10125 || true
}

main() {
  local command=${1:-}
  case "$command" in
    deps) as_root "$@"; deps ;;
    build) build build ;;
    test) as_root "$@"; cmd_test ;;
    run) as_root "$@"; cmd_run ;;
    fuzz) fuzz_build; fuzz_run "${2:-600}" ;;
    *) echo "usage: $0 run|test|deps|build|fuzz [SECONDS]" >&2; exit 2 ;;
  esac
}

main "$@"
