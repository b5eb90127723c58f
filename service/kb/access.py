"""Who may see suggestions for a handoff session's latest customer message."""

from __future__ import annotations

from collections.abc import Sequence

from handoff.records import ASSIGNED, Message, Session
from service.errors import NotAllowed


def check_session_access(username: str, supervisor: bool, session: Session) -> None:
    """A 主管 may for any session; a 坐席 only for a session they hold now (assigned to them). NotAllowed otherwise."""
    if supervisor:
        return
    if session.status != ASSIGNED or session.agent != username:
        raise NotAllowed("not_your_session", "该会话不由您接待，不能查看推荐答案")


def latest_customer_message(messages: Sequence[Message]) -> str:
    """The text of the session's last customer message ("" when the customer has not written since the handoff)."""
    for message in reversed(messages):
        if message.direction == "customer" and message.text.strip():
            return message.text.strip()
    return ""
