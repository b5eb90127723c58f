"""A small client of the app channel (docs/app-channel.md), as a mobile app speaks it; for tests and demos.

    token = app_token(secret, "u-1001", "C001")
    client = AppClient("http://127.0.0.1:5005", token)
    answer = await client.send("我的订单到哪了")        # the bot's frames
    async with client.live() as live:                     # the WebSocket, authenticated
        push = await live.next()                          # {"type": "bot", "text": ..., ...}
    earlier = await client.history()
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from connectors.app_tokens import make_app_token

PREFIX = "/webhooks/app"
STEP_S = 5.0


def app_token(secret: str, sub: str, customer_id: str, ttl_s: float = 600) -> str:
    """A token as the shop's backend makes it: HS256, `sub`, `customer_id`, `iat` now, `exp` `ttl_s` ahead."""
    now = time.time()
    return make_app_token(secret, sub, customer_id, expires_at=now + ttl_s, issued_at=int(now))


class AppError(AssertionError):
    """The channel refused a request; `status` and the decoded `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class LiveSocket:
    """The app's WebSocket; frames are kept until a step asks for them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.unread: list[dict[str, Any]] = []

    async def send(self, frame: Any) -> None:
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))

    async def next(self, wanted: Callable[[dict[str, Any]], bool] | None = None,
                   timeout_s: float = STEP_S) -> dict[str, Any]:
        """The next frame (that `wanted` accepts); AssertionError when the socket closes first."""
        accept = wanted or (lambda frame: True)

        async def read() -> dict[str, Any]:
            while True:
                for index, frame in enumerate(self.unread):
                    if accept(frame):
                        return self.unread.pop(index)
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"socket closed: {self.ws.close_code} {message.extra!r}")
                self.unread.append(json.loads(message.data))

        return await asyncio.wait_for(read(), timeout_s)

    async def closed(self, timeout_s: float = STEP_S) -> tuple[int | None, list[dict[str, Any]]]:
        """Wait for the server to close the socket: (close code, the frames that came before)."""

        async def drain() -> int | None:
            while True:
                message = await self.ws.receive()
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.unread.append(json.loads(message.data))
                elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    return self.ws.close_code
                elif message.type == aiohttp.WSMsgType.ERROR:
                    return self.ws.close_code

        code = await asyncio.wait_for(drain(), timeout_s)
        return code, self.unread


class AppClient:
    """The app's HTTP calls and its live socket, with one token."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    def _headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None, token: str | None = "") -> tuple[int, Any, dict[str, str]]:
        """(status, decoded JSON body or text, headers); `token=None` sends none, "" the client's own."""
        data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        sent = {**self._headers(self.token if token == "" else token), "Content-Type": "application/json",
                **(headers or {})}
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            async with session.request(method, self.base_url + PREFIX + path, data=data, headers=sent) as answer:
                text = await answer.text()
                try:
                    decoded: Any = json.loads(text)
                except ValueError:
                    decoded = text
                return answer.status, decoded, dict(answer.headers)

    async def send(self, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Send a message; the bot's answer (its frames). AppError when the channel refuses it."""
        body: dict[str, Any] = {"message": text, **({"metadata": metadata} if metadata is not None else {})}
        status, answer, _ = await self.call("POST", "/webhook", body)
        if status != 200:
            raise AppError(status, answer)
        return list(answer)

    async def history(self) -> list[dict[str, Any]]:
        """The conversation again: the customer's and the bot's messages, oldest first."""
        status, answer, _ = await self.call("GET", "/history")
        if status != 200:
            raise AppError(status, answer)
        return list(answer)

    @asynccontextmanager
    async def live(self, authenticate: bool = True) -> AsyncIterator[LiveSocket]:
        """The WebSocket, authenticated (its `ready` frame read); `authenticate=False`: just connected."""
        url = self.base_url.replace("http", "ws", 1) + PREFIX + "/ws"
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            async with session.ws_connect(url, autoping=True) as ws:
                socket = LiveSocket(ws)
                if authenticate:
                    await socket.send({"type": "auth", "token": self.token})
                    ready = await socket.next()
                    if ready.get("type") != "ready":
                        raise AppError(401, ready)
                yield socket
