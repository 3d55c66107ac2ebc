#!/usr/bin/env python3
"""Latency proxy for the smtp_exporter test lab (stdlib only; this kernel has no netem).

A TCP relay that adds a fixed delay to everything it forwards, in each direction, and keeps
the byte order: each chunk read at time t is written at t + delay. The connection to the
target is opened `delay` after the client connected (the client's SYN "in flight"), so a
server greeting reaches the client 2 x delay after its connect() returned: one round trip,
as on a real network. --delay-ms 25 thus models a 50 ms RTT.

    delay_proxy.py --delay-ms 50 --route 127.0.0.2:10125=127.0.0.2:10025 \\
                   --route [::1]:10125=[::1]:10025 --lifetime 600

Bounded: --lifetime seconds in all (then it exits by itself), --max-conn connections at once
(more are closed at once), --idle-timeout seconds without data in either direction per
connection, at most 256 chunks of 64 KiB queued per direction. Listens on loopback only;
targets must be on loopback or in the lab's netns ranges (198.51.100.0/24, 2001:db8:100::/64).
SIGTERM or SIGINT stops it. Events go to stderr, one line each. Started and stopped by
tests/lab/delay_proxy.sh (see tests/lab/README.md, "Delay proxy").
"""

import argparse
import asyncio
import ipaddress
import os
import signal
import sys
import time

CHUNK = 65536
QUEUE_CHUNKS = 256
ALLOWED_TARGETS = [
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("2001:db8:100::/64"),
]


def log(message):
    stamp = time.strftime("%H:%M:%S", time.localtime()) + ".%03d" % (time.time() % 1 * 1000)
    print("%s %s" % (stamp, message), file=sys.stderr, flush=True)


def parse_endpoint(text):
    """'127.0.0.2:25' or '[::1]:25' -> (ip_address, port)."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected ADDR:PORT or [ADDR6]:PORT, got %r" % text)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return ip, int(port)


def parse_route(text):
    listen, sep, target = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected LISTEN=TARGET, got %r" % text)
    listen, target = parse_endpoint(listen), parse_endpoint(target)
    if not listen[0].is_loopback:
        raise argparse.ArgumentTypeError("listen address %s is not loopback" % listen[0])
    if not any(target[0] in net for net in ALLOWED_TARGETS):
        raise argparse.ArgumentTypeError("target %s is outside the lab's address ranges" % target[0])
    return listen, target


def show(endpoint):
    ip, port = endpoint
    return ("[%s]:%d" if ip.version == 6 else "%s:%d") % (ip, port)


class Proxy:
    def __init__(self, args):
        self.delay = args.delay_ms / 1000.0
        self.max_conn = args.max_conn
        self.idle = args.idle_timeout
        self.active = 0
        self.serial = 0
        self.tasks = set()

    async def pump(self, name, reader, writer_future):
        """Copies reader to the writer that writer_future yields; each chunk leaves `delay`
        after it arrived, in order. Reading starts at once, writing once the writer exists."""
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)
        total = 0

        async def read_side():
            while True:
                data = await asyncio.wait_for(reader.read(CHUNK), self.idle)
                await queue.put((loop.time() + self.delay, data))
                if not data:
                    return

        async def write_side():
            nonlocal total
            writer = await writer_future
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        try:
                            writer.write_eof()
                        except OSError:
                            # ENOTCONN/EPIPE: the other end closed first (a server closing
                            # after its 221 while the client's FIN is still "travelling"),
                            # so there is no half left to close. Not an error of the path.
                            pass
                    return
                writer.write(data)
                total += len(data)
                await writer.drain()

        reading = asyncio.ensure_future(read_side())
        try:
            await write_side()
            await reading
        finally:
            reading.cancel()
        return "%s %d B" % (name, total)

    async def handle(self, target, client_reader, client_writer):
        self.serial += 1
        tag = "c%d" % self.serial
        peer = client_writer.get_extra_info("peername")
        if self.active >= self.max_conn:
            log("%s %s refused: %d connections already open" % (tag, peer, self.active))
            client_writer.transport.abort()
            return
        self.active += 1
        task = asyncio.current_task()
        self.tasks.add(task)
        loop = asyncio.get_running_loop()
        server_writer = loop.create_future()
        client_side = loop.create_future()
        client_side.set_result(client_writer)
        to_server = None
        outcome = "closed"
        try:
            log("%s open from %s to %s" % (tag, peer, show(target)))
            # Client bytes are timestamped as they arrive, even before the target answers.
            to_server = asyncio.ensure_future(self.pump("to-server", client_reader, server_writer))
            try:
                # The client's SYN is still "travelling": reach the target `delay` later.
                server_reader, writer = await self.connect_later(target)
            except (OSError, asyncio.TimeoutError) as error:
                outcome = "target %s failed: %s" % (show(target), error or type(error).__name__)
                return
            server_writer.set_result(writer)
            results = await asyncio.gather(
                to_server, self.pump("to-client", server_reader, client_side),
                return_exceptions=True)
            outcome = ", ".join(r if isinstance(r, str) else "%s: %s" % (type(r).__name__, r)
                                for r in results)
        except asyncio.CancelledError:
            outcome = "cancelled"
        finally:
            if to_server is not None:
                to_server.cancel()
            client_writer.close()
            if server_writer.done() and not server_writer.cancelled():
                server_writer.result().close()
            else:
                server_writer.cancel()
            self.active -= 1
            self.tasks.discard(task)
            log("%s close (%s)" % (tag, outcome))

    async def connect_later(self, target):
        await asyncio.sleep(self.delay)
        ip, port = target
        return await asyncio.wait_for(asyncio.open_connection(str(ip), port), 10)


async def run(args):
    proxy = Proxy(args)
    servers = []
    for listen, target in args.route:
        ip, port = listen

        async def on_client(reader, writer, target=target):
            await proxy.handle(target, reader, writer)

        servers.append(await asyncio.start_server(on_client, str(ip), port, reuse_address=True))
        log("listening on %s -> %s, %d ms each way" % (show(listen), show(target), args.delay_ms))
    if args.pid_file:
        with open(args.pid_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(args.pid_file + ".tmp", args.pid_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.lifetime)
        log("stopping on signal")
    except asyncio.TimeoutError:
        log("lifetime of %g s over" % args.lifetime)
    for server in servers:
        server.close()
    for task in list(proxy.tasks):
        task.cancel()
    await asyncio.sleep(0)
    if args.pid_file:
        try:
            os.unlink(args.pid_file)
        except FileNotFoundError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--route", type=parse_route, action="append", required=True,
                        help="LISTEN=TARGET, e.g. 127.0.0.2:10125=127.0.0.2:10025 (repeatable)")
    parser.add_argument("--delay-ms", type=int, required=True,
                        help="delay added in each direction (0-10000 ms)")
    parser.add_argument("--lifetime", type=float, default=600, help="seconds before exiting")
    parser.add_argument("--max-conn", type=int, default=64, help="connections open at once")
    parser.add_argument("--idle-timeout", type=float, default=30,
                        help="seconds without data from one side before the connection is cut")
    parser.add_argument("--pid-file", help="written once every listener is bound")
    parser.add_argument("--new-session", action="store_true", help="setsid() first")
    args = parser.parse_args()
    if not 0 <= args.delay_ms <= 10000:
        parser.error("--delay-ms must be within 0..10000")
    if not 0 < args.lifetime <= 86400 or not 0 < args.max_conn <= 1000 or args.idle_timeout <= 0:
        parser.error("--lifetime, --max-conn and --idle-timeout must be positive and bounded")
    if args.new_session:
        try:
            os.setsid()
        except OSError:
            pass
    try:
        asyncio.run(run(args))
    except OSError as error:
        log("error: %s" % error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
