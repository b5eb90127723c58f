"""The 服务小结: the one line an agent writes when ending a chat, drafted from the chat, checked, told the customer.

Pure functions over a handoff's record and messages; the bridge (end) stores and relays what `check_summary` returns,
the desk (GET /api/handoff/sessions/<id>/summary-draft) offers `draft_summary` to prefill the console's end dialog.

A chat that ended without one (the customer left first, or it ended another way) is `summary_due`: its agent, or a
主管, may add the summary afterwards (补写, `check_late_writer`); it is kept on the record and sent to nobody, since
the customer has gone and the bot has taken the conversation back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from handoff.context import TOPICS
from handoff.labels import INTENTS, REASONS
from handoff.records import Message, Session
from service.errors import InvalidInput, NotAllowed
from service.privacy import scrub

MAX_SUMMARY = 200
SUPERVISOR = "主管"
AGENT_EXCERPT = 60  # how much of the agent's last message the draft quotes
# Sent to the customer as the agent's last message (EXTERNAL_agent_message, whose response the trained model
# already has): a response of its own in domain.yml would need a retrained model before it could be used.
CUSTOMER_LINE = "服务小结：{summary}"
DUE_WITHIN = timedelta(days=7)  # how far back the console lists an agent's chats still waiting for their summary
DUE_LIMIT = 50
_SPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Line breaks, tabs and runs of spaces become one space; trimmed."""
    return _SPACE.sub(" ", text).strip()


def check_summary(text: str) -> str:
    """The summary as stored and sent: one line of 1–200 characters; InvalidInput(summary) otherwise."""
    line = one_line(text)
    if not line:
        raise InvalidInput("summary", f"请填写服务小结（1–{MAX_SUMMARY} 字）")
    if len(line) > MAX_SUMMARY:
        raise InvalidInput("summary", f"服务小结最多 {MAX_SUMMARY} 字，现在 {len(line)} 字")
    return line


def customer_line(summary: str) -> str:
    return CUSTOMER_LINE.format(summary=summary)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chat_intent(session: Session, messages: Sequence[Message]) -> str | None:
    """What the customer came about: their latest intent with a topic (物流, 退货…), in the chat or else before it."""
    in_chat = [m.intent for m in reversed(messages) if m.direction == "customer" and m.intent]
    before = [str(t.get("intent") or "") for t in reversed(session.context.get("transcript") or [])
              if isinstance(t, dict) and t.get("speaker") == "user"]
    return next((name for name in (str(i).split("/")[0] for i in in_chat + before) if name in TOPICS), None)


def order_of(session: Session) -> str | None:
    slots = session.context.get("slots") or {}
    order = slots.get("order_id") if isinstance(slots, dict) else None
    return str(order) if order else None


def draft_summary(session: Session, messages: Sequence[Message]) -> str:
    """A first draft: why the customer came to a person, about what and which order, and what the agent last said.

    e.g. 客户要求人工；问题：查物流；订单 E202611010001；已答复：快件已在派送途中。
    Phone numbers, addresses and e-mails in the agent's words are masked; at most 200 characters, one line.
    """
    parts = [REASONS.get(session.reason, "转人工")]
    intent = chat_intent(session, messages)
    if intent:
        parts.append(f"问题：{INTENTS.get(intent, intent)}")
    order = order_of(session)
    if order:
        parts.append(f"订单 {order}")
    last = next((m.text for m in reversed(messages) if m.direction == "agent" and m.text.strip()), "")
    if last:
        parts.append(f"已答复：{_clip(one_line(scrub(last)), AGENT_EXCERPT)}")
    return _clip(one_line("；".join(parts)), MAX_SUMMARY)


def check_drafter(session: Session, username: str, role: str) -> None:
    """Who may draft (and see) a chat's summary: the agent who holds or last held it, or a 主管; NotAllowed else."""
    if role != SUPERVISOR and session.agent != username:
        raise NotAllowed("not_owner", "该会话不由您接待")


def summary_due(session: Session) -> bool:
    """A finished chat an agent served that has no 服务小结 yet (the customer left first, or it ended another way)."""
    return (not session.is_open and bool(session.agent) and session.assigned_at is not None
            and not (session.closing_summary or "").strip())


def check_late_writer(session: Session, username: str, role: str) -> None:
    """Who may add a summary after the end, and when: the chat's agent or a 主管 (else NotAllowed not_owner), once the
    chat is over (still_open), when an agent served it (not_served) and none is written yet (summary_exists)."""
    check_drafter(session, username, role)
    if session.is_open:
        raise NotAllowed("still_open", "会话仍在进行中：请在结束会话时填写服务小结")
    if not session.agent or session.assigned_at is None:
        raise NotAllowed("not_served", "该会话没有坐席接待，无需服务小结")
    if (session.closing_summary or "").strip():
        raise NotAllowed("summary_exists", "该会话已有服务小结，不能再改")
