"""A customer's 1–5 rating of a human chat: stored on the handoff record; 1 or 2 opens an improvement task.

The task (改进) goes where every low rating's does, the supervisors' department (service/tickets: policy's
improvement_department, with a notification to its supervisor), carrying the comment, the chat's id, the agent's
name and the chat's lines, and the conversation (sender id) it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence

from handoff.records import HandoffRecords, Message, Session
from handoff.summary import order_of
from service.errors import InvalidInput
from service.tickets.models import Ticket, TicketDraft
from service.tickets.rules import Category, Kind
from service.tickets.service import IMPROVEMENT_THRESHOLD, TicketService

TRANSCRIPT_LINES = 30
SPEAKERS = {"customer": "客户", "agent": "坐席", "system": "系统"}


def chat_lines(messages: Sequence[Message]) -> str:
    return "\n".join(f"{SPEAKERS.get(m.direction, m.direction)}：{m.text}" for m in messages[-TRANSCRIPT_LINES:])


def improvement_draft(session: Session, messages: Sequence[Message], score: int, comment: str) -> TicketDraft:
    """The 改进 task of a low-rated chat (pure)."""
    customer = session.context.get("customer") or {}
    served = f"坐席 {session.agent}" if session.agent else "人工会话"
    summary = f"低分回访：人工会话（{served}，{session.skill_group}组）"
    if session.closing_summary:
        summary += f"，服务小结：{session.closing_summary}"
    return TicketDraft(
        category=Category.IMPROVEMENT, kind=Kind.IMPROVEMENT,
        description=f"人工会话 {session.id} 的客户评分 {score} 分：{comment or '（无评语）'}",
        summary=summary, transcript=chat_lines(messages), customer_id=session.customer_id,
        customer_name=str(customer.get("name", "")), customer_phone=str(customer.get("phone", "")),
        customer_vip=bool(customer.get("vip")), channel=session.channel, sender_id=session.sender_id,
        order_id=order_of(session), intent="rate_service", linked_ticket_id=None)


class HandoffRatings:
    """Synchronous (the action server runs it in a worker thread)."""

    def __init__(self, records: HandoffRecords, tickets: TicketService) -> None:
        self._records = records
        self._tickets = tickets

    def rate(self, session_id: str, score: int, comment: str = "") -> Ticket | None:
        """Store the rating; the improvement task it opened, if it was 1 or 2."""
        if not 1 <= score <= 5:
            raise InvalidInput("score", "1-5")
        session = self._records.get(session_id)
        self._records.rate(session.id, score, comment)
        if score > IMPROVEMENT_THRESHOLD:
            return None
        draft = improvement_draft(session, self._records.messages(session.id), score, comment[:500])
        return self._tickets.create(draft).ticket
