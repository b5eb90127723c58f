"""Each WeChat push once: in the database (two processes share one file), or in Redis when scaled."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from connectors.wechat_dedup import RedisSeen, SqlSeen, seen_store
from service.channel_schema import wechat_seen
from service.db import make_engine
from service.migrate import upgrade
from service.settings import load_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 21, 10, 0)

    def __call__(self) -> datetime:
        return self.moment


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(wechat_seen)).scalar_one())


async def test_a_key_is_new_once_also_for_a_second_process(database: str) -> None:
    one, other = SqlSeen(make_engine(database)), SqlSeen(make_engine(database))
    assert await one.first_time("msg:gh:1001") is True
    assert await one.first_time("msg:gh:1001") is False
    assert await other.first_time("msg:gh:1001") is False
    assert await other.first_time("msg:gh:1002") is True
    await one.close()
    await other.close()


async def test_old_keys_are_pruned_now_and_then(database: str) -> None:
    clock = Clock()
    engine = make_engine(database)
    seen = SqlSeen(engine, ttl_s=600, prune_every_s=300, now=clock)
    for number in range(5):
        assert await seen.first_time(f"msg:gh:{number}")
    clock.moment += timedelta(minutes=11)
    assert await seen.first_time("msg:gh:new")
    assert rows(engine) == 1  # the five from eleven minutes ago are gone
    assert await seen.first_time("msg:gh:1")  # long past any retry: new again
    await seen.close()


async def test_a_broken_database_lets_the_push_through_and_says_so(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    seen = SqlSeen(make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}"))  # no wechat_seen table
    with caplog.at_level(logging.WARNING):
        assert await seen.first_time("msg:gh:1") is True
    assert "wechat_dedup_unavailable" in caplog.text
    await seen.close()


class FakeRedis:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.calls: list[tuple[str, bool, int]] = []

    async def set(self, key: str, value: Any, nx: bool = False, ex: int | None = None) -> bool | None:
        self.calls.append((key, nx, ex or 0))
        if nx and key in self.values:
            return None
        self.values[key] = value
        return True

    async def close(self, close_connection_pool: bool = False) -> None:
        pass


async def test_redis_sets_each_key_only_if_absent_with_an_expiry() -> None:
    client = FakeRedis()
    seen = RedisSeen(client, prefix="shop", ttl_s=600)
    assert await seen.first_time("msg:gh:1") is True
    assert await seen.first_time("msg:gh:1") is False
    assert client.calls[0] == ("shop:wechat:seen:msg:gh:1", True, 600)


async def test_an_unreachable_redis_lets_the_push_through(caplog: pytest.LogCaptureFixture) -> None:
    seen = RedisSeen.from_url("redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING):
        assert await seen.first_time("msg:gh:1") is True
    assert "wechat_dedup_unavailable" in caplog.text
    await seen.close()


async def test_redis_is_used_when_configured_else_the_database(tmp_path: Path) -> None:
    scaled = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "REDIS_URL": REDIS_URL})
    embedded = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    for settings, kind in ((scaled, RedisSeen), (embedded, SqlSeen)):
        store = seen_store(settings)
        assert isinstance(store, kind)
        await store.close()
    assert await SqlSeen(make_engine(embedded.database_url)).first_time("msg:gh:1")  # migrated by seen_store


@pytest.mark.redis
async def test_two_processes_share_the_keys_in_redis() -> None:
    prefix = f"xiaozhi-test:{uuid.uuid4().hex}"
    one, other = RedisSeen.from_url(REDIS_URL, prefix), RedisSeen.from_url(REDIS_URL, prefix)
    try:
        await one._client.ping()
    except (RedisConnectionError, OSError):
        await one.close()
        await other.close()
        pytest.fail(f"no Redis at {REDIS_URL}: set TEST_REDIS_URL, or deselect with -m 'not redis'")
    raw = aioredis.from_url(REDIS_URL)
    try:
        assert await one.first_time("msg:gh:1") is True
        assert await other.first_time("msg:gh:1") is False
        assert 0 < await raw.ttl(f"{prefix}:wechat:seen:msg:gh:1") <= 600
    finally:
        await raw.delete(f"{prefix}:wechat:seen:msg:gh:1")
        await raw.close(close_connection_pool=True)
        await one.close()
        await other.close()
