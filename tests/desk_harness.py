"""The staff desk served in the test's own event loop on a free port, called over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sanic import Sanic

from desk.app import create_app
from desk.auth import PasswordHasher
from scripts.launch import free_port
from service.clock import CST, Clock
from service.settings import DEFAULT_DEMO_PASSWORD, Settings
from service.tickets.models import TicketDraft
from service.tickets.rules import Category
from service.tickets.service import TicketService

NOW = datetime(2026, 11, 21, 10, 0)
FAST_HASHER = PasswordHasher(iterations=1_000)  # the real cost is for production; tests log in a lot
# Sanic rewrites its Http class on every server start ("touchup"); test mode keeps the originals, so many desks
# can start one after another in one process.
Sanic.test_mode = True


class MovableClock(Clock):
    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        super().__init__(source=lambda: self.moment.replace(tzinfo=CST))

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class FakeRasa:
    """Records trigger_intent calls instead of talking to Rasa."""

    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        self.calls.append((sender_id, intent, entities))
        return True

    async def wait_for(self, count: int, timeout_s: float = 2.0) -> list[tuple[str, str, dict[str, str]]]:
        """The calls, once there are `count` of them (or the timeout passed)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(self.calls) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        return self.calls


def draft(category: Category = Category.REPAIR, description: str = "耳机左耳没声音", **extra: Any) -> TicketDraft:
    base: dict[str, Any] = dict(
        customer_id="C001", customer_name="张伟", customer_phone="13800138000",
        customer_address="浙江省杭州市西湖区文三路100号3幢201室", channel="rest", sender_id="web-c001",
        order_id="E202611010001", product="蓝牙耳机 X1", intent="repair_request", summary="客户申请维修")
    base.update(extra)
    return TicketDraft(category=category, description=description, **base)


@dataclass
class Desk:
    url: str
    app: Sanic
    tickets: TicketService
    rasa: FakeRasa
    session: aiohttp.ClientSession

    async def call(self, method: str, path: str, token: str | None = None, body: Any = None,
                   raw: bytes | None = None) -> tuple[int, Any]:
        """(status, decoded JSON body or text)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        async with self.session.request(method, self.url + path, data=data, headers=headers) as answer:
            text = await answer.text()
            try:
                return answer.status, json.loads(text)
            except ValueError:
                return answer.status, text

    async def login(self, username: str, password: str = DEFAULT_DEMO_PASSWORD) -> str:
        status, body = await self.call("POST", "/api/auth/token", body={"username": username, "password": password})
        assert status == 200, body
        return str(body["token"])


@asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[str]:
    """Run `app` in the current event loop with all its listeners; the base URL."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        for connection in list(server.connections):  # drain like Sanic's own runner does
            connection.close_if_idle()
        for _ in range(50):
            if not server.connections:
                break
            await asyncio.sleep(0.02)
        for connection in list(server.connections):
            connection.abort()
        await server.after_stop()


@asynccontextmanager
async def running_desk(settings: Settings, tickets: TicketService, rasa: Any = None, escalate: bool = False,
                       prepare: Callable[[Any], None] | None = None) -> AsyncIterator[Desk]:
    """The desk served; `prepare(app.ctx)`, when given, first puts what a test injects there."""
    fake = rasa if rasa is not None else FakeRasa()
    app = create_app(settings, tickets, fake, FAST_HASHER, escalate=escalate)
    if prepare is not None:
        prepare(app.ctx)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        yield Desk(url, app, tickets, fake, session)
