"""Customer identity claims in channel metadata, verified before Rasa sees them.

A page or app that knows the logged-in customer sends `customer_id` (or `phone`) in the
message metadata, with `identity_hash` = hex HMAC-SHA256(IDENTITY_SECRET, the claimed value)
computed by the shop's backend (the same scheme as Chatwoot's identity validation). When
IDENTITY_SECRET is set, a claim without a valid hash is dropped and the conversation goes on
anonymously; when it is not set (the embedded demo), claims are trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import UserMessage

from service.logs import log_event
from service.settings import get_settings

logger = logging.getLogger(__name__)

CLAIMS = ("customer_id", "phone")
HASH_KEY = "identity_hash"


def identity_hash(secret: str, claimed: str) -> str:
    return hmac.new(secret.encode("utf-8"), claimed.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_claims(metadata: Mapping[str, Any] | None, secret: str | None) -> dict[str, Any]:
    """The metadata with unverifiable identity claims removed (and the hash never kept)."""
    cleaned = dict(metadata or {})
    given_hash = str(cleaned.pop(HASH_KEY, "") or "")
    claimed = next((str(cleaned[key]) for key in CLAIMS if cleaned.get(key)), None)
    if claimed is None or secret is None:
        return cleaned
    if given_hash and hmac.compare_digest(identity_hash(secret, claimed), given_hash):
        return cleaned
    for key in CLAIMS:
        cleaned.pop(key, None)
    log_event(logger, "identity_claim_rejected", logging.WARNING, reason="bad_hash" if given_hash else "no_hash")
    return cleaned


OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def verifying(on_new_message: OnNewMessage, secret: str | None = None) -> OnNewMessage:
    """Wrap Rasa's message handler so every message's identity claims are checked first."""

    async def handler(message: UserMessage) -> Any:
        key = secret if secret is not None else get_settings().identity_secret
        message.metadata = verify_claims(message.metadata, key)
        return await on_new_message(message)

    return handler
