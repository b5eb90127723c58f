"""WeChat's access token, cached and shared by every process, refreshed by one of them at a time.

WeChat gives an access token for about two hours, and fetching a new one ends the old one (after a few
minutes' overlap): processes that each fetched their own would keep spoiling each other's. So the token lives in
the SQL table wechat_tokens (service/channel_schema.py; one PostgreSQL database in the scaled mode, the SQLite
file in embedded mode), and is used until shortly before it expires. When it needs refreshing, the process that
takes the lease (`refreshing_until`, set by a conditional UPDATE) fetches it; the others wait, bounded, for
the new one to appear in the table. In a process, one coroutine at a time does this; the others wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from service.channel_schema import wechat_tokens
from service.clock import Clock
from service.logs import log_event

logger = logging.getLogger(__name__)
W = wechat_tokens

RENEW_BEFORE_S = 300.0  # stop using a token this long before WeChat's expiry
LEASE_S = 15.0  # how long a refreshing process holds the lease (longer than its fetch with the retry can take)
WAIT_S = 20.0  # how long get() waits in all for a token another process is fetching
POLL_S = 0.05

TokenFetch = Callable[[], Awaitable[tuple[str, int]]]  # -> (access_token, expires_in seconds)


class TokenUnavailable(Exception):
    """No access token in time: the process refreshing it did not finish, or the table could not be read."""


@dataclass(frozen=True)
class CachedToken:
    token: str
    use_until: datetime  # shortly before WeChat's expiry

    def fresh(self, now: datetime) -> bool:
        return bool(self.token) and now < self.use_until


def use_until(now: datetime, expires_in: float, renew_before_s: float = RENEW_BEFORE_S) -> datetime:
    """When to stop using a token WeChat gave for `expires_in` seconds: `renew_before_s` early, or at half
    its life when that is shorter."""
    life = max(float(expires_in), 0.0)
    return now + timedelta(seconds=max(life - renew_before_s, life / 2))


class AccessTokens:
    """The access token of one official account (`app_id`); `fetch` asks WeChat for a new one."""

    def __init__(self, app_id: str, fetch: TokenFetch, engine: Engine | None, clock: Clock | None = None,
                 renew_before_s: float = RENEW_BEFORE_S, lease_s: float = LEASE_S, wait_s: float = WAIT_S,
                 poll_s: float = POLL_S) -> None:
        self._app_id = app_id
        self._fetch = fetch
        self._engine = engine  # None: this process alone (a cache in memory)
        self._clock = clock or Clock()
        self._renew_before_s = renew_before_s
        self._lease_s = lease_s
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._cached: CachedToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"AccessTokens(app_id={self._app_id!r})"

    async def get(self) -> str:
        """A token that is good for a while yet: from memory, the table, or WeChat (once across processes)."""
        cached = self._cached
        if cached is not None and cached.fresh(self._clock.now()):
            return cached.token
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.fresh(self._clock.now()):
                return cached.token
            token = await (self._shared() if self._engine is not None else self._refresh_alone())
            self._cached = token
            return token.token

    async def invalidate(self, token: str) -> None:
        """WeChat refused `token` (40001/42001): the next get() fetches a new one, unless one already came."""
        if self._cached is not None and self._cached.token == token:
            self._cached = None
        if self._engine is not None:
            await asyncio.to_thread(self._forget, token)

    # --- one process -----------------------------------------------------------------------------

    async def _refresh_alone(self) -> CachedToken:
        now = self._clock.now()
        token, expires_in = await self._fetch()
        log_event(logger, "wechat_token_refreshed", expires_in=expires_in)
        return CachedToken(token, use_until(now, expires_in, self._renew_before_s))

    # --- shared through the table ----------------------------------------------------------------

    async def _shared(self) -> CachedToken:
        deadline = asyncio.get_running_loop().time() + self._wait_s
        while True:
            found = await asyncio.to_thread(self._read)
            now = self._clock.now()
            if found is not None and found.fresh(now):
                return found
            if await asyncio.to_thread(self._take_lease, now):
                return await self._refresh_under_lease(now)
            # another process is fetching it: wait for its token (or for its lease to run out)
            if asyncio.get_running_loop().time() >= deadline:
                log_event(logger, "wechat_token_wait_timeout", logging.WARNING, waited_s=self._wait_s)
                raise TokenUnavailable("another process is refreshing the token and has not finished")
            await asyncio.sleep(self._poll_s)

    async def _refresh_under_lease(self, now: datetime) -> CachedToken:
        try:
            token, expires_in = await self._fetch()
        except BaseException:
            await asyncio.to_thread(self._release)
            raise
        fresh = CachedToken(token, use_until(now, expires_in, self._renew_before_s))
        await asyncio.to_thread(self._store, fresh)
        log_event(logger, "wechat_token_refreshed", expires_in=expires_in)
        return fresh

    def _read(self) -> CachedToken | None:
        assert self._engine is not None
        with self._engine.connect() as conn:
            row = conn.execute(select(W.c.token, W.c.expires_at).where(W.c.app_id == self._app_id)).first()
        if row is None or not row.token or row.expires_at is None:
            return None
        return CachedToken(row.token, row.expires_at)

    def _take_lease(self, now: datetime) -> bool:
        """The lease, when nobody holds it and the token (still) needs refreshing: one process wins."""
        assert self._engine is not None
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(W).values(app_id=self._app_id, token="", expires_at=None, refreshing_until=None))
        except IntegrityError:
            pass  # the row is there already (the usual case)
        with self._engine.begin() as conn:
            taken = conn.execute(update(W).where(and_(
                W.c.app_id == self._app_id,
                or_(W.c.refreshing_until.is_(None), W.c.refreshing_until < now),
                or_(W.c.expires_at.is_(None), W.c.expires_at <= now),
            )).values(refreshing_until=now + timedelta(seconds=self._lease_s)))
            return taken.rowcount == 1

    def _store(self, token: CachedToken) -> None:
        assert self._engine is not None
        with self._engine.begin() as conn:
            conn.execute(update(W).where(W.c.app_id == self._app_id)
                         .values(token=token.token, expires_at=token.use_until, refreshing_until=None))

    def _release(self) -> None:
        assert self._engine is not None
        with self._engine.begin() as conn:
            conn.execute(update(W).where(W.c.app_id == self._app_id).values(refreshing_until=None))

    def _forget(self, token: str) -> None:
        assert self._engine is not None
        with self._engine.begin() as conn:
            conn.execute(update(W).where(and_(W.c.app_id == self._app_id, W.c.token == token)).values(expires_at=None))
