"""Fixtures for the staff desk tests: a desk served in the test's event loop, on SQLite or on each database (the
helpers behind them, shared by the desk's test modules, are in tests/unit/desk_fixtures.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.desk_harness import NOW, Desk, MovableClock
from tests.unit.desk_fixtures import desk_settings, restored_log_record_factory, serve_desk
from tests.unit.redis_test_env import NO_REDIS, REDIS_URL, WAIT_S


@pytest.fixture
def desk_clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def restore_log_record_factory() -> Iterator[None]:
    """For modules that use the review service: `pytestmark = pytest.mark.usefixtures(...)`."""
    yield from restored_log_record_factory()


@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk on a fresh SQLite file."""
    async with serve_desk(desk_settings(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}"), desk_clock) as running:
        yield running


@pytest.fixture
async def desk_each_db(tmp_path: Path, database_url: str, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk on SQLite, and again on PostgreSQL in the `postgres` suite."""
    async with serve_desk(desk_settings(tmp_path, database_url), desk_clock) as running:
        yield running


@pytest.fixture
async def raw() -> AsyncIterator[aioredis.Redis]:
    """A client of the machine's Redis for the `redis` tests (strings decoded); the test fails when there is none."""
    client = aioredis.from_url(REDIS_URL, decode_responses=True, socket_timeout=WAIT_S, socket_connect_timeout=WAIT_S)
    try:
        await client.ping()
    except (RedisConnectionError, OSError):
        await client.close(close_connection_pool=True)
        pytest.fail(NO_REDIS.format(url=REDIS_URL))
    yield client
    await client.close(close_connection_pool=True)
