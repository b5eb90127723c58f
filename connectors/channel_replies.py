"""The text of a response a channel says itself: from the running model's domain, else channel_replies.yml."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from service.settings import PROJECT_ROOT

REPLIES = PROJECT_ROOT / "channel_replies.yml"
UNSUPPORTED_MESSAGE = "utter_unsupported_message"  # a WeChat image, location, link … outside a handoff
ATTACHMENT_TO_AGENT = "utter_attachment_to_agent"  # an image during a handoff, passed to the agent as a link
CHOOSE_BY_NUMBER = "utter_choose_by_number"  # before buttons written as numbered choices (WeChat)


@lru_cache(maxsize=1)
def channel_replies() -> dict[str, str]:
    loaded = yaml.safe_load(REPLIES.read_text(encoding="utf-8")) if REPLIES.exists() else {}
    return {str(k): str(v) for k, v in (loaded or {}).items()}


def response_text(domain: Any, name: str) -> str | None:
    """The first variation's text of `name` in `domain`, or the channel's own text of that name."""
    variations = (getattr(domain, "responses", None) or {}).get(name) or []
    if variations and variations[0].get("text"):
        return str(variations[0]["text"])
    return channel_replies().get(name)
