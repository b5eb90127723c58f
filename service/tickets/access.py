"""Who may work on which tickets: a 坐席 (agent) only on their own department's, a 主管 (supervisor) on all.

Pure functions over the staff member's role and department; the desk calls them before it reads or changes a
ticket and before it lists. A ticket of another department is refused (the desk answers 403 other_department),
not hidden behind a 404: ticket numbers are sequential, so hiding existence would protect nothing, and a clear
refusal tells the agent to hand the case to its department.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.errors import NotAllowed
from service.tickets.models import TicketFilter

SUPERVISOR = "主管"
OTHER_DEPARTMENT = "other_department"


@dataclass(frozen=True)
class Scope:
    """The departments whose tickets someone may work on: one, or every one (`department` None)."""

    department: str | None

    @property
    def everything(self) -> bool:
        return self.department is None


def scope_for(role: str, department: str) -> Scope:
    return Scope(None) if role == SUPERVISOR else Scope(department)


def may_work_on(scope: Scope, ticket_department: str) -> bool:
    """Read, assign, change the status of or comment on a ticket of `ticket_department`."""
    return scope.everything or ticket_department == scope.department


def check_ticket(scope: Scope, ticket_department: str) -> None:
    """NotAllowed(other_department) unless `may_work_on`."""
    if not may_work_on(scope, ticket_department):
        raise NotAllowed(OTHER_DEPARTMENT, "该工单属于其他部门，坐席只能处理本部门的工单")


def scoped_filter(scope: Scope, filters: TicketFilter) -> TicketFilter:
    """The list filter within the scope: an agent's is forced to their department; asking for another department
    is NotAllowed(other_department) rather than a silently empty page."""
    if scope.everything:
        return filters
    if filters.department and filters.department != scope.department:
        raise NotAllowed(OTHER_DEPARTMENT, f"坐席只能查看本部门（{scope.department}）的工单")
    return replace(filters, department=scope.department)


NOT_OWNER = "not_owner"


def check_chat_owner(chat_agent: str | None, username: str, role: str) -> None:
    """Who may open a ticket from a handoff chat (and read its prefill): the agent who holds, or last held, the chat,
    or a 主管; NotAllowed(not_owner) for anyone else. The ticket itself goes where the routing rules send it."""
    if role != SUPERVISOR and (not chat_agent or chat_agent != username):
        raise NotAllowed(NOT_OWNER, "该会话不由您接待，不能从它新建工单")
