"""The context package a handoff carries, and the one-line Chinese summary for the agent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from service.privacy import scrub
from service.tickets.drafting import Line

TOPICS = {
    "query_logistics": "物流", "urge_delivery": "催发货", "query_order_status": "订单状态",
    "change_address": "修改地址", "cancel_order": "取消订单", "return_request": "退货", "exchange_request": "换货",
    "refund_status": "退款进度", "request_invoice": "发票", "product_inquiry": "商品", "price_protection": "价保",
    "complaint": "投诉", "repair_request": "维修", "query_ticket_status": "工单进度",
}
REASONS = {
    "request_human": "客户要求人工", "fallback": "机器人连续两次没听懂，转人工", "complaint": "客户投诉，转人工",
    "angry": "客户情绪激动，转人工", "vip_unsolved": "VIP客户问题机器人未能解决，转人工",
    "always_human": "该类问题按规定由人工处理",
}
_BRACKETED = re.compile(r"【([^】]+)】")


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    intent: str = ""
    entities: tuple[tuple[str, str], ...] = ()
    channel: str = ""  # a customer line: the channel it came from


@dataclass(frozen=True)
class ContextPackage:
    """Everything the agent needs to pick up where the bot left off (stored whole; masked per role)."""

    sender_id: str
    channel: str
    reason: str
    summary: str
    customer: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    recent_orders: list[dict[str, Any]] = field(default_factory=list)
    open_tickets: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_topic(turns: Sequence[Turn]) -> str | None:
    for turn in reversed(turns):
        if turn.speaker == "user" and turn.intent in TOPICS:
            return turn.intent
    return None


def bot_told(turns: Sequence[Turn], limit: int = 40) -> str:
    """What the bot answered to the customer's last question, shortened: a 【place】 if it named one."""
    answers: list[str] = []
    for turn in reversed(turns):
        if turn.speaker == "user" and turn.intent in TOPICS:
            break
        if turn.speaker == "bot" and turn.text.strip():
            answers.insert(0, turn.text)
    for text in answers:
        place = _BRACKETED.findall(text)
        if place:
            return f"在{place[-1]}"
    if not answers:
        return ""
    first = scrub(answers[0].strip().splitlines()[0]).rstrip("。.！!")
    return first if len(first) <= limit else first[:limit] + "…"


def summary(turns: Sequence[Turn], reason: str, order_id: str | None) -> str:
    """客户询问订单E202611010001物流，机器人已告知在杭州转运中心，客户要求人工."""
    topic = last_topic(turns)
    parts = []
    if topic:
        parts.append(f"客户询问{'订单' + order_id if order_id else ''}{TOPICS[topic]}")
        told = bot_told(turns)
        if told:
            parts.append(f"机器人已告知{told}")
    parts.append(REASONS.get(reason, "转人工"))
    return "，".join(parts)


def transcript_json(turns: Sequence[Turn], limit: int = 40) -> list[dict[str, Any]]:
    """The conversation for the agent: personal data masked, each customer line with its NLU."""
    shown = [t for t in turns if t.text.strip() and not t.text.startswith("/")][-limit:]
    return [{"speaker": t.speaker, "text": scrub(t.text), "intent": t.intent, "entities": [list(e) for e in t.entities],
             **({"channel": t.channel} if t.channel else {})} for t in shown]


def turns_from_lines(lines: Sequence[Line]) -> list[Turn]:
    return [Turn(line.speaker, line.text) for line in lines]
