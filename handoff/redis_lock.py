"""A lock shared by processes through Redis: SET NX PX with a random token, released only by its holder."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError

from service.errors import BackendUnavailable
from service.logs import log_event

logger = logging.getLogger(__name__)

# KEYS: lock   ARGV: token   → 1 when this token held the lock
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LockTimeout(BackendUnavailable):
    """The lock stayed taken (by another process, or another task of this one) for the whole wait."""

    def __init__(self, key: str, waited_s: float) -> None:
        super().__init__("redis_lock", f"{key} still held after {waited_s:g} s")


class RedisLock:
    """Mutual exclusion across processes and tasks; not reentrant.

    The lock expires after `ttl_s`, so a crashed holder blocks nobody for long; a holder that
    outlives it loses the lock (and says so in the log) without deleting its successor's.
    """

    def __init__(self, client: Any, key: str, *, ttl_s: float = 10.0, wait_s: float = 5.0,
                 retry_s: float = 0.01) -> None:
        self.key = key
        self._redis = client
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._wait_s = wait_s
        self._retry_s = retry_s
        self._release = client.register_script(_RELEASE)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        token = await self._acquire()
        try:
            yield
        finally:
            await self._unlock(token)

    async def _acquire(self) -> str:
        """SET NX PX with a fresh token, retried after short jittered sleeps; LockTimeout after wait_s."""
        token = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        try:
            while not await self._redis.set(self.key, token, nx=True, px=self._ttl_ms):
                if loop.time() >= deadline:
                    raise LockTimeout(self.key, self._wait_s)
                await asyncio.sleep(self._retry_s * (1 + random.random()))
        except LockTimeout:
            raise
        except BaseException:  # cancelled or failed mid-SET: the lock may be ours, give it back
            await asyncio.shield(self._unlock(token, expect_held=False))
            raise
        return token

    async def _unlock(self, token: str, expect_held: bool = True) -> None:
        """Delete the lock only if `token` still holds it; never raises (the TTL is the fallback)."""
        try:
            released = await self._release(keys=[self.key], args=[token])
        except RedisError as error:
            log_event(logger, "redis_lock_release_failed", logging.WARNING, error=type(error).__name__)
            return
        if expect_held and not released:
            log_event(logger, "redis_lock_lost", logging.WARNING, ttl_ms=self._ttl_ms)
