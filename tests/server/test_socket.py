"""The server's socket answers without Nagle's delay (each answer used to wait ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from server.cli import listening_socket


async def test_accepted_connections_have_nagle_off() -> None:
    sock = listening_socket("127.0.0.1", 0)
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted = writer.get_extra_info("socket")
        seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(handle, sock=sock)  # as uvicorn does with our socket
    async with server:
        _reader, writer = await asyncio.open_connection(*sock.getsockname())
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
    assert seen and seen[0] != 0
