"""Figures of the conversations themselves, from the tracker store's events (service/conversation_log).

Pure: `read_conversations(events, period)` takes the events of the period in the order Rasa stored them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from service.conversation_log import LoggedEvent
from service.privacy import scrub_all
from service.reports.periods import Period

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
RATE_INTENT = "rate_service"
RETRIEVAL_INTENTS = ("faq", "chitchat")
MAX_SHOWN_TEXT = 120
SLOTS_OF_A_STORED_RATING = ("pending_ticket", "rating_handoff")  # the rating goes to a ticket or a handoff in SQL
_SCORE = re.compile(r"([1-5一二两三四五])\s*(?:分|星|颗星)")
_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


@dataclass
class Misunderstood:
    text: str  # masked
    count: int
    last_at: datetime  # business time


@dataclass
class ConversationFigures:
    senders: set[str] = field(default_factory=set)  # conversations with a customer message in the period
    by_day: dict[date, set[str]] = field(default_factory=dict)
    customer_messages: int = 0
    fallbacks: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    misunderstood: dict[str, Misunderstood] = field(default_factory=dict)
    bot_ratings: list[int] = field(default_factory=list)


def intent_name(event: LoggedEvent) -> str:
    """The intent as designers name it: a retrieval intent with its topic (faq/退货政策) when the selector said."""
    intent = event.intent or FALLBACK_INTENT
    if intent in RETRIEVAL_INTENTS:
        selector = ((event.data.get("parse_data") or {}).get("response_selector") or {}).get(intent) or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        if isinstance(key, str) and key.startswith(intent + "/"):
            return key
    return intent


def masked_text(text: str) -> str:
    """What the customer wrote, masked (phone, ID, e-mail, address), on one line, at most MAX_SHOWN_TEXT long."""
    one_line = " ".join(scrub_all(text).split())
    return one_line if len(one_line) <= MAX_SHOWN_TEXT else one_line[:MAX_SHOWN_TEXT - 1] + "…"


def shown_text(text: str | None) -> str | None:
    """A fallback message as the report shows it (masked_text); None for an empty one or a button's payload
    (/intent…), which is not something the bot misread. Its own result gives itself back."""
    if not (text or "").strip() or (text or "").lstrip().startswith("/"):
        return None
    return masked_text(text or "")


def rating_score(event: LoggedEvent) -> int | None:
    """1–5 from the message's `rating` entity (the rating buttons send it), else from text like 5分 or 五星."""
    for entity in event.entities:
        if entity.get("entity") == "rating":
            value = str(entity.get("value", "")).strip()
            if value in {"1", "2", "3", "4", "5"}:
                return int(value)
    found = _SCORE.search(event.text or "")
    if found is None:
        return None
    digit = found.group(1)
    return int(digit) if digit.isdigit() else _NUMERALS[digit]


def read_conversations(events: Iterable[LoggedEvent], period: Period) -> ConversationFigures:
    figures = ConversationFigures()
    slots: dict[str, dict[str, Any]] = {}  # per conversation, the slots that tell what a rating is about
    pending: dict[str, tuple[LoggedEvent, bool]] = {}  # the last customer message and whether it was a fallback
    for event in events:
        sender = event.sender_id
        if event.kind == "slot" and event.action in (*SLOTS_OF_A_STORED_RATING, "pending_offer"):
            slots.setdefault(sender, {})[event.action] = event.value
        elif event.kind == "action" and event.action == FALLBACK_ACTION and sender in pending:
            message, counted = pending[sender]
            if not counted:
                pending[sender] = (message, True)
                _count_fallback(figures, message, period)
        elif event.kind == "user":
            pending.pop(sender, None)
            if event.is_customer_message and period.contains(period.business_time(event.at)):
                _count_message(figures, event, period, slots.get(sender, {}))
                pending[sender] = (event, event.intent == FALLBACK_INTENT)
    return figures


def _count_message(figures: ConversationFigures, event: LoggedEvent, period: Period, slots: dict[str, Any]) -> None:
    day = period.business_time(event.at).date()
    figures.senders.add(event.sender_id)
    figures.by_day.setdefault(day, set()).add(event.sender_id)
    figures.customer_messages += 1
    figures.intents[intent_name(event)] += 1
    if event.intent == FALLBACK_INTENT:
        _count_fallback(figures, event, period)
    if event.intent == RATE_INTENT:
        score = rating_score(event)
        stored = slots.get("pending_offer") == "rating" and any(slots.get(name) for name in SLOTS_OF_A_STORED_RATING)
        if score is not None and not stored:
            figures.bot_ratings.append(score)


def _count_fallback(figures: ConversationFigures, event: LoggedEvent, period: Period) -> None:
    figures.fallbacks += 1
    shown = shown_text(event.text)
    if shown is None:
        return
    at = period.business_time(event.at)
    entry = figures.misunderstood.get(shown)
    if entry is None:
        figures.misunderstood[shown] = Misunderstood(shown, 1, at)
    else:
        entry.count += 1
        entry.last_at = max(entry.last_at, at)
