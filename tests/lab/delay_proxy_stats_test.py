#!/usr/bin/python3
"""Checks tests/lab/delay_proxy.py --stats-file: the connections open at once, counted exactly.

    /usr/bin/python3 tests/lab/delay_proxy_stats_test.py      (CTest: lab_delay_proxy_stats)

An echo server on 127.0.0.1 (a free port), the proxy in front of it (20 ms each way, another
free port on 127.0.0.1). Three connections open at once, each echoing a line through the proxy,
then all closed: the stats say max_open 3 and, once the proxy has closed both sides, open 0
(listener and upstream). Then three one after the other: max_open stays 3, accepted is 6. At
exit the file is rewritten with "final": true. A fresh proxy that only ever sees one connection
at a time says max_open 1; one with --max-conn 1 counts a refused second connection as open
(and refused) while it was. Exit status 0 if every check holds, 1 otherwise. Loopback only;
every wait is bounded (the whole run takes a few seconds, the proxy's --lifetime is 60 s).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "delay_proxy.py")
HOST = "127.0.0.1"
DELAY_MS = 20
failures = []


def check(what, got, want):
    ok = got == want
    wanted = "" if ok else " (want %r)" % (want,)
    print("%s %s: %r%s" % ("ok  " if ok else "FAIL", what, got, wanted))
    if not ok:
        failures.append(what)


class EchoServer(threading.Thread):
    """Echoes each connection until its EOF, then closes it. At most 50 connections."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()

    def run(self):
        served = 0
        while not self.stop.is_set() and served < 50:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            served += 1
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()
        self.sock.close()

    @staticmethod
    def echo(conn):
        conn.settimeout(10)
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ProxyRun:
    def __init__(self, work, name, target_port, *extra_args):
        self.port = free_port()
        self.stats_path = os.path.join(work, name + ".json")
        self.pid_path = os.path.join(work, name + ".pid")
        self.log = open(os.path.join(work, name + ".log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", PROXY, "--delay-ms", str(DELAY_MS), "--lifetime", "60",
             "--route", "%s:%d=%s:%d" % (HOST, self.port, HOST, target_port),
             "--stats-file", self.stats_path, "--pid-file", self.pid_path] + list(extra_args),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.pid_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("proxy did not start (see %s)" % self.log.name)
            time.sleep(0.02)
        self.listen_key = "%s:%d" % (HOST, self.port)
        self.upstream_key = "%s:%d" % (HOST, target_port)

    def stats(self):
        with open(self.stats_path) as f:
            return json.load(f)

    def wait_until_closed(self, accepted):
        """Polls the stats file (rewritten at most once a second) until `accepted` connections
        were accepted and none is open on either side; at most 5 s."""
        deadline = time.monotonic() + 5
        while True:
            s = self.stats()
            listen, upstream = s["listen"][self.listen_key], s["upstream"][self.upstream_key]
            if listen["accepted"] == accepted and listen["open"] == 0 and upstream["open"] == 0:
                return s
            if time.monotonic() > deadline:
                return s
            time.sleep(0.1)

    def connect(self):
        """A connection through the proxy that has echoed one line (so it reached the target)."""
        c = socket.create_connection((HOST, self.port), timeout=5)
        c.sendall(b"hello\n")
        got = b""
        while len(got) < 6:
            data = c.recv(64)
            if not data:
                break
            got += data
        if got != b"hello\n":
            raise RuntimeError("echo through the proxy returned %r" % got)
        return c

    def one_at_a_time(self, count, accepted_before):
        for i in range(count):
            c = self.connect()
            c.close()
            self.wait_until_closed(accepted_before + i + 1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.log.close()
        return self.proc.returncode


def entry(stats, section, key, *fields):
    e = stats[section][key]
    return tuple(e[f] for f in fields)


def main():
    echo = EchoServer()
    echo.start()
    work = tempfile.mkdtemp(prefix="smtpx-proxystats.")
    runs = []
    try:
        first = ProxyRun(work, "first", echo.port)
        runs.append(first)
        s = first.stats()
        check("fresh stats, listener (open, max_open, accepted)",
              entry(s, "listen", first.listen_key, "open", "max_open", "accepted"), (0, 0, 0))

        conns = [first.connect() for _ in range(3)]  # three open at once, each relayed
        for c in conns:
            c.close()
        s = first.wait_until_closed(3)
        check("3 at once, listener (open, max_open, accepted)",
              entry(s, "listen", first.listen_key, "open", "max_open", "accepted"), (0, 3, 3))
        check("3 at once, upstream (open, max_open, connected)",
              entry(s, "upstream", first.upstream_key, "open", "max_open", "connected"),
              (0, 3, 3))

        first.one_at_a_time(3, 3)
        s = first.stats()
        check("then 3 one at a time, listener (open, max_open, accepted)",
              entry(s, "listen", first.listen_key, "open", "max_open", "accepted"), (0, 3, 6))
        check("then 3 one at a time, upstream (open, max_open, connected)",
              entry(s, "upstream", first.upstream_key, "open", "max_open", "connected"),
              (0, 3, 6))

        check("proxy exit status on SIGTERM", first.stop(), 0)
        s = first.stats()
        check("at exit, final", s["final"], True)
        check("at exit, listener (open, max_open, accepted, refused)",
              entry(s, "listen", first.listen_key, "open", "max_open", "accepted", "refused"),
              (0, 3, 6, 0))

        fresh = ProxyRun(work, "fresh", echo.port)
        runs.append(fresh)
        fresh.one_at_a_time(3, 0)
        s = fresh.stats()
        check("fresh proxy, 3 one at a time, listener (open, max_open, accepted)",
              entry(s, "listen", fresh.listen_key, "open", "max_open", "accepted"), (0, 1, 3))
        check("fresh proxy, 3 one at a time, upstream (open, max_open, connected)",
              entry(s, "upstream", fresh.upstream_key, "open", "max_open", "connected"),
              (0, 1, 3))
        check("fresh proxy exit status on SIGTERM", fresh.stop(), 0)

        # --max-conn 1: a second connection is refused (closed at once), but it was open.
        small = ProxyRun(work, "small", echo.port, "--max-conn", "1")
        runs.append(small)
        kept = small.connect()
        extra = socket.create_connection((HOST, small.port), timeout=5)
        try:
            refused_read = extra.recv(64)
        except ConnectionResetError:
            refused_read = b""
        extra.close()
        kept.close()
        s = small.wait_until_closed(2)
        check("--max-conn 1, one refused, listener (open, max_open, accepted, refused)",
              entry(s, "listen", small.listen_key, "open", "max_open", "accepted", "refused"),
              (0, 2, 2, 1))
        check("--max-conn 1, one refused, upstream (open, max_open, connected)",
              entry(s, "upstream", small.upstream_key, "open", "max_open", "connected"),
              (0, 1, 1))
        check("--max-conn 1, the refused connection read nothing", refused_read, b"")
        check("--max-conn 1 proxy exit status on SIGTERM", small.stop(), 0)
    except Exception as error:  # reported as a failure, the proxies still stopped
        failures.append("error: %s" % error)
        print("FAIL %s" % error)
    finally:
        for run in runs:
            if run.proc.poll() is None:
                run.stop()
        echo.stop.set()
        echo.join(timeout=5)
    if failures:
        print("delay_proxy_stats_test: %d failed (logs in %s)" % (len(failures), work))
        return 1
    for name in os.listdir(work):
        os.unlink(os.path.join(work, name))
    os.rmdir(work)
    print("delay_proxy_stats_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
