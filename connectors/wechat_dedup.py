"""Each WeChat push processed once: WeChat retries a push it got no answer to within 5 s (up to 3 times), and
a retry may reach another Rasa process.

`first_time(key)` is True for the first process to claim `key` and False for every retry after it:
- `SqlSeen`: an INSERT into wechat_seen (service/channel_schema.py); a duplicate key is a retry. Rows older
  than the TTL are pruned now and then.
- `RedisSeen` (when REDIS_URL is set): `SET key 1 NX EX ttl`.
When the store itself fails, the push is processed (a rare double answer beats a lost message) and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from service.channel_schema import wechat_seen
from service.logs import log_event
from service.settings import Settings

logger = logging.getLogger(__name__)
TTL_S = 600  # WeChat's retries come within ~15 s; ten minutes is plenty
PRUNE_EVERY_S = 300.0
REDIS_TIMEOUT_S = 2.0


class SeenStore(Protocol):
    async def first_time(self, key: str) -> bool:
        """True when no process has claimed `key` in the last TTL seconds (and claims it now)."""

    async def close(self) -> None:
        """Release connections."""


class SqlSeen:
    """wechat_seen in the bot's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, ttl_s: int = TTL_S, prune_every_s: float = PRUNE_EVERY_S,
                 now: Callable[[], datetime] = datetime.utcnow) -> None:
        self._engine = engine
        self._ttl = timedelta(seconds=ttl_s)
        self._prune_every = timedelta(seconds=prune_every_s)
        self._now = now
        self._pruned_at: datetime | None = None

    async def first_time(self, key: str) -> bool:
        return await asyncio.to_thread(self._claim, key)

    def _claim(self, key: str) -> bool:
        now = self._now()
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(wechat_seen).values(key=key, seen_at=now))
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            log_event(logger, "wechat_dedup_unavailable", logging.WARNING, store="sql", error=type(exc).__name__)
            return True
        if self._pruned_at is None or now - self._pruned_at >= self._prune_every:
            self._prune(now)
        return True

    def _prune(self, now: datetime) -> None:
        self._pruned_at = now
        try:
            with self._engine.begin() as conn:
                removed = conn.execute(delete(wechat_seen).where(wechat_seen.c.seen_at < now - self._ttl)).rowcount
        except SQLAlchemyError as exc:
            log_event(logger, "wechat_dedup_prune_failed", logging.WARNING, error=type(exc).__name__)
            return
        if removed:
            log_event(logger, "wechat_dedup_pruned", rows=removed)

    async def close(self) -> None:
        self._engine.dispose()


class RedisSeen:
    """Keys `<prefix>:wechat:seen:<key>` in Redis, expiring after the TTL."""

    def __init__(self, client: Any, prefix: str = "xiaozhi", ttl_s: int = TTL_S) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s

    @classmethod
    def from_url(cls, url: str, prefix: str = "xiaozhi", ttl_s: int = TTL_S) -> RedisSeen:
        from redis import asyncio as aioredis

        client = aioredis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
        return cls(client, prefix, ttl_s)

    async def first_time(self, key: str) -> bool:
        from redis.exceptions import RedisError

        try:
            claimed = await self._client.set(f"{self._prefix}:wechat:seen:{key}", 1, nx=True, ex=self._ttl_s)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            log_event(logger, "wechat_dedup_unavailable", logging.WARNING, store="redis", error=type(exc).__name__)
            return True
        return bool(claimed)

    async def close(self) -> None:
        await self._client.close(close_connection_pool=True)


def seen_store(settings: Settings) -> SeenStore:
    """Redis when REDIS_URL is set, else the bot's database (brought to the newest schema)."""
    if settings.redis_url:
        return RedisSeen.from_url(settings.redis_url, settings.queue_prefix)
    from service.db import make_engine
    from service.migrate import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return SqlSeen(engine)
