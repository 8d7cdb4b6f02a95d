#!/usr/bin/env python3
"""delay_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_S — a loopback HTTP/1.1
proxy that forwards each request to 127.0.0.1:UPSTREAM_PORT and holds every
response DELAY_S seconds before passing it on (a slow dependency).  Keep-alive
on both sides; bodies by Content-Length (what keel sends)."""
import asyncio
import sys


async def read_message(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head + body


async def handle(creader, cwriter, upstream, delay):
    ureader = uwriter = None
    try:
        while True:
            try:
                req = await read_message(creader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            if uwriter is None:
                ureader, uwriter = await asyncio.open_connection("127.0.0.1", upstream)
            uwriter.write(req)
            await uwriter.drain()
            resp = await read_message(ureader)
            await asyncio.sleep(delay)
            cwriter.write(resp)
            await cwriter.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        for w in (cwriter, uwriter):
            if w is not None:
                w.close()


async def main():
    listen, upstream, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream, delay), "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


asyncio.run(main())
