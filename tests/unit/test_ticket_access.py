"""Who may work on which tickets (service/tickets/access.py), without HTTP."""

from __future__ import annotations

import pytest

from service.errors import NotAllowed
from service.tickets.access import OTHER_DEPARTMENT, Scope, check_ticket, may_work_on, scope_for, scoped_filter
from service.tickets.models import TicketFilter
from service.tickets.rules import Status


def test_agents_are_scoped_to_their_department_supervisors_to_all() -> None:
    agent, supervisor = scope_for("坐席", "物流部"), scope_for("主管", "客服中心")
    assert agent == Scope("物流部") and not agent.everything
    assert supervisor.everything
    assert may_work_on(agent, "物流部") and not may_work_on(agent, "售后技术")
    assert all(may_work_on(supervisor, d) for d in ("物流部", "售后技术", "客服中心"))
    check_ticket(agent, "物流部")
    with pytest.raises(NotAllowed) as refused:
        check_ticket(agent, "售后技术")
    assert refused.value.code == OTHER_DEPARTMENT


def test_an_agents_list_is_forced_to_their_department() -> None:
    agent, supervisor = scope_for("坐席", "物流部"), scope_for("主管", "客服中心")
    wanted = TicketFilter(status=Status.NEW, query="13800138000")
    assert scoped_filter(agent, wanted) == TicketFilter(status=Status.NEW, query="13800138000", department="物流部")
    assert scoped_filter(agent, TicketFilter(department="物流部")).department == "物流部"
    with pytest.raises(NotAllowed, match="物流部"):
        scoped_filter(agent, TicketFilter(department="售后技术"))
    assert scoped_filter(supervisor, wanted) is wanted
    assert scoped_filter(supervisor, TicketFilter(department="售后技术")).department == "售后技术"
