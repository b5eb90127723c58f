"""Proactive messages to customers through Rasa's HTTP API (trigger_intent); never fails the caller."""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import quote

import aiohttp

from service.logs import log_event

logger = logging.getLogger(__name__)
TIMEOUT_S = 3.0
AWAITING_CONFIRMATION = "EXTERNAL_ticket_awaiting_confirmation"
RESOLVED = "EXTERNAL_ticket_resolved"


class RasaClient(Protocol):
    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        """Make the bot act on `intent` in the customer's conversation; False when that failed."""
        ...


class HttpRasaClient:
    """Rasa's POST /conversations/{sender}/trigger_intent; one aiohttp session per process, opened by open()."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = TIMEOUT_S) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

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
        params = {"output_channel": "latest", **({"token": self._token} if self._token else {})}
        try:
            async with self._session.post(url, params=params, json={"name": intent, "entities": entities}) as answer:
                await answer.read()
                if answer.status >= 300:
                    log_event(logger, "rasa_trigger_failed", level=logging.WARNING, intent=intent, status=answer.status)
                    return False
        except Exception as exc:  # timeouts, refused connections, bad answers: a courtesy message never breaks the desk
            log_event(logger, "rasa_trigger_failed", level=logging.WARNING, intent=intent, error=type(exc).__name__)
            return False
        log_event(logger, "rasa_trigger_sent", intent=intent)
        return True
