#!/usr/bin/env python3
"""Scripted SMTP responder for the smtp_exporter test lab (Python 3.11, stdlib only).

One process serves several misbehaving SMTP servers, one per loopback address, all on the
same --port. See tests/lab/README.md, section "Scripted responder", for what each scenario
does and what the probe should report. Started and stopped by tests/lab/responder.sh.

Everything is bounded: the process exits after --lifetime seconds; each connection gets at
most MAX_COMMANDS commands, MAX_READ_BYTES read, MAX_SEND_BYTES sent and READ_TIMEOUT
seconds per command; at most MAX_CONNECTIONS connections are served at once (the next ones
get 421 and are closed). It binds 127.0.0.0/8 addresses only.

Log (stderr): one line per event, "<time> <scenario> c<N> <peer> <event>", where event is
"open", "< COMMAND", "> reply line", "note ..." or "close <reason>". Grep for
"EARLY-TALKER" to see whether a client spoke before the pause scenario's final greeting.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import sys
import time

MAX_COMMANDS = 50
MAX_READ_BYTES = 64 * 1024
MAX_SEND_BYTES = 64 * 1024
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 10.0
MAX_CONNECTIONS = 100
ENDLESS_MAX_LINES = 2000
LOG_LINE_MAX = 300
LINGER_SECONDS = 2.0
TLS_HELLO_WAIT = 3.0   # tlsbroken: how long to wait for the ClientHello

# Extensions of a "normal" ESMTP server (Postfix order). STARTTLS is added where wanted.
NORMAL_EXTENSIONS = ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]

# address -> scenario name. Keep in sync with tests/lab/README.md and dns/zones/*.zone.
SCENARIOS = {
    "127.0.0.8": "helo",
    "127.0.0.9": "greet554",
    "127.0.0.10": "greet421",
    "127.0.0.11": "greylist",
    "127.0.0.12": "tlsbroken",
    "127.0.0.13": "endless",
    "127.0.0.14": "minimal",
    "127.0.0.15": "pause",
    "127.0.0.16": "hostile",
    # .17-.19 and .22-.29 are for scenarios (.20/.21 are the good Postfix, .30 stays unused).
    "127.0.0.17": "helorej",
    "127.0.0.18": "shutdown",
    "127.0.0.19": "nosenders",
    "127.0.0.22": "barelf",
    "127.0.0.23": "striptls",
}


def log(msg: str) -> None:
    t = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"
    sys.stderr.write(f"{stamp} {msg}\n")
    sys.stderr.flush()


class Closed(Exception):
    """The session is over (peer closed, a limit was hit, or the scenario closes)."""


class Session:
    """One client connection: bounded line reader and writer plus the SMTP state machine."""

    counter = 0
    # striptls: the client names (EHLO arguments) that have already been shown STARTTLS.
    striptls_seen: set[str] = set()

    def __init__(self, scenario: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 opts: argparse.Namespace) -> None:
        Session.counter += 1
        self.scenario = scenario
        self.host = f"mx-{scenario}.lab.test"
        self.reader = reader
        self.writer = writer
        self.opts = opts
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.tag = f"{scenario} c{Session.counter} {peer[0]}:{peer[1]}"
        self.buf = bytearray()
        self.read_total = 0
        self.sent_total = 0
        self.commands = 0
        self.eof = False
        # SMTP state
        self.greeted = False   # HELO/EHLO seen
        self.mail = False      # MAIL accepted
        self.early_talker = False
        self.eol = "\r\n"     # barelf: "\n" (RFC 5321 2.3.8 requires CRLF)

    # ---- I/O -----------------------------------------------------------------------
    def note(self, what: str) -> None:
        log(f"{self.tag} {what}")

    async def _fill(self, timeout: float) -> bool:
        """Reads more bytes into buf. False on timeout; raises Closed on EOF or read cap."""
        if self.eof:
            raise Closed("peer closed")
        budget = MAX_READ_BYTES - self.read_total
        if budget <= 0:
            raise Closed(f"read cap {MAX_READ_BYTES} bytes reached")
        try:
            data = await asyncio.wait_for(self.reader.read(min(4096, budget)), timeout)
        except asyncio.TimeoutError:
            return False
        except (ConnectionError, OSError) as e:
            raise Closed(f"read error: {e}") from None
        if not data:
            self.eof = True
            raise Closed("peer closed")
        self.read_total += len(data)
        self.buf += data
        return True

    async def readline(self) -> str:
        """Next command line without its line ending (CRLF or bare LF)."""
        deadline = time.monotonic() + READ_TIMEOUT
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if self.read_total >= MAX_READ_BYTES:
                await self.send(["421 4.7.0 " + self.host + " Error: too much data"])
                raise Closed(f"read cap {MAX_READ_BYTES} bytes reached")
            if left <= 0 or not await self._fill(left):
                await self.send(["421 4.4.2 " + self.host + " Error: timeout exceeded"])
                raise Closed(f"read timeout {READ_TIMEOUT:g} s")
        i = self.buf.index(b"\n")
        raw = bytes(self.buf[:i])
        del self.buf[: i + 1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = raw.decode("utf-8", "replace")
        self.note("< " + line[:LOG_LINE_MAX])
        self.commands += 1
        if self.commands > MAX_COMMANDS:
            await self.send(["421 4.7.0 " + self.host + " Error: too many commands"])
            raise Closed(f"more than {MAX_COMMANDS} commands")
        return line

    async def send_raw(self, data: bytes, log_lines: list[str] | None = None) -> None:
        if self.sent_total + len(data) > MAX_SEND_BYTES:
            raise Closed(f"send cap {MAX_SEND_BYTES} bytes reached")
        for line in log_lines if log_lines is not None else []:
            self.note("> " + line[:LOG_LINE_MAX])
        try:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT)
        except asyncio.TimeoutError:
            raise Closed(f"write timeout {WRITE_TIMEOUT:g} s") from None
        except (ConnectionError, OSError) as e:
            raise Closed(f"write error: {e}") from None
        self.sent_total += len(data)

    async def send(self, lines: list[str]) -> None:
        """Sends lines as given, each terminated by CRLF (bare LF in the barelf scenario)."""
        await self.send_raw("".join(l + self.eol for l in lines).encode("utf-8"), lines)

    async def reply(self, code: int, texts: list[str]) -> None:
        """Multiline reply: code-text ... code text."""
        lines = [f"{code}-{t}" for t in texts[:-1]] + [f"{code} {texts[-1]}"]
        await self.send(lines)

    async def linger(self) -> None:
        """Graceful close: FIN first, then discard what the client still sends (bounded by
        LINGER_SECONDS and the read cap) until its FIN. Closing with unread data would send a
        RST, and the client could then lose our last reply (421, "this is not TLS", ...)."""
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
            deadline = time.monotonic() + LINGER_SECONDS
            while (left := deadline - time.monotonic()) > 0 and self.read_total < MAX_READ_BYTES:
                data = await asyncio.wait_for(self.reader.read(4096), left)
                if not data:
                    break
                self.read_total += len(data)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass

    # ---- helpers ---------------------------------------------------------------------
    @staticmethod
    def split(line: str) -> tuple[str, str]:
        verb, _, arg = line.strip().partition(" ")
        return verb.upper(), arg.strip()

    @staticmethod
    def path_of(arg: str) -> str | None:
        """'TO:<a@b> X=Y' -> 'a@b' ('' for <>), None if malformed."""
        _, colon, rest = arg.partition(":")
        if not colon:
            return None
        rest = rest.strip()
        if rest.startswith("<"):
            end = rest.find(">")
            return rest[1:end] if end >= 0 else None
        return rest.split(" ")[0] if rest else None

    @staticmethod
    def local_domain(address: str) -> bool:
        domain = address.rpartition("@")[2].lower().rstrip(".")
        return "@" in address and (domain == "lab.test" or domain.endswith(".lab.test"))

    # ---- scenarios -------------------------------------------------------------------
    async def run(self) -> None:
        handler = getattr(self, "scenario_" + self.scenario)
        await handler()

    async def scenario_greet421(self) -> None:
        await self.send([f"421 4.3.2 {self.host} too busy, try later"])
        raise Closed("greet421 closes after the greeting")

    async def scenario_greet554(self) -> None:
        # RFC 5321 3.1: after a 554 greeting the server waits for QUIT; everything else
        # gets 503.
        await self.send([f"554 5.7.1 {self.host} no SMTP service here"])
        while True:
            verb, _ = self.split(await self.readline())
            if verb == "QUIT":
                await self.send([f"221 2.0.0 {self.host} closing connection"])
                raise Closed("QUIT")
            await self.send(["503 5.5.1 Error: no SMTP service here, only QUIT is accepted"])

    async def scenario_helo(self) -> None:
        await self.send([f"220 {self.host} SMTP ready"])
        await self.command_loop(ehlo=None, esc=False)

    async def scenario_minimal(self) -> None:
        await self.send([f"220 {self.host} ESMTP"])
        await self.command_loop(ehlo=[self.host], esc=False)

    async def scenario_greylist(self) -> None:
        await self.send([f"220 {self.host} ESMTP"])
        await self.command_loop(ehlo=[self.host] + NORMAL_EXTENSIONS, esc=True, greylist=True)

    async def scenario_tlsbroken(self) -> None:
        await self.send([f"220 {self.host} ESMTP"])
        ext = NORMAL_EXTENSIONS[:2] + ["STARTTLS"] + NORMAL_EXTENSIONS[2:]
        await self.command_loop(ehlo=[self.host] + ext, esc=True, broken_tls=True)

    async def scenario_striptls(self) -> None:
        # A STRIPTLS middlebox that switched on between two checks: the first session of each
        # client name (EHLO argument) sees STARTTLS (refused with 454: the lab server has no
        # certificate); every later one sees it masked as XXXXXXXA, as Cisco's ESMTP inspection
        # does. A tracker comparing two checks finds STARTTLS lost (RFC 3207 section 6).
        def ehlo_for(name: str) -> list[str]:
            first = name not in Session.striptls_seen
            if first and len(Session.striptls_seen) < 10000:
                Session.striptls_seen.add(name)
            tls = "STARTTLS" if first else "XXXXXXXA"
            return [self.host] + NORMAL_EXTENSIONS[:2] + [tls] + NORMAL_EXTENSIONS[2:]
        await self.send([f"220 {self.host} ESMTP"])
        await self.command_loop(ehlo=[], esc=True, ehlo_for=ehlo_for, refuse_tls=True)

    async def scenario_hostile(self) -> None:
        await self.send([f'220 {self.host} ESMTP <script>alert(1)</script> "><img src=x onerror=alert(2)>'])
        ext = NORMAL_EXTENSIONS[:2] + ["X-<b>BOLD</b>"] + NORMAL_EXTENSIONS[2:]
        await self.command_loop(ehlo=[self.host] + ext, esc=True,
                                rcpt_ok="250 2.1.5 <script>alert(3)</script> ok")

    async def scenario_helorej(self) -> None:
        # HELO/EHLO restrictions that refuse the client's name at once (Postfix
        # check_helo_access with smtpd_delay_reject = no): EHLO and HELO both get 550, so no
        # transaction can start (RFC 5321 4.1.1.1 wants any valid name accepted).
        await self.send([f"220 {self.host} ESMTP"])
        while True:
            verb, arg = self.split(await self.readline())
            if verb in ("EHLO", "HELO"):
                await self.send([f"550 5.7.1 <{arg}>: Helo command rejected: Access denied"])
            elif verb == "QUIT":
                await self.send([f"221 2.0.0 {self.host} closing connection"])
                raise Closed("QUIT")
            elif verb in ("RSET", "NOOP"):
                await self.send(["250 2.0.0 Ok"])
            else:
                await self.send(["503 5.5.1 Error: send HELO/EHLO first"])

    async def scenario_shutdown(self) -> None:
        # An MTA stopping in the middle of the session: the first MAIL gets 421 and the
        # connection is closed (RFC 5321 3.8: 421 may answer any command).
        await self.send([f"220 {self.host} ESMTP"])
        while True:
            verb, _ = self.split(await self.readline())
            if verb == "EHLO":
                await self.reply(250, [self.host] + NORMAL_EXTENSIONS)
            elif verb == "HELO":
                await self.send([f"250 {self.host}"])
            elif verb == "QUIT":
                await self.send([f"221 2.0.0 {self.host} closing connection"])
                raise Closed("QUIT")
            elif verb == "MAIL":
                await self.send([f"421 4.3.2 {self.host} Service shutting down, closing "
                                 "transmission channel"])
                raise Closed("shutdown: 421 at MAIL")
            else:
                await self.send(["250 2.0.0 Ok" if verb in ("RSET", "NOOP")
                                 else "503 5.5.1 Error: need MAIL command"])

    async def scenario_nosenders(self) -> None:
        # A sender allowlist on the MX (Postfix smtpd_sender_restrictions =
        # check_sender_access ..., reject): every MAIL is refused, the null sender included.
        await self.send([f"220 {self.host} ESMTP"])
        await self.command_loop(ehlo=[self.host] + NORMAL_EXTENSIONS, esc=True,
                                refuse_senders=True)

    async def scenario_barelf(self) -> None:
        # An old appliance that ends reply lines in a bare LF; otherwise a normal server
        # without STARTTLS. Commands are still read with either ending.
        self.eol = "\n"
        await self.send([f"220 {self.host} ESMTP"])
        await self.command_loop(ehlo=[self.host] + NORMAL_EXTENSIONS, esc=True)

    async def scenario_endless(self) -> None:
        await self.send([f"220 {self.host} ESMTP"])
        while True:
            verb, _ = self.split(await self.readline())
            if verb == "QUIT":
                await self.send([f"221 2.0.0 {self.host} closing connection"])
                raise Closed("QUIT")
            if verb not in ("EHLO", "HELO"):
                await self.send(["503 5.5.1 Error: send EHLO first"])
                continue
            self.note(f"> 250-line 1 ... (until {ENDLESS_MAX_LINES} lines or the send cap)")
            n = 0
            try:
                while n < ENDLESS_MAX_LINES:
                    chunk = "".join(f"250-line {n + k + 1}\r\n" for k in range(50)).encode()
                    if self.sent_total + len(chunk) > MAX_SEND_BYTES:
                        break
                    await self.send_raw(chunk)
                    n += 50
            except Closed as e:
                raise Closed(f"endless: stopped after {n} lines ({e})") from None
            raise Closed(f"endless: sent {n} lines, {self.sent_total} bytes, never a final line")

    async def scenario_pause(self) -> None:
        # postscreen-like: the first greeting line, a pause, then the final line. A client
        # that sends anything before the final line is an early talker.
        await self.send([f"220-{self.host} ESMTP"])
        deadline = time.monotonic() + self.opts.pause
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = await self._fill(left)
            except Closed:
                if self.buf:
                    self.note(f"EARLY-TALKER {len(self.buf)} bytes before the final greeting line")
                raise
            if got and not self.early_talker:
                self.early_talker = True
                self.note(f"EARLY-TALKER {len(self.buf)} bytes before the final greeting line")
        await self.send([f"220 {self.host} ESMTP ready"])
        if self.early_talker:
            while True:
                verb, _ = self.split(await self.readline())
                if verb == "QUIT":
                    await self.send([f"221 2.0.0 {self.host} closing connection"])
                    raise Closed("QUIT (early talker)")
                await self.send(["554 5.5.1 Protocol error: talking too early"])
        await self.command_loop(ehlo=[self.host] + NORMAL_EXTENSIONS, esc=True)

    async def broken_starttls(self) -> None:
        """tlsbroken: 220 to STARTTLS, then plaintext instead of a TLS handshake.
        handshake (default): wait (bounded) for the client's first TLS bytes (ClientHello),
        then answer them with the plaintext line, so the client's TLS stack always reads it
        as a bad record. inject: the line goes out in the same write as the 220 (RFC 3207
        section 5 plaintext injection); what the client sees then depends on how it reads."""
        garbage = "this is not TLS"
        if self.opts.tlsbroken_mode == "inject":
            await self.send(["220 2.0.0 Ready to start TLS", garbage])
            raise Closed("tlsbroken: plaintext injected right after the 220")
        await self.send(["220 2.0.0 Ready to start TLS"])
        got = False
        if not self.buf:
            try:
                got = await self._fill(TLS_HELLO_WAIT)
            except Closed:
                raise Closed("tlsbroken: client closed instead of starting TLS") from None
        self.note(f"note {len(self.buf)} bytes of client TLS data" if self.buf or got
                  else f"note no client TLS data within {TLS_HELLO_WAIT:g} s")
        self.buf.clear()
        await self.send([garbage])
        raise Closed("tlsbroken: answered the TLS handshake with plaintext")

    # ---- the ordinary SMTP command loop ---------------------------------------------------
    async def command_loop(self, ehlo: list[str] | None, esc: bool, greylist: bool = False,
                           broken_tls: bool = False, rcpt_ok: str | None = None,
                           refuse_senders: bool = False, ehlo_for=None,
                           refuse_tls: bool = False) -> None:
        """ehlo: the EHLO reply lines (None: EHLO is not recognised, HELO only).
        ehlo_for: if set, gives the EHLO reply lines for the EHLO argument instead of ehlo.
        refuse_tls: STARTTLS gets 454 (RFC 3207 section 4: TLS not available).
        esc: use enhanced status codes (only if ENHANCEDSTATUSCODES is advertised).
        refuse_senders: every well-formed MAIL gets 550 (<>) or 553 (any other sender)."""
        def code(c: str) -> str:
            return c + " " if esc else ""

        while True:
            verb, arg = self.split(await self.readline())
            if verb == "EHLO" and ehlo is not None:
                self.greeted, self.mail = True, False
                await self.reply(250, ehlo_for(arg.strip().lower()) if ehlo_for else ehlo)
            elif verb == "EHLO":
                await self.send(["502 5.5.2 Command not recognized"])
            elif verb == "HELO":
                self.greeted, self.mail = True, False
                await self.send([f"250 {self.host}"])
            elif verb == "QUIT":
                await self.send([f"221 {code('2.0.0')}{self.host} closing connection"])
                raise Closed("QUIT")
            elif verb in ("RSET", "NOOP"):
                if verb == "RSET":
                    self.mail = False
                await self.send([f"250 {code('2.0.0')}Ok"])
            elif verb == "STARTTLS" and broken_tls:
                await self.broken_starttls()
            elif verb == "STARTTLS" and refuse_tls:
                await self.send([f"454 {code('4.7.0')}TLS not available due to local problem"])
            elif verb == "MAIL":
                if not self.greeted:
                    await self.send([f"503 {code('5.5.1')}Error: send HELO/EHLO first"])
                elif self.mail:
                    await self.send([f"503 {code('5.5.1')}Error: nested MAIL command"])
                elif self.path_of(arg) is None:
                    await self.send([f"501 {code('5.5.4')}Syntax: MAIL FROM:<address>"])
                elif refuse_senders:
                    sender = self.path_of(arg)
                    await self.send([f"{550 if sender == '' else 553} {code('5.7.1')}<{sender}>: "
                                     "Sender address rejected: not in the sender allowlist"])
                else:
                    self.mail = True
                    await self.send([f"250 {code('2.1.0')}Ok"])
            elif verb == "RCPT":
                rcpt = self.path_of(arg)
                if not self.mail:
                    await self.send([f"503 {code('5.5.1')}Error: need MAIL command"])
                elif rcpt is None:
                    await self.send([f"501 {code('5.5.4')}Syntax: RCPT TO:<address>"])
                elif greylist:
                    await self.send(["450 4.2.0 Greylisted, please try again later"])
                elif self.local_domain(rcpt):
                    await self.send([rcpt_ok or f"250 {code('2.1.5')}Ok"])
                else:
                    await self.send(["554 5.7.1 Relay access denied"])
            else:
                await self.send([f"502 {code('5.5.2')}Error: command not implemented"])


class Responder:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.opts = opts
        self.active = 0
        self.tasks: set[asyncio.Task] = set()

    def handler(self, scenario: str):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            self.tasks.add(task)
            over = self.active >= MAX_CONNECTIONS
            self.active += 1
            s = Session(scenario, reader, writer, self.opts)
            s.note("open" + (" (over the connection limit)" if over else ""))
            reason = "?"
            try:
                if over:
                    await s.send([f"421 4.7.0 mx-{scenario}.lab.test too many connections"])
                    reason = f"more than {MAX_CONNECTIONS} connections"
                else:
                    await s.run()
                    reason = "scenario ended"
            except Closed as e:
                reason = str(e)
            except asyncio.CancelledError:
                reason = "responder shutting down"
            except Exception as e:  # noqa: BLE001 - a bug here must not kill the server
                reason = f"internal error {type(e).__name__}: {e}"
            finally:
                self.active -= 1
                self.tasks.discard(task)
                if reason != "responder shutting down":
                    try:
                        await s.linger()
                    except asyncio.CancelledError:
                        reason += " (shut down while closing)"
                try:
                    writer.close()
                except Exception:  # noqa: BLE001
                    pass
                s.note(f"close {reason} (read {s.read_total} B, sent {s.sent_total} B, "
                       f"{s.commands} commands)")
        return handle


async def main_async(args: argparse.Namespace, chosen: dict[str, str]) -> int:
    responder = Responder(args)
    servers = []
    for addr, scenario in chosen.items():
        try:
            servers.append(await asyncio.start_server(
                responder.handler(scenario), host=addr, port=args.port,
                reuse_address=True, backlog=128))
        except OSError as e:
            log(f"ERROR cannot listen on {addr}:{args.port} ({scenario}): {e}")
            for s in servers:
                s.close()
            return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.pid_file:
        tmp = args.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, args.pid_file)
    log(f"ready: pid {os.getpid()}, port {args.port}, lifetime {args.lifetime:g} s, "
        + ", ".join(f"{a}={s}" for a, s in chosen.items()))
    try:
        await asyncio.wait_for(stop.wait(), args.lifetime)
        log("exiting: signal")
    except asyncio.TimeoutError:
        log(f"exiting: lifetime of {args.lifetime:g} s is over")
    for s in servers:
        s.close()
    for t in list(responder.tasks):
        t.cancel()
    if responder.tasks:
        await asyncio.wait(list(responder.tasks), timeout=2)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=25, help="TCP port on every address (default 25)")
    p.add_argument("--lifetime", type=float, default=3600,
                   help="exit after this many seconds (default 3600)")
    p.add_argument("--only", default="",
                   help="comma-separated scenario names to serve (default: all)")
    p.add_argument("--pause", type=float, default=1.5,
                   help="pause scenario: seconds between the two greeting lines (default 1.5)")
    p.add_argument("--tlsbroken-mode", choices=("handshake", "inject"), default="handshake",
                   help="tlsbroken: send the plaintext after the client's ClientHello (default) "
                        "or in the same write as the 220 reply (inject)")
    p.add_argument("--pid-file", default="", help="write our PID here once every address listens")
    p.add_argument("--new-session", action="store_true",
                   help="setsid() first (responder.sh: not killed with the caller's process group)")
    p.add_argument("--list", action="store_true", help="print 'ADDRESS SCENARIO' lines and exit")
    args = p.parse_args()

    chosen = dict(SCENARIOS)
    if args.only:
        names = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = names - set(SCENARIOS.values())
        if unknown:
            p.error("unknown scenario(s): " + ", ".join(sorted(unknown)))
        chosen = {a: s for a, s in SCENARIOS.items() if s in names}
    if args.list:
        for a, s in chosen.items():
            print(a, s)
        return 0
    if not 1 <= args.port <= 65535:
        p.error("--port must be 1..65535")
    if not 0 < args.lifetime <= 7 * 86400:
        p.error("--lifetime must be in (0, 604800]")
    if not 0 <= args.pause <= 60:
        p.error("--pause must be in [0, 60]")
    for a in chosen:  # hard rule: loopback only
        if not ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8"):
            p.error(f"{a} is not in 127.0.0.0/8")
    if args.new_session:
        try:
            os.setsid()
        except OSError:
            pass
    try:
        return asyncio.run(main_async(args, chosen))
    except KeyboardInterrupt:
        return 0
    finally:
        if args.pid_file:
            try:
                with open(args.pid_file) as f:
                    if f.read().strip() == str(os.getpid()):
                        os.unlink(args.pid_file)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
