#!/usr/bin/env python3
"""An HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose.

Starts on a free port, prints "PORT <n>" on a line of its own (with
--listeners K, on K ports, and then "PORTS <n1> <n2> ..."), and serves
until its standard input is closed (so it never outlives the test that
started it) or it is killed.  Python 3 standard library only.

Every request gets one behaviour, a *fault*:

  correct        a 200 response with a body naming the request
  reset-headers  part of the header block, then a TCP reset
  reset-body     the headers and part of the body, then a TCP reset
  stall          reads the request and never answers
  garbage        bytes that are no HTTP at all, then close
  truncated      a chunked body whose terminating chunk never comes
  huge-header    a response with a 200 KB header line
  close          closes the connection without a byte
  bad-status     a status code of 999999999999
  slow           a correct response after ?delay=SECONDS (default 1)
  zeros          Content-Length: 100000000000, then zeros until the
                 client hangs up
  big            a correct response of ?size=BYTES bytes

A path /kind/<fault> asks for that fault.  A path /r/<n> gets a fault
drawn at random among --faults (the first eight above by default), from
a generator seeded with --seed and n: the same n always gets the same
fault, whatever the order in which requests arrive.  Any other path
gets a fault drawn from the connection's own generator.

Each fault is logged on standard output as "F <path> <fault>".  A line
"stats" on standard input is answered with "STATS open=<connections
open> max=<most open at once> connections=<accepted> requests=<read>".
Correct responses keep the connection alive; an idle connection is
closed after --idle seconds.
"""

import argparse
import asyncio
import os
import random
import resource
import socket
import struct
import sys
import threading
import urllib.parse

DEFAULT_FAULTS = ["correct", "reset-headers", "reset-body", "stall", "garbage",
                  "truncated", "huge-header", "close"]
ALL_FAULTS = DEFAULT_FAULTS + ["bad-status", "slow", "zeros", "big"]

# The largest request header block and body read, so that a client's
# 10 MB header value is read, not refused.
READ_LIMIT = 64 << 20


class Server:
    def __init__(self, seed, faults, idle):
        self.seed = seed
        self.faults = faults
        self.idle = idle
        self.open = 0
        self.max_open = 0
        self.connections = 0
        self.requests = 0
        self.stopping = None  # an asyncio.Event, made inside the loop

    def log(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def stats(self):
        self.log("STATS open=%d max=%d connections=%d requests=%d"
                 % (self.open, self.max_open, self.connections, self.requests))

    def choose(self, path, conn_rng):
        parts = urllib.parse.urlsplit(path).path.split("/")
        if len(parts) >= 3 and parts[1] == "kind" and parts[2] in ALL_FAULTS:
            return parts[2]
        if len(parts) >= 3 and parts[1] == "r" and parts[2].isdigit():
            # A string seed is hashed the same way on every run.
            return random.Random("%d:%s" % (self.seed, parts[2])).choice(self.faults)
        return conn_rng.choice(self.faults)

    async def handle(self, reader, writer):
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        conn_rng = random.Random("%d:conn:%d" % (self.seed, self.connections))
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle)
                except (asyncio.TimeoutError, asyncio.IncompleteReadError,
                        asyncio.LimitOverrunError, ConnectionError):
                    return
                self.requests += 1
                request_line, _, rest = head.decode("latin-1").partition("\r\n")
                fields = request_line.split(" ")
                path = fields[1] if len(fields) > 1 else "/"
                length = 0
                for line in rest.split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length" and value.strip().isdigit():
                        length = int(value.strip())
                if length:
                    try:
                        await reader.readexactly(min(length, READ_LIMIT))
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                fault = self.choose(path, conn_rng)
                self.log("F %s %s" % (path, fault))
                keep = await self.serve(fault, path, reader, writer, conn_rng)
                if not keep:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            self.open -= 1
            try:
                writer.close()
            except OSError:
                pass

    def reset(self, writer):
        """Close with an RST instead of a FIN."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def serve(self, fault, path, reader, writer, rng):
        """Answer one request with FAULT; return True to keep the connection."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if fault == "correct":
            body = ("ok %s\n" % path).encode("latin-1")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            return True
        if fault == "slow":
            await asyncio.sleep(float(query.get("delay", ["1"])[0]))
            return await self.serve("correct", path, reader, writer, rng)
        if fault == "reset-headers":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
            await writer.drain()
            await asyncio.sleep(0.01)
            self.reset(writer)
            return False
        if fault == "reset-body":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
            await writer.drain()
            await asyncio.sleep(0.01)
            self.reset(writer)
            return False
        if fault == "stall":
            # Until the client hangs up or the server stops.
            reading = asyncio.ensure_future(reader.read(1))
            stopping = asyncio.ensure_future(self.stopping.wait())
            await asyncio.wait([reading, stopping], return_when=asyncio.FIRST_COMPLETED)
            reading.cancel()
            stopping.cancel()
            return False
        if fault == "garbage":
            writer.write(bytes(rng.randrange(1, 256) for _ in range(64)).replace(b"H", b"h"))
            await writer.drain()
            return False
        if fault == "truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n5\r\nworld\r\n")
            await writer.drain()
            return False
        if fault == "huge-header":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * (200 * 1024)
                         + b"\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return False
        if fault == "close":
            return False
        if fault == "bad-status":
            writer.write(b"HTTP/1.1 999999999999 Weird\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return False
        if fault == "zeros":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n")
            block = bytes(1 << 20)
            while True:
                writer.write(block)
                await writer.drain()
        if fault == "big":
            size = int(query.get("size", ["0"])[0])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            block = bytes(1 << 20)
            while size > 0:
                writer.write(block[:min(size, len(block))])
                size -= len(block)
                await writer.drain()
            return True
        raise ValueError(fault)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default=",".join(DEFAULT_FAULTS),
                        help="comma-separated faults drawn for /r/<n> paths")
    parser.add_argument("--idle", type=float, default=1.0,
                        help="seconds an idle kept-alive connection stays open")
    parser.add_argument("--listeners", type=int, default=1,
                        help="how many ports to serve on (clients count hosts by port)")
    args = parser.parse_args()
    faults = args.faults.split(",")
    for fault in faults:
        if fault not in ALL_FAULTS:
            parser.error("unknown fault %r" % fault)
    # Thousands of connections at once: as many descriptors as allowed.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    server = Server(args.seed, faults, args.idle)
    loop = asyncio.new_event_loop()

    async def start():
        server.stopping = asyncio.Event()
        return [await asyncio.start_server(server.handle, "127.0.0.1", 0,
                                           backlog=4096, limit=READ_LIMIT)
                for _ in range(max(1, args.listeners))]

    listeners = loop.run_until_complete(start())
    ports = [listener.sockets[0].getsockname()[1] for listener in listeners]
    server.log("PORT %d" % ports[0])
    if args.listeners > 1:
        server.log("PORTS " + " ".join(str(port) for port in ports))

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "stats":
                loop.call_soon_threadsafe(server.stats)
        loop.call_soon_threadsafe(server.stopping.set)
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    for listener in listeners:
        listener.close()
    sys.stdout.flush()
    # Stalled handlers and their sockets go with the process.
    os._exit(0)


if __name__ == "__main__":
    main()
