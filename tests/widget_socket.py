"""The widget's side of socket.io for Python tests (Engine.IO v4 over a WebSocket), spoken by hand.

The widget itself uses socket.io-client from npm; python-socketio's own client wants a newer aiohttp than
Rasa 3.6 pins, so the Python tests use this small client instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp


class WidgetSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def emit(self, event: str, data: Any) -> None:
        await self.ws.send_str("42" + json.dumps([event, data]))

    async def bot_messages(self, until_quiet_s: float = 2.0, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """The bot_uttered payloads that arrive until none came for `until_quiet_s` (or `timeout_s` passed)."""
        received: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            try:
                frame = await self.ws.receive(timeout=until_quiet_s)
            except asyncio.TimeoutError:
                if received:
                    break
                continue
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            if frame.data == "2":  # ping
                await self.ws.send_str("3")
            elif frame.data.startswith("42"):
                name, data = json.loads(frame.data[2:])
                if name == "bot_uttered":
                    received.append(data)
        return received


@asynccontextmanager
async def widget_socket(base_url: str, session_id: str) -> AsyncIterator[WidgetSocket]:
    """A socket.io connection to `base_url` that has joined `session_id`, as the widget does on load."""
    url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as client, client.ws_connect(url) as ws:
        await ws.receive(timeout=10)  # the engine.io open packet
        await ws.send_str("40")  # join the namespace
        socket = WidgetSocket(ws)
        await socket.emit("session_request", {"session_id": session_id})
        yield socket
