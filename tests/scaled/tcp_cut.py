"""A loopback TCP relay in front of a shared service (PostgreSQL, Redis) that a test can cut, as a restart would.

The topology's processes reach the service through the relay (scripts/scaled.py's SharedServices takes any
host and port). `cut(seconds)` does what a restart of the service does to its clients: every open connection
is reset, and for `seconds` new ones are refused; then connections go through again. The relay runs its own
event loop in a thread, so it serves while the test's loop waits.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

CHUNK = 64 * 1024


class TcpCut:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._refuse_until = 0.0
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"tcp-cut-{target_port}", daemon=True)

    def start(self) -> TcpCut:
        self._thread.start()
        ready = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = ready.result(timeout=10)
        return self

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._refuse_until:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, asyncio.TimeoutError):
            _reset(writer)
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)
        self._writers -= {writer, up_writer}
        for end in (writer, up_writer):
            end.close()

    def cut(self, seconds: float) -> None:
        """Reset every connection now and refuse new ones for `seconds` (thread-safe, returns at once)."""
        def reset_all() -> None:
            self._refuse_until = time.monotonic() + seconds
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()

        self._loop.call_soon_threadsafe(reset_all)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                _reset(writer)

        with suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, as a server process that died leaves its clients."""
    sock = writer.get_extra_info("socket")
    with suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    finally:
        with suppress(Exception):
            writer.close()


@contextmanager
def relayed(host: str, port: int) -> Iterator[TcpCut]:
    relay = TcpCut(host, port).start()
    try:
        yield relay
    finally:
        relay.stop()
