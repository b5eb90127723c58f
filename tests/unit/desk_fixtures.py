"""What the desk's unit tests share (tests/unit/conftest.py makes fixtures of some): a running desk with things put
on app.ctx before it starts, the tracker store of tests/review_conversations.py, the review service over it, and the
refusals a stranger meets on every staff route."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from service.clock import Clock, fixed_clock
from service.conversation_log import ConversationLog
from service.db import make_engine
from service.desk_client import bot_token
from service.event_cipher import EventCipher
from service.migrate import upgrade
from service.review.service import ReviewService
from service.settings import Settings, desk_signing_key, load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import Desk, running_desk
from tests.review_conversations import DAY, record_ownership, write_conversations
from tests.unit.test_tracker_store import KEY

Route = tuple[str, str, Any]  # (method, path, body)


def desk_settings(tmp_path: Path, database_url: str) -> Settings:
    # Embedded mode on purpose, also on PostgreSQL (which alone would mean scaled): these tests log in
    # with the demo accounts, and its secrets are generated under tmp_path.
    return load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": database_url, "XIAOZHI_MODE": "embedded"})


@asynccontextmanager
async def serve_desk(settings: Settings, clock: Clock,
                     prepare: Callable[[Any], None] | None = None) -> AsyncIterator[Desk]:
    """A desk on its own ticket service; `prepare(app.ctx)` runs before the start, after app.ctx.test_secret is set
    (the desk's signing key, for bot tokens)."""

    def ready(ctx: Any) -> None:
        ctx.test_secret = desk_signing_key(settings)
        if prepare is not None:
            prepare(ctx)

    tickets = build_ticket_service(settings, clock)
    try:
        async with running_desk(settings, tickets, prepare=ready) as desk:
            yield desk
    finally:
        tickets._engine.dispose()


def tracker_log(tmp_path: Path) -> ConversationLog:
    """The tracker store write_conversations(tmp_path, KEY) wrote."""
    return ConversationLog(sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}"), EventCipher([KEY]))


async def review_service(tmp_path: Path, **options: Any) -> ReviewService:
    """The review service over the three conversations of tests/review_conversations.py, on a migrated bot.db."""
    await write_conversations(tmp_path, KEY)
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    record_ownership(engine)
    return ReviewService(tracker_log(tmp_path), engine, fixed_clock(DAY), **options)


def restored_log_record_factory() -> Iterator[None]:
    """Puts logging's record factory back after the test (the review service installs its own)."""
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


async def assert_refused(desk: Desk, routes: Sequence[Route], supervisor_only: Sequence[Route] = (),
                         agent: str | None = None) -> list[Any]:
    """No token and the bot's token are a 401 on every route; agent1's token (or `agent`) a 403 forbidden on the
    supervisor-only ones, whose answers are returned."""
    bot = bot_token(desk_signing_key(desk.app.ctx.settings))
    for method, path, body in routes:
        status, answer = await desk.call(method, path, None, body)
        assert (status, answer["error"]) == (401, "missing_token"), path
        status, answer = await desk.call(method, path, bot, body)
        assert (status, answer["error"]) == (401, "invalid_token"), path
    if not supervisor_only:
        return []
    token = agent if agent is not None else await desk.login("agent1")
    answers = []
    for method, path, body in supervisor_only:
        status, answer = await desk.call(method, path, token, body)
        assert (status, answer["error"]) == (403, "forbidden"), path
        answers.append(answer)
    return answers
