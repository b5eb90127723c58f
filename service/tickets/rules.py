"""Ticket rules as pure functions: priority, department, due times, status workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from service.tickets.policy import PRIORITIES, TicketPolicy


class Status(str, Enum):
    NEW = "新建"
    ASSIGNED = "已分派"
    IN_PROGRESS = "处理中"
    AWAITING_CUSTOMER = "待客户确认"
    RESOLVED = "已解决"
    CLOSED = "已关闭"
    REOPENED = "重新打开"

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.CLOSED}),
    Status.ASSIGNED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.AWAITING_CUSTOMER, Status.RESOLVED}),
    Status.AWAITING_CUSTOMER: frozenset({Status.RESOLVED, Status.REOPENED, Status.IN_PROGRESS}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.ASSIGNED, Status.IN_PROGRESS}),
}


class Category(str, Enum):
    REPAIR = "维修"
    COMPLAINT = "投诉"
    RETURN = "退换货"
    ADDRESS = "地址变更"
    HANDOFF = "人工未完成"
    REFUND = "退款"
    REGISTERED = "登记"
    IMPROVEMENT = "改进"


class Kind(str, Enum):
    ISSUE = "问题"
    IMPROVEMENT = "改进"


class TransitionError(ValueError):
    """A status change the workflow does not allow; the message says which ones it does."""

    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = "、".join(s.value for s in sorted(TRANSITIONS[current], key=list(Status).index)) or "无"
        super().__init__(f"工单状态不能从「{current.value}」改为「{wanted.value}」，可改为：{allowed}")
        self.current = current
        self.wanted = wanted


# Moves only a 主管 makes: a closed case is final for a 坐席 (the customer can still reopen an unconfirmed one).
SUPERVISOR_ONLY: frozenset[tuple[Status, Status]] = frozenset({(Status.CLOSED, Status.REOPENED)})


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in TRANSITIONS[current]:
        raise TransitionError(current, wanted)


def next_statuses(current: Status, supervisor: bool) -> list[Status]:
    """The statuses a ticket in `current` may move to, in workflow order, for a 主管 (`supervisor`) or a 坐席."""
    return [s for s in Status if s in TRANSITIONS[current] and (supervisor or (current, s) not in SUPERVISOR_ONLY)]


def reserved_for_supervisors(current: Status, wanted: Status) -> bool:
    """Whether the move is one only a 主管 may make (the workflow itself may still refuse it)."""
    return (current, wanted) in SUPERVISOR_ONLY


def priority_for(
    policy: TicketPolicy, text: str, is_vip: bool, category: str, earlier_complaints: int
) -> str:
    """特急 for safety words; 紧急 for VIPs and repeated complaints; 一般 otherwise."""
    if any(word in text for word in policy.safety_words):
        return "特急"
    if is_vip or (category == Category.COMPLAINT.value and earlier_complaints > 0):
        return "紧急"
    return "一般"


def raise_priority(priority: str) -> str:
    index = PRIORITIES.index(priority)
    return PRIORITIES[min(index + 1, len(PRIORITIES) - 1)]


def department_for(policy: TicketPolicy, category: str, intent: str, text: str, kind: Kind = Kind.ISSUE) -> str:
    """The first routing rule that matches; an improvement task (改进, from a low rating) always goes to the
    supervisors' department (improvement_department), never where a word in the customer's comment points."""
    if kind is Kind.IMPROVEMENT:
        return policy.improvement_department or policy.default_department
    for rule in policy.routing:
        if rule.matches(category, intent, text):
            return rule.department
    return policy.default_department


@dataclass(frozen=True)
class DueTimes:
    first_response: datetime
    resolution: datetime


def due_times(policy: TicketPolicy, priority: str, start: datetime) -> DueTimes:
    sla = policy.sla[priority]
    return DueTimes(start + timedelta(hours=sla.first_response_hours), start + timedelta(hours=sla.resolution_hours))


def overdue_reason(
    status: Status, first_response_due: datetime, resolution_due: datetime,
    first_responded_at: datetime | None, now: datetime,
) -> str | None:
    """Why an open ticket is overdue ("first_response" / "resolution"), or None."""
    if not status.is_open or status is Status.AWAITING_CUSTOMER:
        return None
    if first_responded_at is None and now > first_response_due:
        return "first_response"
    if now > resolution_due:
        return "resolution"
    return None
