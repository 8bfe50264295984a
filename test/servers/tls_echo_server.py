#!/usr/bin/env python3
"""A TLS echo server for the TLS connection tests, on 127.0.0.1 only.

Makes a throwaway certificate for "localhost" and 127.0.0.1 with the
openssl command, prints "CA <file>" (the certificate, for clients to
trust) and then "PORT <n>" on lines of their own, and serves until its
standard input is closed (so it never outlives the test that started
it).  The certificate file is deleted then.

Each connection is greeted with "hello\\n"; what the client sends comes
back, except four requests, each sent alone (but what follows "hold"
may come with it):
  "close\\n"     answered "bye\\n", then the TLS session and the
                 connection are closed;
  "drop\\n"      answered "bye\\n", then the connection is closed
                 without closing the TLS session first;
  "flood <n>\\n" answered with <n> bytes "x";
  "hold <ms>\\n"  nothing read for <ms> milliseconds, then the echo
                 goes on.
Python 3 standard library only.
"""

import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time

from certificates import self_signed_context


def serve(context, raw):
    try:
        conn = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()
        return
    try:
        conn.sendall(b"hello\n")
        while True:
            data = conn.recv(65536)
            if not data:
                break
            if data == b"close\n":
                conn.sendall(b"bye\n")
                conn = conn.unwrap()
                break
            if data == b"drop\n":
                conn.sendall(b"bye\n")
                break  # without the TLS close: a bare TCP close
            if data.startswith(b"hold "):
                # Reads nothing for that long: the client's writes back
                # up behind the buffers of both ends (the receiving one
                # grows only as it is read).
                line, _, rest = data.partition(b"\n")
                time.sleep(int(line[5:]) / 1000)
                conn.sendall(rest)
                continue
            if data.startswith(b"flood "):
                conn.sendall(b"x" * int(data[6:]))
                continue
            conn.sendall(data)
    except (ssl.SSLError, OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    tmp = tempfile.mkdtemp(prefix="aio-tls-test-")
    context, cert = self_signed_context(tmp, "localhost", ["DNS:localhost", "IP:127.0.0.1"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)

    def accept():
        while True:
            raw, _ = listener.accept()
            threading.Thread(target=serve, args=(context, raw), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print("CA %s" % cert, flush=True)
    print("PORT %d" % listener.getsockname()[1], flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin or exits
    except KeyboardInterrupt:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
