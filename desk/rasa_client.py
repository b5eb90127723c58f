"""Proactive messages to customers through Rasa's HTTP API (trigger_intent); never fails the caller.

Rasa's HTTP API accepts only a JWT in the Authorization header (scripts/serve_rasa.py starts it with
RASA_JWT_SECRET). `RasaJwt` signs short-lived admin tokens; `rasa_api_headers(settings)` is the header
for tests, benches and operators; `python -m desk.rasa_client` prints a token for curl.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote

import aiohttp
import jwt

from service.logs import log_event
from service.secrets import stored_secret
from service.settings import Settings, SettingsError, load_settings

logger = logging.getLogger(__name__)
TIMEOUT_S = 3.0
AWAITING_CONFIRMATION = "EXTERNAL_ticket_awaiting_confirmation"
RESOLVED = "EXTERNAL_ticket_resolved"
JWT_ALGORITHM = "HS256"  # scripts/serve_rasa.py starts Rasa with --jwt-method HS256
TOKEN_TTL_S = 300.0
RENEW_BEFORE_S = 60.0  # a cached token is replaced this long before it expires
DESK_USERNAME = "desk"
# The customer's own channel; no tracker in the answer (Rasa would serialise every event of the session for a reply
# the desk only checks the status of).
TRIGGER_PARAMS = {"output_channel": "latest", "include_events": "NONE"}


def sign_rasa_jwt(secret: str, expires_at: float, username: str = DESK_USERNAME) -> str:
    """An admin token for Rasa's HTTP API (rasa/server.py requires_auth reads payload["user"]["role"])."""
    payload = {"user": {"username": username, "role": "admin"}, "exp": int(expires_at)}
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


class RasaJwt:
    """Short-lived admin JWTs signed with RASA_JWT_SECRET; one is reused until RENEW_BEFORE_S before it expires."""

    def __init__(self, secret: str, ttl_s: float = TOKEN_TTL_S, clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("RasaJwt needs RASA_JWT_SECRET")
        if ttl_s <= RENEW_BEFORE_S:
            raise ValueError(f"ttl_s must be longer than {RENEW_BEFORE_S}s")
        self._secret, self._ttl_s, self._clock = secret, ttl_s, clock
        self._token = ""
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"RasaJwt(ttl_s={self._ttl_s})"

    def token(self) -> str:
        now = self._clock()
        if now >= self._expires_at - RENEW_BEFORE_S:
            self._expires_at = now + self._ttl_s
            self._token = sign_rasa_jwt(self._secret, self._expires_at)
        return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


def rasa_api_headers(settings: Settings, ttl_s: float = TOKEN_TTL_S) -> dict[str, str]:
    """The Authorization header for one short session with Rasa's HTTP API (/model/parse, /conversations, /status)."""
    return RasaJwt(stored_secret(settings, "RASA_JWT_SECRET"), ttl_s).headers()


class RasaClient(Protocol):
    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        """Make the bot act on `intent` in the customer's conversation; False when that failed."""
        ...


class HttpRasaClient:
    """Rasa's POST /conversations/{sender}/trigger_intent; one aiohttp session per process, opened by open()."""

    def __init__(self, base_url: str, jwt_secret: str, timeout_s: float = TIMEOUT_S) -> None:
        self._base_url = base_url.rstrip("/")
        self._jwt = RasaJwt(jwt_secret)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpRasaClient:
        """RASA_URL, signed with RASA_JWT_SECRET (generated under var/ in embedded mode)."""
        return cls(settings.rasa_url, stored_secret(settings, "RASA_JWT_SECRET"))

    def __repr__(self) -> str:
        return f"HttpRasaClient({self._base_url!r})"

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        if self._session is None:
            raise RuntimeError("HttpRasaClient.open() was not called")
        url = f"{self._base_url}/conversations/{quote(sender_id, safe='')}/trigger_intent"
        try:
            async with self._session.post(url, params=TRIGGER_PARAMS, headers=self._jwt.headers(),
                                          json={"name": intent, "entities": entities}) as answer:
                await answer.read()
                if answer.status >= 300:
                    log_event(logger, "rasa_trigger_failed", level=logging.WARNING, intent=intent, status=answer.status)
                    return False
        except Exception as exc:  # timeouts, refused connections, bad answers: a courtesy message never breaks the desk
            log_event(logger, "rasa_trigger_failed", level=logging.WARNING, intent=intent, error=type(exc).__name__)
            return False
        log_event(logger, "rasa_trigger_sent", intent=intent)
        return True


def main() -> int:
    """`python -m desk.rasa_client`: print a 5-minute JWT for Rasa's HTTP API (for curl -H "Authorization: Bearer …")."""
    try:
        header = rasa_api_headers(load_settings())
    except SettingsError as exc:
        print(f"rasa_client: {exc}", file=sys.stderr)
        return 2
    print(header["Authorization"].removeprefix("Bearer "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
