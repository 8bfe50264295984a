#!/usr/bin/env python3
"""A scriptable HTTP(S) server for the HTTP tests, on 127.0.0.1 only.

Starts on a free port, prints "PORT <n>" on a line of its own, and serves
until its standard input is closed (so it never outlives the test that
started it) or it is killed.  With --tls it makes a throwaway self-signed
certificate with the openssl command, prints "CA <file>" (the
certificate, for clients to trust) before the port, and speaks HTTPS;
the file is deleted when it stops (unless killed).

Each path is one behaviour; see ROUTES below.  Python 3 standard library
only.
"""

import gzip
import hashlib
import http.server
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

from certificates import self_signed_context


def _query(handler):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)


def _param(handler, name, default):
    return _query(handler).get(name, [default])[0]


# Every rule of the WHATWG event stream format at least once; the
# events it holds are listed in test/lisp/aio-sse-test.el.
SSE_SAMPLE = (
    b"\xef\xbb\xbf"                       # a byte order mark
    b": a comment\r\n"
    b"data: first\n\n"                     # LF
    b"event: greeting\r\ndata: caf\xc3\xa9\r\n\r\n"   # CR LF, UTF-8
    b"data: line one\rdata: line two\r\r"  # CR alone, multi-line data
    b"id: 42\ndata:no space\n\n"           # an id; no space after the colon
    b"data\n\n"                            # a field without a colon: empty data
    b"retry: 1500\ndata: with retry\n\n"
    b"retry: soon\ndata: bad retry\n\n"     # retry not digits: ignored
    b"event: ping\n\n"                      # no data: not dispatched
    b"data:  two spaces\nid\n\n"             # one space dropped; id reset
    b"data: \xe2\x82\xac euro\n\n"
    b"data: never finished\n"                # no blank line: dropped
)


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1: keep-alive and chunked bodies.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY,
    # Nagle and delayed ACKs add 40 ms to many responses.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    # -- helpers ----------------------------------------------------------

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, status, location):
        self._send(status, b"redirecting\n", headers=[("Location", location)])

    def _origin(self):
        scheme = "https" if self.server.tls else "http"
        return "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])

    # -- routes -----------------------------------------------------------

    def r_hello(self):
        self._send(200, b"hello\n")

    def r_echo(self):
        """The request as the server saw it: request line, headers, body."""
        body = self._body()
        lines = ["%s %s" % (self.command, self.path)]
        lines += ["%s: %s" % (k, v) for k, v in self.headers.items()]
        text = ("\n".join(lines) + "\n\n").encode("latin-1") + body
        self._send(200, text, "application/octet-stream")

    def r_chunked(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(5):
            data = ("chunk-%d\n" % i).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def r_gzip(self):
        self._send(200, gzip.compress(b"compressed hello\n" * 100), "text/plain",
                   [("Content-Encoding", "gzip")])

    def r_status(self):
        code = int(self.path.split("?")[0].rsplit("/", 1)[1])
        self._send(code, b"status %d page\n" % code, "text/html")

    def r_headers(self):
        self._send(200, b"headers\n", "text/plain",
                   [("X-Mixed-Case", "Some Value"), ("Set-Cookie", "a=1; Path=/"),
                    ("Set-Cookie", "b=2; Path=/"), ("X-Empty", "")])

    def r_early_hints(self):
        """A 103 block before the final response: only the last one counts."""
        self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n")
        self._send(200, b"final\n", headers=[("X-Final", "yes")])

    def r_redirect(self):
        rest = urllib.parse.urlsplit(self.path).path[len("/redirect/"):]
        if rest == "relative":
            self._redirect(302, "/hello")
        elif rest == "dot-relative":
            self._redirect(302, "../hello")
        elif rest == "absolute":
            self._redirect(301, self._origin() + "/hello")
        elif rest == "see-other":
            self._body()
            self._redirect(303, "/echo")
        elif rest == "loop":
            self._redirect(302, "/redirect/loop")
        elif rest.startswith("chain/"):
            n = int(rest[len("chain/"):])
            self._redirect(302, "/redirect/chain/%d" % (n - 1) if n > 0 else "/hello")
        elif rest == "to":
            self._redirect(302, _param(self, "url", "/hello"))
        else:
            self._send(404, b"no such redirect\n")

    def r_close_mid_body(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 100)
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def r_never(self):
        """Reads the request and never answers."""
        self.server.stopping.wait(120)
        self.close_connection = True

    def r_slow(self):
        with self.server.lock:
            self.server.active += 1
            self.server.most_active = max(self.server.most_active, self.server.active)
        try:
            time.sleep(float(_param(self, "delay", "0.5")))
        finally:
            # Before the answer: once the client has it, it may start the
            # next request on another connection at once.
            with self.server.lock:
                self.server.active -= 1
        self._send(200, b"slow\n")

    def r_most_active(self):
        """How many /slow requests ran at once at most; resets the count."""
        with self.server.lock:
            most, self.server.most_active = self.server.most_active, 0
        self._send(200, b"%d" % most)

    # Replies no HTTP client should accept, sent raw; the connection
    # closes after each.
    RAW = {
        "http09": b"garbage reply\r\n\r\n",
        "big-status": b"HTTP/1.1 999999999999 OK\r\nContent-Length: 2\r\n\r\nok",
        "bad-version": b"HTTP/7.3 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "huge-header": (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200000
                        + b"\r\nContent-Length: 2\r\n\r\nok"),
        "many-headers": (b"HTTP/1.1 200 OK\r\n"
                         + b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(400))
                         + b"Content-Length: 2\r\n\r\nok"),
        "bad-chunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"zz\r\nabc\r\n0\r\n\r\n"),
        "bad-gzip": (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                     b"Content-Length: 5\r\n\r\nhello"),
    }

    def r_raw(self):
        self.close_connection = True
        self.wfile.write(self.RAW[_param(self, "kind", "http09")])
        self.wfile.flush()

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def r_drip(self):
        """N chunks "drip-<i>\\n", one every DELAY seconds."""
        n = int(_param(self, "n", "5"))
        delay = float(_param(self, "delay", "0.05"))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(n):
                self._chunk(b"drip-%d\n" % i)
                time.sleep(delay)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def r_sse(self):
        """The event stream of test/lisp/aio-sse-test.el, PIECE bytes at a time."""
        piece = int(_param(self, "piece", "0")) or len(SSE_SAMPLE)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(SSE_SAMPLE), piece):
            self._chunk(SSE_SAMPLE[i:i + piece])
            if piece < len(SSE_SAMPLE):
                time.sleep(0.001)
        self.wfile.write(b"0\r\n\r\n")

    def r_forever(self):
        """Streams until the client leaves; /forever-closed says if it did."""
        self.server.forever_closed.clear()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while not self.server.stopping.is_set():
                self._chunk(b"x" * 1024)
                time.sleep(0.01)
        except OSError:
            self.server.forever_closed.set()
        self.close_connection = True

    def r_forever_closed(self):
        closed = self.server.forever_closed.wait(float(_param(self, "wait", "5")))
        self._send(200, b"closed" if closed else b"open")

    def r_sha256(self):
        """The SHA-256 of the request body, and its length."""
        body = self._body()
        self._send(200, ("%s %d" % (hashlib.sha256(body).hexdigest(), len(body))).encode())

    def r_endless(self):
        """Claims an enormous length and sends zeros until the client leaves."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", _param(self, "claim", "100000000000"))
        self.end_headers()
        block = bytes(1 << 16)
        try:
            while not self.server.stopping.is_set():
                self.wfile.write(block)
        except OSError:
            pass
        self.close_connection = True

    def r_bytes(self):
        """N bytes of a repeating pattern; chunked=1 hides the length."""
        n = int(_param(self, "n", "0"))
        chunked = _param(self, "chunked", "0") == "1"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        block = bytes(range(256)) * 256  # 64 KiB
        sent = 0
        try:
            while sent < n:
                piece = block[: min(len(block), n - sent)]
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
                sent += len(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the client gave up

    def r_charset(self):
        """The line "café à la crème" in CS, REPEAT times."""
        charset = _param(self, "cs", "utf-8")
        repeat = int(_param(self, "repeat", "1"))
        self._send(200, "caf\u00e9 \u00e0 la cr\u00e8me\n".encode(charset) * repeat,
                   "text/plain; charset=%s" % charset)

    ROUTES = {
        "/hello": r_hello, "/echo": r_echo, "/chunked": r_chunked,
        "/gzip": r_gzip, "/headers": r_headers, "/early-hints": r_early_hints,
        "/close-mid-body": r_close_mid_body, "/never": r_never,
        "/slow": r_slow, "/bytes": r_bytes, "/charset": r_charset,
        "/most-active": r_most_active, "/raw": r_raw, "/endless": r_endless,
        "/drip": r_drip, "/sse": r_sse, "/forever": r_forever,
        "/forever-closed": r_forever_closed, "/sha256": r_sha256,
    }

    def _dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/status/"):
            return self.r_status()
        if path.startswith("/redirect/"):
            return self.r_redirect()
        route = self.ROUTES.get(path)
        if route is None:
            return self._send(404, b"not found\n")
        return route(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops bursts of connections

    def __init__(self, context):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context
        self.tls = context is not None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.forever_closed = threading.Event()
        self.active = 0
        self.most_active = 0

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # client that fails it cannot stall the accepting thread.
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of the tests


def main():
    tmp = None
    context = None
    if "--tls" in sys.argv[1:]:
        tmp = tempfile.mkdtemp(prefix="aio-http-test-")
        context, cert = self_signed_context(tmp, "127.0.0.1", ["IP:127.0.0.1"])
        print("CA %s" % cert, flush=True)
    server = Server(context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin or exits
    except KeyboardInterrupt:
        pass
    server.stopping.set()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
