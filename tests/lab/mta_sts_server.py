#!/usr/bin/env python3
"""MTA-STS policy server of the smtp_exporter test lab (started by tests/lab/mta_sts.sh).

Serves https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.3) for the lab's
MTA-STS domains, chosen by the Host header, on two loopback addresses:

  GOOD_ADDRESS   a certificate from the lab CA naming every mta-sts.* host served there
  WRONG_ADDRESS  a certificate from the same CA for another name (verification must fail)

Anything else answers 404. Writes --pid-file once both addresses listen; exits by itself after
--lifetime seconds. Only loopback addresses; no name is ever resolved.
"""
import argparse
import http.server
import os
import signal
import ssl
import sys
import threading
import time

GOOD_ADDRESS = "127.0.0.84"
WRONG_ADDRESS = "127.0.0.85"

ENFORCE_GOOD = b"version: STSv1\r\nmode: enforce\r\nmx: mx-good.lab.test\r\nmax_age: 86400\r\n"
POLICIES = {
    # A policy that covers the MX (mx-good.lab.test) in enforce mode.
    "mta-sts.stsgood.lab.test": (200, "text/plain; charset=utf-8", ENFORCE_GOOD),
    # Served on WRONG_ADDRESS, whose certificate names another host.
    "mta-sts.stsbadcert.lab.test": (200, "text/plain", ENFORCE_GOOD),
    # Not a policy at all (a web server's error page with status 200).
    "mta-sts.stsbadpolicy.lab.test": (
        200, "text/plain", b"<html><body>Welcome to nginx!</body></html>\n"),
    # Enforce, but the MX (mx-good.lab.test) is not among the patterns.
    "mta-sts.stsnotcovered.lab.test": (
        200, "text/plain",
        b"version: STSv1\nmode: enforce\nmx: mx-other.lab.test\nmx: *.example.net\nmax_age: 604800\n"),
    # Enforce over an MX without STARTTLS (mx-notls.lab.test, covered by the wildcard).
    "mta-sts.stsnotls.lab.test": (
        200, "text/plain", b"version: STSv1\nmode: enforce\nmx: *.lab.test\nmax_age: 86400\n"),
    # A redirect to a good policy: RFC 8461 §3.3 forbids following it, so no policy.
    "mta-sts.stsredirect.lab.test": (
        301, "text/plain", b"moved\n",
        {"Location": "https://mta-sts.stsgood.lab.test/.well-known/mta-sts.txt"}),
}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "lab-mta-sts"
    sys_version = ""

    def do_GET(self):  # noqa: N802 (http.server's name)
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        policy = POLICIES.get(host) if self.path == "/.well-known/mta-sts.txt" else None
        status, content_type, body, *extra = policy or (404, "text/plain", b"not found\n")
        self.send_response(status)
        for name, value in (extra[0] if extra else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    timeout = 5


def serve(address, port, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server((address, port), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-dir", required=True, help="good.crt/.key and wrong.crt/.key")
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--lifetime", type=int, default=3600)
    args = parser.parse_args()
    servers = [
        serve(GOOD_ADDRESS, args.port, os.path.join(args.tls_dir, "good.crt"),
              os.path.join(args.tls_dir, "good.key")),
        serve(WRONG_ADDRESS, args.port, os.path.join(args.tls_dir, "wrong.crt"),
              os.path.join(args.tls_dir, "wrong.key")),
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    tmp = args.pid_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.replace(tmp, args.pid_file)
    deadline = time.monotonic() + args.lifetime
    while not stop.is_set() and time.monotonic() < deadline:
        stop.wait(0.5)
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
