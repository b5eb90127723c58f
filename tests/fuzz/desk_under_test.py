"""The desk that the fuzz runs against: served in this process on a free port, on a temporary SQLite file, with
seeded tickets and handoff sessions (real targets for the detail and change routes), every answer counted."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.app import create_app
from service.desk_client import bot_token
from service.settings import DEFAULT_DEMO_PASSWORD, PROJECT_ROOT, desk_signing_key, load_settings
from service.tickets import build_ticket_service
from service.tickets.rules import Category
from tests.desk_harness import FAST_HASHER, FakeRasa, draft, serving
from tests.fuzz.raw_http import RUN_HEADER
from tests.fuzz.tally import Hit

TICKET_SEEDS = (  # (category, order, customer, description): several departments, priorities and customers
    (Category.REPAIR, "E202611010001", "C001", "耳机左耳没声音"),
    (Category.REPAIR, "E202610200003", "C001", "冰箱不制冷了"),
    (Category.ADDRESS, "E202611150002", "C001", "要改地址"),
    (Category.RETURN, "E202611120004", "C002", "尺码不合适，想退货"),
    (Category.COMPLAINT, "E202611120004", "C002", "快递员态度很差"),
    (Category.REPAIR, "E202611010001", "C003", "充电时冒烟了"),
)


@dataclass
class FuzzDesk:
    url: str
    secret: str
    tokens: dict[str, str]  # run label -> Authorization bearer token
    tickets: list[str]
    sessions: list[str]
    hits: list[Hit] = field(default_factory=list)


def _always_open_handoff(tmp: Path) -> Path:
    """handoff.yml with agents at work all day, so the seeded handoffs queue whenever the fuzz runs."""
    text = (PROJECT_ROOT / "handoff.yml").read_text(encoding="utf-8")
    text, found = re.subn(r"^working_hours:.*$", 'working_hours: {start: "00:00", end: "23:59"}', text, flags=re.M)
    assert found == 1, "handoff.yml has no working_hours line"
    path = tmp / "handoff.yml"
    path.write_text(text, encoding="utf-8")
    return path


async def _post(session: aiohttp.ClientSession, url: str, token: str | None, body: Any, method: str = "POST") -> Any:
    headers = {RUN_HEADER: "setup", **({"Authorization": f"Bearer {token}"} if token else {})}
    async with session.request(method, url, json=body, headers=headers) as answer:
        payload = await answer.json(content_type=None)
        assert answer.status < 300, (url, answer.status, payload)
        return payload


@asynccontextmanager
async def fuzz_desk(tmp: Path) -> AsyncIterator[FuzzDesk]:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp), "DATABASE_URL": f"sqlite:///{tmp / 'desk.db'}",
                              "HANDOFF_CONFIG": str(_always_open_handoff(tmp))})
    tickets = build_ticket_service(settings)
    numbers = [tickets.create(draft(category, description, order_id=order, customer_id=customer)).ticket.number
               for category, order, customer, description in TICKET_SEEDS]
    app = create_app(settings, tickets, FakeRasa(), FAST_HASHER, escalate=False)
    hits: list[Hit] = []

    async def count(request: Request, response: HTTPResponse) -> None:
        hits.append(Hit(request.headers.get(RUN_HEADER, "other"), request.method, request.path, response.status))

    app.register_middleware(count, "response")
    try:
        async with serving(app) as url, aiohttp.ClientSession() as session:
            secret = desk_signing_key(settings)
            tokens = {}
            for run, username in (("supervisor", "supervisor"), ("agent", "agent1")):  # once: login is throttled
                login = {"username": username, "password": DEFAULT_DEMO_PASSWORD}
                tokens[run] = (await _post(session, url + "/api/auth/token", None, login))["token"]
            tokens["bot"] = bot_token(secret)
            await _post(session, url + "/api/agents/me/status", tokens["agent"], {"status": "在线"}, method="PUT")
            sessions = []
            for n, intent in enumerate(("repair_request", "repair_request", "query_logistics", "complaint", "faq")):
                started = await _post(session, url + "/api/handoff/sessions", tokens["bot"], {
                    "sender_id": f"fuzz-{n}", "channel": "rest", "reason": "request_human", "intent": intent,
                    "summary": "客户要求人工", "customer_id": "C001"})
                if started.get("session_id"):
                    sessions.append(started["session_id"])
            # agent assist answers 503 (described) until its index is built: the fuzz counts every 5xx, so it waits
            assert await asyncio.to_thread(app.ctx.assist.wait, 180), "agent assist's index was not built"
            desk = FuzzDesk(url, secret, tokens, numbers, sessions, hits)
            yield desk
    finally:
        tickets._engine.dispose()
