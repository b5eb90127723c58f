"""The identity check in front of every channel: claims in a message's metadata, verified before Rasa sees them.

A page or app that knows the logged-in customer sends `customer_id` (or `phone`), `identity_expires` and
`identity_hash` (see service/identity.py for the scheme). The channel keeps nothing of that as it came:
it removes every identity key and, when the signature holds (or, in embedded mode without
IDENTITY_SECRET, for a plain claim), adds its own `identity` entry that the actions trust.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from service.identity import VERIFIED_KEY, check_claim, without_identity
from service.logs import log_event
from service.settings import Settings

logger = logging.getLogger(__name__)


def verified_metadata(metadata: Mapping[str, Any] | None, secret: str | None, max_ttl_s: int,
                      now: Callable[[], float] = time.time) -> dict[str, Any]:
    """The metadata with its identity claim checked: the claim's keys removed, a checked `identity` added."""
    verdict = check_claim(metadata, secret, now(), max_ttl_s)
    cleaned = without_identity(metadata)
    if verdict.claim is not None:
        cleaned[VERIFIED_KEY] = verdict.claim.as_metadata()
    elif verdict.problem:
        log_event(logger, "identity_claim_rejected", logging.WARNING, reason=verdict.problem)
    return cleaned


_announced = False


def announce_trust_mode(settings: Settings) -> None:
    """Say once at start-up when plain identity claims are trusted (embedded mode without IDENTITY_SECRET)."""
    global _announced
    if settings.identity_secret is None and not _announced:
        _announced = True
        log_event(logger, "identity_claims_trusted", logging.WARNING,
                  hint="IDENTITY_SECRET is unset: customer_id in message metadata is believed as sent; "
                       "set it so that only claims signed by the shop count (scaled mode requires it)")
