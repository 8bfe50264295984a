#!/usr/bin/env python3
"""TCP echo peers for the aio-tcp tests, on 127.0.0.1 only.

  tcp_echo.py serve
      An echo server on a free port: prints "PORT <n>", echoes every
      connection's bytes back until it closes, and exits when its
      standard input closes.
  tcp_echo.py serve --flood N
      As serve, but each connection is sent N bytes (the digits 0 to 9
      over and over) and then closed, whatever it sends.
  tcp_echo.py clients PORT N ROUNDS
      N connections at once to PORT, each sending ROUNDS lines and
      reading each echo back; prints "OK <n>" with the number of round
      trips that came back right, then exits 0 if all did.

Python 3 standard library only.
"""

import asyncio
import sys


async def closing(writer, work):
    """Run WORK, a coroutine writing to WRITER; close WRITER after it,
    a peer that hung up early included."""
    try:
        await work
    except ConnectionError:
        pass
    finally:
        writer.close()


async def send(writer, data):
    writer.write(data)
    await writer.drain()


async def echo(reader, writer):
    async def loop():
        while data := await reader.read(65536):
            await send(writer, data)
    await closing(writer, loop())


def flooder(n):
    async def flood(_reader, writer):
        await closing(writer, send(writer, (b"0123456789" * (n // 10 + 1))[:n]))
    return flood


async def serve(flood):
    handler = flooder(flood) if flood is not None else echo
    server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=2048)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    # Ends when stdin closes: the test that started it is gone.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


async def client(port, rounds, index):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    good = 0
    for r in range(rounds):
        line = f"client {index} round {r}\n".encode()
        writer.write(line)
        await writer.drain()
        if await reader.readexactly(len(line)) == line:
            good += 1
    writer.close()
    return good


async def clients(port, n, rounds):
    results = await asyncio.gather(*(client(port, rounds, i) for i in range(n)), return_exceptions=True)
    good = sum(r for r in results if isinstance(r, int))
    print("OK", good, flush=True)
    return good == n * rounds


def main():
    if sys.argv[1] == "serve":
        args = sys.argv[2:]
        flood = int(args[args.index("--flood") + 1]) if "--flood" in args else None
        asyncio.run(serve(flood))
    else:
        port, n, rounds = map(int, sys.argv[2:5])
        sys.exit(0 if asyncio.run(clients(port, n, rounds)) else 1)


if __name__ == "__main__":
    main()
