#!/usr/bin/python3
"""Fleet benchmark: runs smtp_exporter over a generated world of N domains and measures it.

    python3 tests/benchmarks/fleet/fleet_bench.py --build-dir build --domains 1000 [--rtt-ms 50]

One run: generate the world (fleet_world.py) in a fresh /tmp/smtpx-fleet.* work dir, take the
shared lab lock (/tmp/smtpx-lab.lock, the one the integration lab uses), start the lab's Knot
(tests/lab/dns.sh) with the world's zones, one Postfix (tests/lab/postfix.sh) with a listener per
MX address on 127.77.x.y:25, with --rtt-ms the delay proxy (tests/lab/delay_proxy.sh) with one
listener per MX address on 127.77.x.y:2526 in front of it, then the exporter (interval 5m,
defaults otherwise, --log.level debug for its "checked domain=" lines). It measures:
  - first cycle: seconds until every domain has logged its first check (the /metrics count of
    smtp_check_timestamp_seconds series is checked against N afterwards), and the exporter's CPU
    seconds (utime + stime from /proc/PID/stat) until then;
  - RSS (VmRSS) before any scrape, and the peak (VmHWM) over --scrapes plain scrapes of
    /metrics followed by --gzip-scrapes with Accept-Encoding: gzip;
  - /metrics median latency and size, plain and gzip; the series count;
  - the most connections one MX address had at once on the server side: `ss -tan` sampled every
    0.2 s during the cycle, per local address on the Postfix port, every state but LISTEN and
    TIME-WAIT (a session closed by the client but not by the server still holds a slot); with
    the proxy, also the ESTAB connections on the proxy's listeners (what the exporter itself
    holds open: the proxy closes its side one delay after the exporter closed). `ss` lists
    sockets one by one, not atomically, so a sample can hold one session closing and the next
    opening: these are samples, not exact maxima;
  - with the proxy, the exact maxima the proxy counted itself (its --stats-file, read 1.5 s
    after the cycle): client connections open at once per MX address (from its accept until it
    has closed both that socket and its upstream one) and upstream connections open at once per
    MX address (from its connect() to Postfix until it closed it);
  - verdicts: every domain's smtp_domain_status against expect.tsv (healthy kinds 0-2, broken
    kinds 3-4); mismatches are printed, and their count is in the table, with the domains that
    have no result yet counted apart (a cycle cut short by --cycle-limit).
It prints one Markdown table row (and the header), appends it and a JSON line to --results if
given, stops everything it started by PID and removes the work dir (unless --keep). Every wait
is bounded: --cycle-limit for the first cycle, 120 s per scrape, --lock-wait for the lock, and
--rss-limit-mb (default 8000) kills the exporter if its memory runs away.
Needs root (Postfix, as the lab does), knot, postfix, python3, iproute2 (ss).
Traffic stays on 127.0.0.0/8 and ::1.
"""

import argparse
import fcntl
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
LAB = os.path.join(REPO, "tests", "lab")
LOCK = "/tmp/smtpx-lab.lock"
SMTP_PORT = 25
PROXY_PORT = 2526
DNS_PORT = 25453
WEB_PORT = 19325
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHECKED_RE = re.compile(r"checked domain=([^ \"]+) status=([a-z]+) endpoints=[0-9]+ "
                        r"duration=([0-9.]+)s")
PROXY_STATS_DELAY_S = 1.5  # the proxy rewrites its stats at most once a second
STATUS_RE = re.compile(r'^smtp_domain_status\{[^}]*domain="([^"]+)"[^}]*\} ([0-9.e+-]+)$', re.M)
HEADER = ("| N | rtt ms | first cycle s | CPU s | RSS MB before / peak | /metrics ms plain / gzip "
          "| size MB plain / gzip | series | max conns per IP, sampled (ss) "
          "| max conns per IP, proxy-counted: client / upstream | verdict mismatches |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def log(msg):
    print("fleet_bench: %s" % msg, file=sys.stderr, flush=True)


def proc_status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


class ConnSampler(threading.Thread):
    """Samples server-side connections per local address on a port until stopped."""

    def __init__(self, port, addresses, established_only=False):
        super().__init__(daemon=True)
        self.port, self.addresses = port, set(addresses)
        self.established_only = established_only
        self.max_per_ip, self.max_ip, self.samples = 0, "", 0
        self.max_states = {}  # TCP states of the connections in the sample with the maximum
        self.max_peers = []   # their peer addresses (the client's ports)
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.wait(0.2):
            out = subprocess.run(["ss", "-Htan", "( sport = :%d )" % self.port],
                                 capture_output=True, text=True, timeout=10).stdout
            counts, states, peers = {}, {}, {}
            for line in out.splitlines():
                cols = line.split()
                if len(cols) < 5 or cols[0] in ("LISTEN", "TIME-WAIT"):
                    continue
                if self.established_only and cols[0] != "ESTAB":
                    continue
                ip = cols[3].rsplit(":", 1)[0]
                if ip in self.addresses:
                    counts[ip] = counts.get(ip, 0) + 1
                    states.setdefault(ip, {}).setdefault(cols[0], 0)
                    states[ip][cols[0]] += 1
                    peers.setdefault(ip, []).append(cols[4])
            self.samples += 1
            for ip, c in counts.items():
                if c > self.max_per_ip:
                    self.max_per_ip, self.max_ip, self.max_states = c, ip, states[ip]
                    self.max_peers = peers[ip]


def proxy_counts(path):
    """The delay proxy's --stats-file (tests/lab/delay_proxy.py), per MX address: the most client
    connections open at once on its listener and the most upstream connections open at once to
    Postfix, with the addresses having them and the totals."""
    with open(path) as f:
        stats = json.load(f)
    out = {}
    for side, section, counter in (("client", "listen", "accepted"),
                                   ("upstream", "upstream", "connected")):
        per_ip = {addr.rsplit(":", 1)[0]: e for addr, e in stats[section].items()}
        top = max((e["max_open"] for e in per_ip.values()), default=0)
        histogram = {}
        for e in per_ip.values():
            histogram[str(e["max_open"])] = histogram.get(str(e["max_open"]), 0) + 1
        out[side] = {
            "max_per_ip": top,
            "max_ips": sorted(ip for ip, e in per_ip.items() if e["max_open"] == top and top),
            "ips_by_max": dict(sorted(histogram.items(), key=lambda kv: int(kv[0]))),
            counter: sum(e[counter] for e in per_ip.values()),
            "open_when_read": sum(e["open"] for e in per_ip.values()),
        }
    out["client"]["refused"] = sum(e.get("refused", 0) for e in stats["listen"].values())
    return out


class RssWatch(threading.Thread):
    """Samples the exporter's VmRSS every 0.25 s; kills it (SIGKILL) above limit_mb."""

    def __init__(self, pid, limit_mb):
        super().__init__(daemon=True)
        self.pid, self.limit_kb = pid, limit_mb * 1024
        self.max_kb, self.killed = 0, False
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.wait(0.25):
            kb = proc_status_kb(self.pid, "VmRSS")
            self.max_kb = max(self.max_kb, kb)
            if kb > self.limit_kb and not self.killed:
                log("exporter RSS %d MB is over --rss-limit-mb; killing it" % (kb // 1024))
                self.killed = True
                os.kill(self.pid, signal.SIGKILL)


def scrape(port, gzip_ok):
    """One GET /metrics: (seconds, bytes on the wire, decoded text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    t0 = time.monotonic()
    conn.request("GET", "/metrics", headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.monotonic() - t0
    conn.close()
    if resp.status != 200:
        raise RuntimeError("/metrics answered %d" % resp.status)
    encoded = resp.getheader("Content-Encoding", "")
    if gzip_ok and encoded != "gzip":
        log("asked for gzip, got Content-Encoding '%s'" % encoded)
    text = gzip.decompress(body).decode() if encoded == "gzip" else body.decode()
    return elapsed, len(body), text


def lab(script, *args, env=None):
    full = dict(os.environ, **(env or {}))
    subprocess.run([os.path.join(LAB, script)] + list(args), env=full, check=True, timeout=180)


def take_lock(wait_s):
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                sys.exit("fleet_bench: %s still held after %d s" % (LOCK, wait_s))
            time.sleep(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True, help="has exporter/smtp_exporter")
    ap.add_argument("--domains", type=int, required=True, help="N")
    ap.add_argument("--rtt-ms", type=int, default=0, help="delay proxy RTT per MX IP (even)")
    ap.add_argument("--scrapes", type=int, default=10, help="plain /metrics scrapes")
    ap.add_argument("--gzip-scrapes", type=int, default=3, help="gzip /metrics scrapes after them")
    ap.add_argument("--cycle-limit", type=int, default=600, help="seconds for the first cycle")
    ap.add_argument("--lock-wait", type=int, default=1800, help="seconds to wait for the lock")
    ap.add_argument("--rss-limit-mb", type=int, default=8000,
                    help="kill the exporter (and fail the run) above this RSS")
    ap.add_argument("--results", help="append the table row and a JSON line to this file")
    ap.add_argument("--label", default="", help="e.g. the commit measured, for --results")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    binary = os.path.join(os.path.abspath(args.build_dir), "exporter", "smtp_exporter")
    if not os.access(binary, os.X_OK):
        sys.exit("fleet_bench: no %s" % binary)
    if args.rtt_ms < 0 or args.rtt_ms % 2 or args.rtt_ms > 1000:
        sys.exit("fleet_bench: --rtt-ms must be even, 0..1000")

    work = tempfile.mkdtemp(prefix="smtpx-fleet.", dir="/tmp")
    os.chmod(work, 0o755)  # Postfix's daemons (user postfix) traverse it
    world = os.path.join(work, "world")
    check_port = PROXY_PORT if args.rtt_ms else SMTP_PORT
    subprocess.run([sys.executable, os.path.join(HERE, "fleet_world.py"), "--domains",
                    str(args.domains), "--out", world, "--smtp-port", str(SMTP_PORT),
                    "--dns-port", str(DNS_PORT), "--check-port", str(check_port)],
                   check=True, timeout=120)
    with open(os.path.join(world, "mx_ips.txt")) as f:
        mx_ips = f.read().split()
    expect = {}
    with open(os.path.join(world, "expect.tsv")) as f:
        for line in f:
            d, kind, ok = line.rstrip("\n").split("\t")
            expect[d] = (kind, {int(x) for x in ok.split(",")})

    row, record = None, {}
    exporter = rss_watch = None
    started = []
    proxy_stats_path = os.path.join(work, "proxy_stats.json")
    counted = None  # proxy_counts() after the cycle, with --rtt-ms
    lock_fd = take_lock(args.lock_wait)
    log("lock taken; work dir %s" % work)
    try:
        lab("dns.sh", "start", work, str(DNS_PORT), env={
            "LAB_DNS_TEMPLATE_DIR": os.path.join(world, "dns"),
            "LAB_DNS_READY_ZONES": "fleet.test 77.127.in-addr.arpa"})
        started.append("dns.sh")
        lab("postfix.sh", "start", work, str(SMTP_PORT), env={
            "LAB_PF_TEMPLATE_DIR": os.path.join(world, "postfix"),
            "LAB_PF_READY_DEADLINE_MS": "120000"})
        started.append("postfix.sh")
        if args.rtt_ms:
            routes = ["%s:%d=%s:%d" % (ip, PROXY_PORT, ip, SMTP_PORT) for ip in mx_ips]
            lab("delay_proxy.sh", "start", work, str(args.rtt_ms // 2), *routes, env={
                "LAB_PROXY_LIFETIME": str(args.cycle_limit + 900),
                "LAB_PROXY_MAX_CONN": "1000",
                "LAB_PROXY_STATS_FILE": proxy_stats_path})
            started.append("delay_proxy.sh")

        sampler = ConnSampler(SMTP_PORT, mx_ips)
        # With the proxy: also what the exporter itself holds open, on the proxy's listeners.
        proxy_sampler = ConnSampler(PROXY_PORT, mx_ips, True) if args.rtt_ms else None
        exporter_log = open(os.path.join(work, "exporter.log"), "w")
        t0 = time.monotonic()
        exporter = subprocess.Popen(
            [binary, "--config.file", os.path.join(world, "smtp_exporter.yml"),
             "--web.listen-address", "127.0.0.1:%d" % WEB_PORT, "--log.level", "debug"],
            stdin=subprocess.DEVNULL, stdout=exporter_log, stderr=subprocess.STDOUT,
            start_new_session=True)
        sampler.start()
        rss_watch = RssWatch(exporter.pid, args.rss_limit_mb)
        rss_watch.start()
        if proxy_sampler:
            proxy_sampler.start()
        checked = {}
        offset = 0
        log_path = os.path.join(work, "exporter.log")
        next_report = t0 + 30
        while len(checked) < args.domains and time.monotonic() - t0 < args.cycle_limit:
            if exporter.poll() is not None:
                raise RuntimeError("exporter exited with %d (see %s)" % (exporter.returncode,
                                                                        log_path))
            with open(log_path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            cut = chunk.rfind(b"\n") + 1
            offset += cut
            for m in CHECKED_RE.finditer(chunk[:cut].decode(errors="replace")):
                checked.setdefault(m.group(1), float(m.group(3)))
            if time.monotonic() > next_report:
                log("%d/%d domains checked after %.0f s" % (len(checked), args.domains,
                                                             time.monotonic() - t0))
                next_report += 30
            time.sleep(0.2)
        first_cycle = time.monotonic() - t0
        cpu = cpu_seconds(exporter.pid)
        for s in (sampler, proxy_sampler):
            if s:
                s.stop_event.set()
                s.join(timeout=15)
        complete = len(checked) >= args.domains
        log("first cycle: %d/%d domains in %.1f s, CPU %.1f s, max %d connections on %s "
            "(sampled)" % (len(checked), args.domains, first_cycle, cpu, sampler.max_per_ip,
                           sampler.max_ip))
        if args.rtt_ms:
            # Every change up to the cycle's end is in the file once the proxy's next rewrite
            # (at most 1 s later) is done. No new session starts after the cycle (interval 5m).
            time.sleep(PROXY_STATS_DELAY_S)
            counted = proxy_counts(proxy_stats_path)
            log("proxy-counted: at most %d client connections open at once on one MX address "
                "(%s), %d upstream (%s); MX addresses by their maximum: %s" % (
                    counted["client"]["max_per_ip"], ", ".join(counted["client"]["max_ips"][:5]),
                    counted["upstream"]["max_per_ip"],
                    ", ".join(counted["upstream"]["max_ips"][:5]),
                    counted["client"]["ips_by_max"]))

        rss_cycle_max_kb = rss_watch.max_kb
        rss_before = proc_status_kb(exporter.pid, "VmRSS")
        plain_t, gzip_t, text = [], [], ""
        plain_size = gzip_size = 0
        for _ in range(args.scrapes):
            t, plain_size, text = scrape(WEB_PORT, False)
            plain_t.append(t)
        for _ in range(args.gzip_scrapes):
            t, gzip_size, gz_text = scrape(WEB_PORT, True)
            gzip_t.append(t)
            text = text or gz_text
        if rss_watch.killed:
            raise RuntimeError("exporter killed above --rss-limit-mb %d" % args.rss_limit_mb)
        rss_after = proc_status_kb(exporter.pid, "VmRSS")
        cpu_scrapes = cpu_seconds(exporter.pid) - cpu
        rss_peak = proc_status_kb(exporter.pid, "VmHWM")

        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        timestamps = len(re.findall(r"^smtp_check_timestamp_seconds\{", text, re.M))
        statuses = {d: int(float(v)) for d, v in STATUS_RE.findall(text)}
        mismatches, unchecked = [], []
        by_kind = {}
        for d, (kind, ok) in sorted(expect.items()):
            got = statuses.get(d)
            by_kind.setdefault(kind, {}).setdefault(str(got), 0)
            by_kind[kind][str(got)] += 1
            if got is None:
                unchecked.append(d)  # no result yet (a cycle cut short by --cycle-limit)
            elif got not in ok:
                mismatches.append("%s (%s): status %s, expected one of %s" % (
                    d, kind, got, sorted(ok)))
        for m in mismatches[:30]:
            print("MISMATCH " + m)
        if len(mismatches) > 30:
            print("MISMATCH ... %d more" % (len(mismatches) - 30))
        if unchecked:
            print("not checked yet: %d domains, e.g. %s" % (len(unchecked), unchecked[0]))
        groups = {}
        for kind, counts in by_kind.items():
            group = kind if kind.startswith("broken") or kind == "self" else "provider"
            for status, n in counts.items():
                groups.setdefault(group, {}).setdefault(status, 0)
                groups[group][status] += n
        print("smtp_domain_status per kind (status: domains): " + "; ".join(
            "%s %s" % (g, dict(sorted(c.items()))) for g, c in sorted(groups.items())))

        mb = 1024 * 1024
        cycle_cell = "%.1f" % first_cycle if complete else ">%d (%d/%d done)" % (
            args.cycle_limit, len(checked), args.domains)
        conns_cell = str(sampler.max_per_ip)
        if proxy_sampler:
            conns_cell += " (%d at the proxy)" % proxy_sampler.max_per_ip
        counted_cell = "%d / %d" % (counted["client"]["max_per_ip"],
                                    counted["upstream"]["max_per_ip"]) if counted else "-"
        verdict_cell = str(len(mismatches))
        if unchecked:
            verdict_cell += " (%d not checked yet)" % len(unchecked)
        row = ("| %d | %d | %s | %.1f | %.0f / %.0f | %.0f / %.0f | %.2f / %.2f | %d | %s | %s "
               "| %s |") % (
            args.domains, args.rtt_ms, cycle_cell, cpu, rss_before / 1024, rss_peak / 1024,
            1000 * statistics.median(plain_t) if plain_t else 0,
            1000 * statistics.median(gzip_t) if gzip_t else 0,
            plain_size / mb, gzip_size / mb, series, conns_cell, counted_cell, verdict_cell)
        with open(os.path.join(world, "world.json")) as f:
            shape = json.load(f)
        record = {
            "label": args.label, "domains": args.domains, "rtt_ms": args.rtt_ms,
            "complete": complete, "checked": len(checked), "first_cycle_s": round(first_cycle, 2),
            "cpu_s": round(cpu, 2), "cpu_scrapes_s": round(cpu_scrapes, 2), "rss_cycle_max_mb": round(rss_cycle_max_kb / 1024, 1),
            "rss_before_mb": round(rss_before / 1024, 1),
            "rss_after_scrapes_mb": round(rss_after / 1024, 1),
            "rss_peak_mb": round(rss_peak / 1024, 1),
            "rss_sampled_max_mb": round(rss_watch.max_kb / 1024, 1),
            "metrics_plain_ms": [round(1000 * t) for t in plain_t],
            "metrics_gzip_ms": [round(1000 * t) for t in gzip_t],
            "size_plain_bytes": plain_size, "size_gzip_bytes": gzip_size, "series": series,
            "timestamp_series": timestamps, "max_conns_per_ip": sampler.max_per_ip,
            "max_conns_ip": sampler.max_ip, "max_conns_states": sampler.max_states,
            "max_conns_peers": sampler.max_peers,
            "conn_samples": sampler.samples,
            "max_conns_per_ip_at_proxy": proxy_sampler.max_per_ip if proxy_sampler else None,
            # Exact, counted by the delay proxy (None without --rtt-ms): client = the exporter's
            # connections on the proxy's listener, upstream = the proxy's connections to Postfix.
            "proxy_max_conns_per_ip": counted["client"]["max_per_ip"] if counted else None,
            "proxy_max_conns_ips": counted["client"]["max_ips"] if counted else None,
            "proxy_max_upstream_per_ip": counted["upstream"]["max_per_ip"] if counted else None,
            "proxy_max_upstream_ips": counted["upstream"]["max_ips"] if counted else None,
            "proxy_ips_by_max_conns": counted["client"]["ips_by_max"] if counted else None,
            "proxy_accepted": counted["client"]["accepted"] if counted else None,
            "proxy_refused": counted["client"]["refused"] if counted else None,
            "proxy_open_when_read": counted["client"]["open_when_read"] if counted else None,
            "check_s_median": round(statistics.median(checked.values()), 3) if checked else 0,
            "check_s_max": round(max(checked.values()), 3) if checked else 0,
            "verdict_mismatches": len(mismatches), "unchecked": len(unchecked), "status_by_group": groups,
            "listeners": shape["listeners"],
            "endpoints_per_domain": shape["endpoints_per_domain"],
        }
        print(json.dumps(record))
        if timestamps != args.domains:
            log("WARNING: %d smtp_check_timestamp_seconds series, expected %d" % (
                timestamps, args.domains))
    finally:
        if rss_watch:
            rss_watch.stop_event.set()
        if exporter is not None and exporter.poll() is None:
            exporter.send_signal(signal.SIGTERM)
            try:
                exporter.wait(timeout=20)
            except subprocess.TimeoutExpired:
                exporter.kill()
                exporter.wait(timeout=10)
        for script in reversed(started):
            try:
                lab(script, "stop", work)
            except subprocess.SubprocessError as e:
                log("%s stop failed: %s" % (script, e))
        os.close(lock_fd)
        log("lock released")
        if args.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(HEADER)
    print(row)
    if args.results:
        with open(args.results, "a") as f:
            f.write("%s %s\n" % (row, args.label))
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
