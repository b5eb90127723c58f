"""A handoff chat as the facts a ticket is made from, and the 新建工单 body: pure functions for the ticket routes.

The customer, the conversation and the orders come from the session's record, which the bot filled (its context
package) and the chat added to; the client names only its choices, and an order only among the chat's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from desk.errors import Unprocessable
from desk.params import json_object
from handoff.records import Message, Session
from service.tickets.drafting import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    ChatFacts,
    ChatOrder,
    ChatTicketRequest,
    Line,
)
from service.tickets.policy import PRIORITIES
from service.tickets.rules import Category, Kind

CHAT_TICKET_FIELDS = ("category", "title")
CHAT_TICKET_OPTIONAL = ("kind", "priority", "description", "order_id")
ORDER_ID = re.compile(r"E[0-9]{12}")
SPEAKERS = {"user": "user", "customer": "user", "bot": "bot", "agent": "agent"}
MAX_LINES = 80


def _text(value: Any, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _orders(context: dict[str, Any]) -> tuple[ChatOrder, ...]:
    """The slot's order first, then the recent ones; only well-formed order numbers, each once."""
    recent = [o for o in context.get("recent_orders") or [] if isinstance(o, dict)]
    summaries = {_text(o.get("order_id"), 20): _text(o.get("summary"), 64) for o in recent}
    slots_value = context.get("slots")
    slots: dict[str, Any] = slots_value if isinstance(slots_value, dict) else {}
    ids = [_text(slots.get("order_id"), 20), *summaries]
    seen: list[str] = []
    for order_id in ids:
        if ORDER_ID.fullmatch(order_id) and order_id not in seen:
            seen.append(order_id)
    return tuple(ChatOrder(order_id, summaries.get(order_id, "")) for order_id in seen)


def chat_facts(session: Session, messages: Sequence[Message]) -> ChatFacts:
    """What the session's record says: who the customer is, what was said (bot transcript, then the chat)."""
    context = session.context if isinstance(session.context, dict) else {}
    customer_value = context.get("customer")
    customer: dict[str, Any] = customer_value if isinstance(customer_value, dict) else {}
    lines: list[Line] = []
    intents: list[str] = []
    for turn in context.get("transcript") or []:
        if isinstance(turn, dict) and turn.get("speaker") in SPEAKERS:
            intent = _text(turn.get("intent"), 80) if turn["speaker"] == "user" else ""
            lines.append(Line(SPEAKERS[turn["speaker"]], _text(turn.get("text"), 2000), intent))
            if intent:
                intents.append(intent)
    for message in messages:
        if message.direction in SPEAKERS:
            intent = (message.intent or "") if message.direction == "customer" else ""
            lines.append(Line(SPEAKERS[message.direction], message.text, intent))
            if intent:
                intents.append(intent)
    return ChatFacts(
        session_id=session.id, sender_id=session.sender_id, channel=session.channel,
        customer_id=session.customer_id, customer_name=_text(customer.get("name"), 32),
        customer_phone=_text(customer.get("phone"), 20), customer_vip=customer.get("vip") is True,
        summary=session.summary, lines=tuple(lines[-MAX_LINES:]), intents=tuple(intents), orders=_orders(context))


def _choice(body: dict[str, str], name: str, choices: Sequence[str], default: str | None) -> str | None:
    raw = body.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise Unprocessable("invalid_input", f"{name} must be one of {'、'.join(choices)}; got '{raw[:40]}'", name)
    return raw


def _bounded(body: dict[str, str], name: str, limit: int, required: bool) -> str:
    raw = body.get(name, "")
    if len(raw) > limit:
        raise Unprocessable("invalid_input", f"{name} must be at most {limit} characters", name)
    if required and not raw.strip():
        raise Unprocessable("invalid_input", f"{name} must not be empty", name)
    return raw.strip()


def chat_ticket_body(raw: bytes) -> ChatTicketRequest:
    """POST …/tickets: {category, title, kind?, priority?, description?, order_id?}, each a string, checked."""
    body = json_object(raw, required=CHAT_TICKET_FIELDS, optional=CHAT_TICKET_OPTIONAL)
    category = _choice(body, "category", [c.value for c in Category], None)
    if category is None:
        raise Unprocessable("invalid_input", "category must not be empty", "category")
    kind = _choice(body, "kind", [k.value for k in Kind], Kind.ISSUE.value)
    order_id = body.get("order_id") or None
    if order_id is not None and not ORDER_ID.fullmatch(order_id):
        raise Unprocessable("invalid_input", "order_id must be an order number like E202611010001", "order_id")
    return ChatTicketRequest(
        category=Category(category), kind=Kind(kind), title=_bounded(body, "title", MAX_TITLE, True),
        description=_bounded(body, "description", MAX_DESCRIPTION, False),
        priority=_choice(body, "priority", PRIORITIES, None), order_id=order_id)
