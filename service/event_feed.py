"""From the event broker's messages to the rows of the reporting table (service/reports/schema.py). Pure.

Rasa publishes every tracker event as `{"sender_id": ..., **event.as_dict()}` (masked by
connectors/event_broker.py). The conversation figures (service/reports/conversations.py) read only the user
events, the bot's `action_default_fallback` and three slots; `feed_row` keeps those, read the way the tracker
store's rows are read (service/conversation_log.read_event), and drops every other event. A row's key is a
digest of its message, so a message RabbitMQ delivers again is stored once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from service.conversation_log import read_event
from service.privacy import conversation_ref
from service.reports.conversations import (
    FALLBACK_ACTION,
    FALLBACK_INTENT,
    RATE_INTENT,
    SLOTS_OF_A_STORED_RATING,
    intent_name,
    rating_score,
    shown_text,
)

FED_SLOTS = (*SLOTS_OF_A_STORED_RATING, "pending_offer")
FED_ACTIONS = (FALLBACK_ACTION,)
USER, ACTION, SLOT = "user", "action", "slot"
MAX_VALUE, MAX_NAME, MAX_TOPIC = 64, 80, 160  # the table's column lengths
SET = "1"  # a slot set to something else than a string: only whether it is set matters to the reports


class MalformedEvent(ValueError):
    """A message that is not a Rasa event of a conversation (not JSON, not an object, no sender_id)."""


@dataclass(frozen=True)
class FeedRow:
    """One row of `conversation_events` (see service/reports/schema.py for the columns)."""

    key: str
    conversation: str
    kind: str
    at: float
    author: str | None = None
    intent: str | None = None
    topic: str | None = None
    action: str | None = None
    value: str | None = None
    score: int | None = None
    text: str | None = None
    fallback: bool = False


def parse_message(body: bytes | str) -> dict[str, Any]:
    """The event in a broker message's body; MalformedEvent when it is not one."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent("not JSON") from exc
    if not isinstance(event, dict):
        raise MalformedEvent("not a JSON object")
    if not isinstance(event.get("sender_id"), str) or not event["sender_id"]:
        raise MalformedEvent("no sender_id")
    if not isinstance(event.get("event"), str):
        raise MalformedEvent("no event type")
    return event


def event_key(event: Mapping[str, Any]) -> str:
    """The same event gives the same key, however its JSON was laid out."""
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def slot_value(value: Any) -> str | None:
    """What the reports ask of these slots: is it set, and is pending_offer "rating"."""
    if not value:
        return None
    return value[:MAX_VALUE] if isinstance(value, str) else SET


def _cut(name: str | None, length: int) -> str | None:
    return None if name is None else str(name)[:length]


def _timestamp(event: Mapping[str, Any]) -> float:
    try:
        return float(event.get("timestamp") or 0.0)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent("timestamp is not a number") from exc


def feed_row(event: Mapping[str, Any]) -> FeedRow | None:
    """The row of a published event, or None for an event the reports do not read."""
    kind = event.get("event")
    if kind not in (USER, ACTION, SLOT):
        return None
    if kind == ACTION and event.get("name") not in FED_ACTIONS or kind == SLOT and event.get("name") not in FED_SLOTS:
        return None
    at = _timestamp(event)
    row = SimpleNamespace(id=0, sender_id=event["sender_id"], type_name=kind, timestamp=at, intent_name=None,
                          action_name=None, data=json.dumps(event))
    try:
        logged = read_event(row, None)
    except (TypeError, ValueError, AttributeError) as exc:
        raise MalformedEvent(f"unreadable {kind} event") from exc
    common = {"key": event_key(event), "conversation": conversation_ref(event["sender_id"]), "kind": kind, "at": at}
    if kind == ACTION:
        return FeedRow(**common, action=_cut(logged.action, MAX_NAME))
    if kind == SLOT:
        return FeedRow(**common, action=_cut(logged.action, MAX_NAME), value=slot_value(logged.value))
    if not logged.is_customer_message:
        return FeedRow(**common)  # the desk's trigger: it ends the wait for a fallback, nothing else
    return FeedRow(**common, author=logged.author, intent=_cut(logged.intent, MAX_NAME),
                   topic=_cut(intent_name(logged), MAX_TOPIC),
                   score=rating_score(logged) if logged.intent == RATE_INTENT else None,
                   text=shown_text(logged.text), fallback=logged.intent == FALLBACK_INTENT)
