"""A desk whose handoff queue is open around the clock, the bot's calls, and agents on /ws/agent (auth frame first)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from scripts.launch import always_open_handoff
from service.desk_client import bot_token
from service.settings import desk_signing_key, load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import Desk, MovableClock, running_desk

STEP_S = 5.0


@asynccontextmanager
async def handoff_desk(tmp_path: Path, clock: MovableClock) -> AsyncIterator[Desk]:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
                              "HANDOFF_CONFIG": str(always_open_handoff(tmp_path))})
    tickets = build_ticket_service(settings, clock)
    try:
        async with running_desk(settings, tickets) as desk:
            desk.app.ctx.test_secret = desk_signing_key(settings)
            yield desk
    finally:
        tickets._engine.dispose()


async def bot(desk: Desk, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """A call of the bot's handoff API, as the action server makes it."""
    return await desk.call("POST", path, bot_token(desk.app.ctx.test_secret), body)


def handoff_request(sender: str = "web-c001", text: str = "") -> dict[str, Any]:
    """张伟 (C001) asks for a person after a logistics question; the context carries his phone number."""
    return {"sender_id": sender, "channel": "rest", "reason": "request_human", "intent": "query_logistics",
            "summary": "客户询问物流，要求人工", "customer_id": "C001",
            "context": {"sender_id": sender, "customer": {"id": "C001", "name": "张伟", "phone": "13800138000"},
                        "transcript": [{"speaker": "user", "text": text or "查一下物流", "intent": "query_logistics"}],
                        "slots": {"customer_id": "C001"}}}


class AgentSocket:
    """An agent's /ws/agent; frames are kept until a step asks for them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, step_s: float = STEP_S) -> None:
        self.ws = ws
        self.step_s = step_s  # how long a step waits for its frame
        self.unread: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, desk: Desk, token: str | None, first: Any = None, query: str = "") -> AgentSocket:
        """Connect and send the auth frame (or `first` instead, when given)."""
        ws = await desk.session.ws_connect(desk.url.replace("http", "ws", 1) + "/ws/agent" + query)
        socket = cls(ws)
        frame = first if first is not None else {"type": "auth", "token": token}
        if frame != "":
            await ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))
        return socket

    async def next(self, wanted: Callable[[dict[str, Any]], bool], timeout_s: float | None = None) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            while True:
                for index, event in enumerate(self.unread):
                    if wanted(event):
                        return self.unread.pop(index)
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"socket closed: {message.type} {self.ws.close_code}")
                self.unread.append(json.loads(message.data))

        return await asyncio.wait_for(read(), timeout_s or self.step_s)

    async def send(self, **command: Any) -> dict[str, Any]:
        await self.ws.send_str(json.dumps(command, ensure_ascii=False))
        return await self.next(lambda e: e.get("type") in ("ok", "error") and e.get("request") == command["type"])

    async def closed(self, timeout_s: float = STEP_S) -> int | None:
        """Wait for the desk to close the socket; its close code."""
        async def wait() -> int | None:
            while True:
                message = await self.ws.receive()
                if message.type == aiohttp.WSMsgType.CLOSE:
                    return int(message.data)  # the code the desk sent (close_code may say 1006 once the TCP is gone)
                if message.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    return self.ws.close_code
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.unread.append(json.loads(message.data))

        return await asyncio.wait_for(wait(), timeout_s)
