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

--stats-file PATH: exact connection counts, rewritten (temp file + rename) at most once a
second when they changed, and at exit:
    {"listen":   {"127.0.0.2:10125": {"open": 0, "max_open": 3, "accepted": 7, "refused": 0}},
     "upstream": {"127.0.0.2:10025": {"open": 0, "max_open": 3, "connected": 7}},
     "final": true}
A client connection counts as open from the proxy's accept until the proxy has closed both
it and its upstream connection (the sockets, not just the streams); an upstream connection
from its connect() until the proxy has closed it. max_open is the most open at once.
"""

import argparse
import asyncio
import ipaddress
import json
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


class Stats:
    """Connections open at once per listen address and per upstream address, for --stats-file.
    A connection is closed once its socket is: StreamWriter.wait_closed() returns after the
    transport's connection_lost, which closes the socket before any awaiting task resumes."""

    def __init__(self, path, routes):
        self.path = path
        self.listen = {show(listen): {"open": 0, "max_open": 0, "accepted": 0, "refused": 0}
                       for listen, _ in routes}
        self.upstream = {show(target): {"open": 0, "max_open": 0, "connected": 0}
                         for _, target in routes}
        self.dirty = True
        self.watchers = set()
        self.write_failed = False

    def opened(self, entry, counter):
        entry["open"] += 1
        entry[counter] += 1
        entry["max_open"] = max(entry["max_open"], entry["open"])
        self.dirty = True

    def closed(self, entry):
        entry["open"] -= 1
        self.dirty = True

    def when_closed(self, writers, entry):
        """Counts `entry` closed once every writer's socket is closed (in a task of its own:
        the relay never waits for it)."""
        async def watch():
            try:
                for writer in writers:
                    try:
                        await writer.wait_closed()
                    except Exception:  # connection_lost(exc): closed all the same
                        pass
                self.closed(entry)
            finally:
                self.watchers.discard(task)
        task = asyncio.ensure_future(watch())
        self.watchers.add(task)

    def write(self, final=False):
        text = json.dumps({"listen": self.listen, "upstream": self.upstream, "final": final},
                          indent=1, sort_keys=True)
        try:
            with open(self.path + ".tmp", "w") as f:
                f.write(text + "\n")
            os.replace(self.path + ".tmp", self.path)
            self.dirty = False
        except OSError as error:
            if not self.write_failed:
                log("stats file %s: %s" % (self.path, error))
                self.write_failed = True

    async def keep_written(self):
        while True:
            await asyncio.sleep(1)
            if self.dirty:
                self.write()


class Proxy:
    def __init__(self, args):
        self.delay = args.delay_ms / 1000.0
        self.max_conn = args.max_conn
        self.idle = args.idle_timeout
        self.active = 0
        self.serial = 0
        self.tasks = set()
        self.stats = Stats(args.stats_file, args.route) if args.stats_file else None

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

    async def handle(self, listen, target, client_reader, client_writer):
        self.serial += 1
        tag = "c%d" % self.serial
        peer = client_writer.get_extra_info("peername")
        stats = self.stats
        if stats:
            listen_entry = stats.listen[show(listen)]
            stats.opened(listen_entry, "accepted")
        if self.active >= self.max_conn:
            log("%s %s refused: %d connections already open" % (tag, peer, self.active))
            client_writer.transport.abort()
            if stats:
                listen_entry["refused"] += 1
                stats.when_closed([client_writer], listen_entry)
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
            if stats:
                upstream_entry = stats.upstream[show(target)]
                stats.opened(upstream_entry, "connected")
                stats.when_closed([writer], upstream_entry)
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
            closing = [client_writer]
            if server_writer.done() and not server_writer.cancelled():
                server_writer.result().close()
                closing.append(server_writer.result())
            else:
                server_writer.cancel()
            if stats:
                stats.when_closed(closing, listen_entry)
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

        async def on_client(reader, writer, listen=listen, target=target):
            await proxy.handle(listen, target, reader, writer)

        servers.append(await asyncio.start_server(on_client, str(ip), port, reuse_address=True))
        log("listening on %s -> %s, %d ms each way" % (show(listen), show(target), args.delay_ms))
    stats_writer = None
    if proxy.stats:
        proxy.stats.write()
        stats_writer = asyncio.ensure_future(proxy.stats.keep_written())
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
    if proxy.stats:
        # Count the sockets the cancelled relays close: let them finish (at most 2 s in all).
        stats_writer.cancel()
        deadline = loop.time() + 2
        if proxy.tasks:
            await asyncio.wait(list(proxy.tasks), timeout=2)
        if proxy.stats.watchers:
            await asyncio.wait(list(proxy.stats.watchers),
                               timeout=max(0.01, deadline - loop.time()))
        proxy.stats.write(final=True)
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
    parser.add_argument("--stats-file",
                        help="JSON with the connections open at once per listen and upstream "
                             "address, rewritten at most once a second and at exit")
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
