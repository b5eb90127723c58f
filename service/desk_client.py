"""The action server's client of the desk's handoff API (queueing, relaying, leaving).

Authenticated with a short-lived bot token (role "bot", audience BOT_AUDIENCE) signed with a key derived from
DESK_SECRET for the bot alone (service/desk_keys.py): the desk refuses it on staff routes. Every call
has a timeout; a desk that is down or slow raises DeskUnavailable, so the action can fall
back to a ticket and no handoff is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import jwt

from service.desk_keys import BOT_AUDIENCE, bot_token_key
from service.logs import log_event
from service.settings import Settings, desk_signing_key

logger = logging.getLogger(__name__)
TIMEOUT_S = 3.0
BOT_TOKEN_TTL_S = 300


class DeskUnavailable(Exception):
    """The desk did not answer in time or refused the call."""


def bot_token(key: str, now: float | None = None) -> str:
    """A bot token for the desk's handoff API; `key` is the desk secret (DESK_SECRET), the signing key is derived."""
    issued = int(now if now is not None else time.time())
    claims = {"sub": "bot", "role": "bot", "aud": BOT_AUDIENCE, "iat": issued, "exp": issued + BOT_TOKEN_TTL_S}
    return jwt.encode(claims, bot_token_key(key), algorithm="HS256")


class DeskClient:
    def __init__(self, base_url: str, key: str, timeout_s: float = TIMEOUT_S) -> None:
        self._base_url = base_url.rstrip("/")
        self._key = key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> DeskClient:
        return cls(settings.desk_url, desk_signing_key(settings))

    async def _client(self) -> aiohttp.ClientSession:
        async with self._lock:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=self._timeout)
            return self._session

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        session = await self._client()
        headers = {"Authorization": f"Bearer {bot_token(self._key)}"}
        try:
            async with session.post(f"{self._base_url}{path}", json=body, headers=headers) as answer:
                payload = await answer.json(content_type=None)
                if answer.status >= 300:
                    log_event(logger, "desk_call_refused", logging.WARNING, path=path.split("/")[3], status=answer.status)
                    raise DeskUnavailable(f"desk answered {answer.status}")
                return dict(payload or {})
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log_event(logger, "desk_unreachable", logging.WARNING, error=type(exc).__name__)
            raise DeskUnavailable(type(exc).__name__) from exc

    async def start(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self._post("/api/handoff/sessions", request)

    async def relay(self, session_id: str, text: str, intent: str, entities: list[Any],
                    channel: str = "", kind: str = "customer") -> dict[str, Any]:
        """A customer message for the agent; kind="system": a note of the bot's for the agent."""
        return await self._post(f"/api/handoff/sessions/{session_id}/messages",
                                {"text": text, "intent": intent, "entities": entities, "channel": channel, "kind": kind})

    async def leave(self, session_id: str) -> dict[str, Any]:
        return await self._post(f"/api/handoff/sessions/{session_id}/leave", {})

    async def rate(self, session_id: str, score: int, comment: str) -> dict[str, Any]:
        return await self._post(f"/api/handoff/sessions/{session_id}/rating", {"score": score, "comment": comment})
