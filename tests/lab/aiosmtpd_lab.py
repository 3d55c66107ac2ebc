#!/usr/bin/python3
"""aiosmtpd (Debian's python3-aiosmtpd 1.4) as a second real SMTP implementation for the lab.

One process serves one scenario per loopback address, all on --port:
  127.0.0.60 aio-good   STARTTLS, AUTH only after TLS, postmaster accepted, relaying refused
  127.0.0.61 aio-notls  no STARTTLS
  127.0.0.62 aio-auth   AUTH PLAIN LOGIN advertised before STARTTLS (every attempt fails)
  127.0.0.63 aio-nopm   postmaster@ refused with 550 (RFC 5321 §4.5.1 says it must be accepted)
and the MX hosts of the submission domains (RFC 8314), each as aio-good on --port, with the
message submission ports 587 (STARTTLS) and 465 (implicit TLS) beside it (real ports: root):
  127.0.0.70 sub-good   587 STARTTLS, AUTH only after TLS; 465 implicit TLS with AUTH
  127.0.0.71 sub-auth   587 AUTH PLAIN LOGIN before STARTTLS; 465 plain SMTP (no TLS)
  127.0.0.72 sub-notls  587 without STARTTLS (hence no AUTH either); nothing on 465
  127.0.0.73 sub-cram   587 AUTH CRAM-MD5 before STARTTLS; 465 implicit TLS without AUTH
The session log names them "<scenario>-mx", "<scenario>-587", "<scenario>-465".
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
    "127.0.0.70": "sub-good-mx",
    "127.0.0.71": "sub-auth-mx",
    "127.0.0.72": "sub-notls-mx",
    "127.0.0.73": "sub-cram-mx",
}
# (address, port, scenario, how): how is "starttls", "plain" (no TLS at all) or "implicit"
# (TLS from the first byte, RFC 8314 §3.3), and which AUTH is offered before TLS.
SUBMISSION = [
    ("127.0.0.70", 587, "sub-good-587", "starttls"),
    ("127.0.0.70", 465, "sub-good-465", "implicit"),
    ("127.0.0.71", 587, "sub-auth-587", "starttls-auth-before-tls"),
    ("127.0.0.71", 465, "sub-auth-465", "plain"),
    ("127.0.0.72", 587, "sub-notls-587", "plain"),
    ("127.0.0.73", 587, "sub-cram-587", "starttls-cram-before-tls"),
    ("127.0.0.73", 465, "sub-cram-465", "implicit-no-auth"),
]
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

    async def smtp_AUTH(self, arg):
        # The exporter never authenticates (a submission session reads EHLO and quits).
        log(self.lab_scenario, self.lab_peer, "AUTH-SEEN")
        await super().smtp_AUTH(arg)


class CramLabSMTP(LabSMTP):
    """Offers only CRAM-MD5 (a challenge-response, no password in clear): aiosmtpd lists every
    auth_<NAME> method ("__" read as "-") that auth_exclude_mechanism does not exclude."""

    async def auth_CRAM__MD5(self, server, args):
        await self.push("535 5.7.8 the lab accepts no login")
        return AuthResult(success=False, handled=True)


async def main(args):
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)
    loop = asyncio.get_running_loop()
    servers = []
    for address, scenario in SCENARIOS.items():
        options = dict(
            hostname="mx-%s.lab.test" % scenario.removesuffix("-mx"), ident="ESMTP aiosmtpd",
            timeout=10,
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
    for address, port, scenario, how in SUBMISSION:
        options = dict(
            hostname="mx-%s.lab.test" % scenario.rsplit("-", 1)[0], ident="ESMTP aiosmtpd",
            timeout=10, command_call_limit=50, data_size_limit=1048576,
            authenticator=refuse_every_login)
        listen_tls = None
        smtp_class = LabSMTP
        if how.startswith("starttls"):
            options["tls_context"] = tls
        if how == "starttls-auth-before-tls":
            options["auth_require_tls"] = False
        if how == "starttls-cram-before-tls":
            options.update(auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"])
            smtp_class = CramLabSMTP
        if how == "implicit":
            # aiosmtpd knows nothing of the TLS under it: AUTH only if not required to be "TLS"
            # in its STARTTLS sense.
            options["auth_require_tls"] = False
        if how.startswith("implicit"):
            listen_tls = tls

        def factory(scenario=scenario, options=options, smtp_class=smtp_class):
            return smtp_class(scenario, **options)

        servers.append(
            await loop.create_server(factory, host=address, port=port, ssl=listen_tls))
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
