"""Turning a conversation into a ticket draft: the customer's words, a summary, a masked excerpt; and a handoff chat
into the 新建工单 dialog's prefill and, with what the agent chose, a draft."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.errors import InvalidInput
from service.models import Customer, Order
from service.privacy import scrub
from service.tickets.models import TicketDraft
from service.tickets.policy import TicketPolicy
from service.tickets.rules import Category, Kind, priority_for

EXCERPT_LINES = 12
OWN_WORDS_MESSAGES = 3
SPEAKERS = {"user": "客户", "bot": "小智", "agent": "坐席"}


@dataclass(frozen=True)
class Line:
    speaker: str  # user | bot | agent
    text: str
    intent: str = ""  # a customer line: how the NLU read it, when known


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


# --- a ticket an agent opens from a handoff chat ------------------------------------------------------------

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
# What the customer asked about → the ticket's category; anything else is a 登记 (a case written down).
CATEGORY_FOR_INTENT: dict[str, Category] = {
    "repair_request": Category.REPAIR, "complaint": Category.COMPLAINT, "return_request": Category.RETURN,
    "exchange_request": Category.RETURN, "change_address": Category.ADDRESS, "refund_status": Category.REFUND,
    "cancel_order": Category.REFUND,
}
SMALL_TALK = frozenset({"request_human", "affirm", "deny", "greet", "goodbye", "thank", "bot_challenge", "rate_service"})
NOT_A_TOPIC = frozenset({"", "request_human", "affirm", "deny", "greet", "goodbye", "thank", "inform", "nlu_fallback",
                         "out_of_scope", "bot_challenge", "rate_service"})


@dataclass(frozen=True)
class ChatOrder:
    order_id: str
    summary: str  # e.g. 蓝牙耳机 X1


@dataclass(frozen=True)
class ChatFacts:
    """What a handoff chat knows, read by the desk from the session's record (never taken from the client)."""

    session_id: str
    sender_id: str
    channel: str
    customer_id: str | None
    customer_name: str
    customer_phone: str
    customer_vip: bool
    summary: str  # the bot's line when it handed the customer over
    lines: tuple[Line, ...] = ()  # the bot's transcript, then the chat with the agent
    intents: tuple[str, ...] = ()  # the customer's intents, oldest first
    orders: tuple[ChatOrder, ...] = ()  # the one the conversation is about first, then the recent ones


@dataclass(frozen=True)
class ChatTicketRequest:
    """What the agent chose in the 新建工单 dialog (checked by the desk's parser)."""

    category: Category
    title: str
    description: str = ""
    kind: Kind = Kind.ISSUE
    priority: str | None = None
    order_id: str | None = None


@dataclass(frozen=True)
class ChatSuggestion:
    """The dialog's prefill."""

    kind: Kind
    category: Category
    priority: str
    title: str
    description: str
    order_id: str | None
    intent: str


def topic_of(intents: Sequence[str]) -> str:
    """The customer's latest intent that is a question (not 转人工, 是/否, greetings…); "" when none."""
    return next((i for i in reversed([name.split("/")[0] for name in intents]) if i not in NOT_A_TOPIC), "")


def category_for_intent(intent: str) -> Category:
    return CATEGORY_FOR_INTENT.get(intent, Category.REGISTERED)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest_ticket(facts: ChatFacts, policy: TicketPolicy) -> ChatSuggestion:
    """The ticket the chat points to: its topic's category, the order it is about, the customer's words (masked)."""
    intent = topic_of(facts.intents)
    category = category_for_intent(intent)
    order = facts.orders[0] if facts.orders else None
    asked = [line for line in facts.lines if line.intent.split("/")[0] not in SMALL_TALK]
    words = scrub(customer_words(asked)) or scrub(facts.summary)
    about = f"订单{order.order_id}（{order.summary}）" if order and order.summary else (
        f"订单{order.order_id}" if order else "")
    title = _clip(f"{category.value}：" + "，".join(p for p in (about, scrub(facts.summary)) if p), MAX_TITLE)
    priority = priority_for(policy, words, facts.customer_vip, category.value, 0)
    return ChatSuggestion(Kind.ISSUE, category, priority, title, words[:MAX_DESCRIPTION],
                          order.order_id if order else None, intent)


def draft_from_chat(facts: ChatFacts, request: ChatTicketRequest, actor: str) -> TicketDraft:
    """The ticket draft: the customer and the conversation from the chat's record, the rest as the agent chose;
    an order must be one the chat knows (InvalidInput otherwise), an improvement task is 改进 and only that."""
    if (request.kind is Kind.IMPROVEMENT) != (request.category is Category.IMPROVEMENT):
        raise InvalidInput("category", "改进工单的分类须为「改进」，其他工单不能用「改进」")
    order = None
    if request.order_id is not None:
        order = next((o for o in facts.orders if o.order_id == request.order_id), None)
        if order is None:
            raise InvalidInput("order_id", "不是该会话涉及的订单")
    title = " ".join(request.title.split())
    if not title:
        raise InvalidInput("title", "empty")
    return TicketDraft(
        category=request.category, kind=request.kind, description=request.description.strip() or title,
        summary=title[:MAX_TITLE], transcript=excerpt(facts.lines), customer_id=(facts.customer_id or "")[:16] or None,
        customer_name=facts.customer_name, customer_phone=facts.customer_phone, customer_vip=facts.customer_vip,
        channel=facts.channel[:32], sender_id=facts.sender_id[:200], order_id=order.order_id if order else None,
        product=order.summary[:64] if order else "", intent=topic_of(facts.intents)[:40], priority=request.priority,
        actor=actor, origin=facts.session_id,
    )
