#!/usr/bin/python3
"""aiosmtpd (Debian's python3-aiosmtpd 1.4) as a second real SMTP implementation for the lab.

One process serves one scenario per loopback address, all on --port:
  127.0.0.60 aio-good   STARTTLS, AUTH only after TLS, postmaster accepted, relaying refused
  127.0.0.61 aio-notls  no STARTTLS
  127.0.0.62 aio-auth   AUTH PLAIN LOGIN advertised before STARTTLS (every attempt fails)
  127.0.0.63 aio-nopm   postmaster@ refused with 550 (RFC 5321 §4.5.1 says it must be accepted)
The SMTP engine is aiosmtpd's own; only the policy (handler) and the session log are ours.

Log (--log), one line per event: "HH:MM:SS.mmm <scenario> <peer ip>:<port> <event>" with events
  open, QUIT, close quit=yes|no, DATA-SEEN (DATA or BDAT: the probe never may),
  EARLY-TALKER (bytes before the greeting was sent: RFC 5321 §4.3.1, the client waits for it).
Bounded: --lifetime seconds in all, at most 100 connections at once, 10 s per command, 50 calls
per command. See tests/lab/README.md, "aiosmtpd".
"""
import argparse
import asyncio
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult

SCENARIOS = {
    "127.0.0.60": "aio-good",
    "127.0.0.61": "aio-notls",
    "127.0.0.62": "aio-auth",
    "127.0.0.63": "aio-nopm",
}
MAX_CONNECTIONS = 100
LOG = None
open_connections = 0


def log(scenario, peer, event):
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + ".%03d" % int(now % 1 * 1000)
    peer_text = "%s:%s" % (peer[0], peer[1]) if peer else "-"
    LOG.write("%s %s %s %s\n" % (stamp, scenario, peer_text, event))
    LOG.flush()


def is_local(address):
    domain = address.rpartition("@")[2].lower()
    return domain == "lab.test" or domain.endswith(".lab.test")


class Handler:
    def __init__(self, scenario):
        self.scenario = scenario

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not is_local(address):
            return "554 5.7.1 Relay access denied"
        if self.scenario == "aio-nopm" and address.lower().startswith("postmaster@"):
            return "550 5.1.1 postmaster rejected"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_QUIT(self, server, session, envelope):
        server.lab_quit = True
        log(self.scenario, session.peer, "QUIT")
        return "221 2.0.0 Bye"


def refuse_every_login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


class LabSMTP(SMTP):
    """aiosmtpd's SMTP with a session log: open, QUIT, close, early talk, DATA/BDAT."""

    def __init__(self, scenario, **kwargs):
        super().__init__(Handler(scenario), **kwargs)
        self.lab_scenario = scenario
        self.lab_quit = False
        self.lab_greeted = False
        self.lab_opened = False
        self.lab_peer = None

    def connection_made(self, transport):
        global open_connections
        first = not self.lab_opened  # called again after STARTTLS with the TLS transport
        if first:
            self.lab_opened = True
            self.lab_peer = transport.get_extra_info("peername")
            open_connections += 1
            if open_connections > MAX_CONNECTIONS:
                log(self.lab_scenario, self.lab_peer, "note too many connections, closed")
                transport.close()
                return
            log(self.lab_scenario, self.lab_peer, "open")
        super().connection_made(transport)

    def data_received(self, data):
        if not self.lab_greeted:
            log(self.lab_scenario, self.lab_peer, "EARLY-TALKER %r" % data[:80])
        super().data_received(data)

    async def push(self, status):
        self.lab_greeted = True
        await super().push(status)

    def connection_lost(self, error):
        global open_connections
        open_connections -= 1
        log(self.lab_scenario, self.lab_peer,
            "close quit=%s%s" % ("yes" if self.lab_quit else "no",
                                 " (%s)" % error if error else ""))
        super().connection_lost(error)

    async def smtp_DATA(self, arg):
        log(self.lab_scenario, self.lab_peer, "DATA-SEEN")
        await self.push("554 5.7.1 the lab accepts no messages")

    async def smtp_BDAT(self, arg):
        log(self.lab_scenario, self.lab_peer, "DATA-SEEN (BDAT)")
        await self.push("554 5.7.1 the lab accepts no messages")


async def main(args):
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)
    loop = asyncio.get_running_loop()
    servers = []
    for address, scenario in SCENARIOS.items():
        options = dict(
            hostname="mx-%s.lab.test" % scenario, ident="ESMTP aiosmtpd", timeout=10,
            command_call_limit=50, data_size_limit=1048576, enable_SMTPUTF8=True)
        if scenario != "aio-notls":
            options["tls_context"] = tls
        if scenario == "aio-auth":
            options.update(auth_require_tls=False, authenticator=refuse_every_login)
        else:
            options.update(authenticator=refuse_every_login)

        def factory(scenario=scenario, options=options):
            return LabSMTP(scenario, **options)

        servers.append(await loop.create_server(factory, host=address, port=args.port))
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.call_later(args.lifetime, lambda: stop.done() or stop.set_result(None))
    # The PID file appears only once every address listens: whoever waits for it can connect.
    with open(args.pid_file + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(args.pid_file + ".tmp", args.pid_file)
    await stop
    for server in servers:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--lifetime", type=float, default=3600)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    LOG = open(args.log, "a", buffering=1)
    asyncio.run(main(args))
