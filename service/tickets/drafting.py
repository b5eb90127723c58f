"""Turning a conversation into a ticket draft: the customer's words, a summary, a masked excerpt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.models import Customer, Order
from service.privacy import scrub
from service.tickets.models import TicketDraft
from service.tickets.rules import Category

EXCERPT_LINES = 12
OWN_WORDS_MESSAGES = 3
SPEAKERS = {"user": "客户", "bot": "小智", "agent": "坐席"}


@dataclass(frozen=True)
class Line:
    speaker: str  # user | bot | agent
    text: str


def customer_words(lines: Sequence[Line], limit: int = OWN_WORDS_MESSAGES) -> str:
    """The customer's latest typed messages (button payloads left out), oldest first."""
    typed = [line.text.strip() for line in lines if line.speaker == "user" and line.text.strip()
             and not line.text.startswith("/")]
    return "；".join(typed[-limit:])


def excerpt(lines: Sequence[Line], limit: int = EXCERPT_LINES) -> str:
    """The last lines of the conversation, personal data masked."""
    shown = [line for line in lines if line.text.strip() and not line.text.startswith("/")][-limit:]
    return "\n".join(f"{SPEAKERS.get(line.speaker, line.speaker)}：{scrub(line.text.strip())}" for line in shown)


def summary_for(category: Category, order: Order | None, detail: str) -> str:
    """One line for the agent: what it is about and which order."""
    about = f"订单{order.id}（{order.summary}）" if order else "未关联订单"
    detail = scrub(detail.strip())[:120]
    return f"{category.value}：{about}" + (f"，{detail}" if detail else "")


def draft_from_conversation(
    category: Category,
    lines: Sequence[Line],
    *,
    customer: Customer | None,
    order: Order | None,
    channel: str,
    sender_id: str,
    intent: str,
    description: str = "",
    detail: str = "",
) -> TicketDraft:
    """A ticket draft filled from what the conversation already says (nothing asked again)."""
    words = description.strip() or customer_words(lines)
    return TicketDraft(
        category=category,
        description=words,
        summary=summary_for(category, order, detail or words),
        transcript=excerpt(lines),
        customer_id=customer.id if customer else (order.customer_id if order else None),
        customer_name=customer.name if customer else (order.address.receiver if order else ""),
        customer_phone=customer.phone if customer else (order.address.phone if order else ""),
        customer_address=order.address.full if order else "",
        customer_vip=bool(customer and customer.is_vip),
        channel=channel,
        sender_id=sender_id,
        order_id=order.id if order else None,
        product=order.items[0].product_name if order and order.items else "",
        intent=intent,
    )
