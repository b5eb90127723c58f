"""Ticket rules on a real database: SQLite always, PostgreSQL in the `postgres` suite."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from service.errors import InvalidInput, NotFound
from service.settings import load_settings
from service.tickets import build_ticket_service
from service.tickets.models import TicketDraft, TicketFilter
from service.tickets.policy import PolicyError, load_policy, parse_policy
from service.tickets.rules import Category, Kind, Status, TransitionError, department_for, priority_for
from service.tickets.service import TicketService
from tests.desk_harness import MovableClock

START = datetime(2026, 11, 21, 10, 0)



@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


def draft(category: Category = Category.REPAIR, description: str = "耳机左耳没声音", **extra) -> TicketDraft:
    base = dict(customer_id="C002", customer_name="李娜", customer_phone="13900139000",
                customer_address="上海市浦东新区世纪大道200号8楼", channel="rest", sender_id="s1",
                order_id="E202611120004", product="连衣裙", intent="repair_request")
    base.update(extra)
    return TicketDraft(category=category, description=description, summary="客户申请维修", **base)


# --- pure rules ------------------------------------------------------------------------------

def test_priority_rules() -> None:
    policy = load_policy()
    assert priority_for(policy, "充电的时候冒烟了", False, "维修", 0) == "特急"
    assert priority_for(policy, "插座漏电", True, "维修", 0) == "特急"
    assert priority_for(policy, "不制冷", True, "维修", 0) == "紧急"
    assert priority_for(policy, "态度差", False, "投诉", 1) == "紧急"
    assert priority_for(policy, "态度差", False, "投诉", 0) == "一般"


def test_routing_rules_and_default() -> None:
    policy = load_policy()
    assert department_for(policy, "维修", "", "") == "售后技术"
    assert department_for(policy, "地址变更", "", "") == "物流部"
    assert department_for(policy, "登记", "", "退款一直没到") == "财务"
    assert department_for(policy, "登记", "", "想问个事") == policy.default_department


def test_policy_errors_name_the_key() -> None:
    with pytest.raises(PolicyError, match="default_department"):
        parse_policy({"departments": {"物流部": {}}, "default_department": "无此部门"})
    with pytest.raises(PolicyError, match=r"routing\[0\]"):
        parse_policy({"departments": {"物流部": {}}, "default_department": "物流部", "routing": [{"department": "x"}]})


# --- on a database -----------------------------------------------------------------------------

def test_creation_fills_priority_department_sla(tickets: TicketService) -> None:
    created = tickets.create(draft())
    ticket = created.ticket
    assert not created.duplicate
    assert ticket.number.startswith("T") and ticket.number[1:].isdigit()
    assert (ticket.status, ticket.priority, ticket.department) == (Status.NEW, "一般", "售后技术")
    assert ticket.first_response_due == START + timedelta(hours=2)
    assert ticket.resolution_due == START + timedelta(hours=48)
    assert [e.kind for e in tickets.trail(ticket.number)] == ["created"]


def test_safety_words_make_it_urgent_with_a_shorter_sla(tickets: TicketService) -> None:
    ticket = tickets.create(draft(description="电饭煲冒烟了，还有焦味")).ticket
    assert ticket.priority == "特急"
    assert ticket.resolution_due == START + timedelta(hours=8)


def test_vip_and_repeated_complaints_are_urgent(tickets: TicketService) -> None:
    assert tickets.create(draft(Category.REPAIR, customer_vip=True)).ticket.priority == "紧急"
    first = tickets.create(draft(Category.COMPLAINT, "发错货", order_id="E1")).ticket
    second = tickets.create(draft(Category.COMPLAINT, "又发错了", order_id="E2")).ticket
    assert (first.priority, second.priority) == ("一般", "紧急")


def test_duplicate_guard_comments_on_the_open_ticket(tickets: TicketService) -> None:
    first = tickets.create(draft()).ticket
    again = tickets.create(draft(description="右耳也没声音了"))
    assert again.duplicate and again.ticket.number == first.number
    assert tickets.trail(first.number)[-1].comment == "右耳也没声音了"
    other_order = tickets.create(draft(order_id="E202610200003"))
    assert not other_order.duplicate
    tickets.change_status(first.number, "agent1", Status.IN_PROGRESS)
    tickets.change_status(first.number, "agent1", Status.RESOLVED)
    assert not tickets.create(draft()).duplicate  # the old one is resolved: a new ticket


def test_workflow_and_audit_trail(tickets: TicketService) -> None:
    number = tickets.create(draft()).ticket.number
    tickets.assign(number, "sup1", "agent1")
    tickets.change_status(number, "agent1", Status.IN_PROGRESS, "已联系客户")
    tickets.change_status(number, "agent1", Status.AWAITING_CUSTOMER, "已寄出新品")
    tickets.change_status(number, "customer", Status.REOPENED, "还是不行")
    tickets.change_status(number, "agent1", Status.IN_PROGRESS)
    tickets.change_status(number, "agent1", Status.RESOLVED)
    final = tickets.change_status(number, "sup1", Status.CLOSED)
    assert final.status is Status.CLOSED and final.closed_at is not None
    trail = tickets.trail(number)
    assert [(e.actor, e.from_status, e.to_status) for e in trail if e.kind == "status"] == [
        ("sup1", "新建", "已分派"), ("agent1", "已分派", "处理中"), ("agent1", "处理中", "待客户确认"),
        ("customer", "待客户确认", "重新打开"), ("agent1", "重新打开", "处理中"), ("agent1", "处理中", "已解决"),
        ("sup1", "已解决", "已关闭")]
    assert all(e.at for e in trail)


def test_invalid_transitions_are_refused_with_the_allowed_ones(tickets: TicketService) -> None:
    number = tickets.create(draft()).ticket.number
    with pytest.raises(TransitionError, match="不能从「新建」改为「已解决」.*可改为：已分派、处理中、已关闭"):
        tickets.change_status(number, "agent1", Status.RESOLVED)
    with pytest.raises(NotFound):
        tickets.change_status("T000", "agent1", Status.IN_PROGRESS)


def test_escalation_of_overdue_tickets(tickets: TicketService, clock: MovableClock) -> None:
    number = tickets.create(draft()).ticket.number
    clock.advance(hours=1)
    assert tickets.escalate_overdue() == []
    clock.advance(hours=1, minutes=5)  # first response was due after 2 h
    [escalation] = tickets.escalate_overdue()
    assert (escalation.ticket_number, escalation.reason) == (number, "first_response")
    assert (escalation.old_priority, escalation.new_priority, escalation.supervisor) == ("一般", "紧急", "郑主管")
    ticket = tickets.get(number)
    assert ticket.overdue and ticket.escalation_level == 1 and ticket.priority == "紧急"
    assert tickets.escalate_overdue() == []  # re-based on the new SLA: not again right away
    [note] = tickets.notifications(department="售后技术")
    assert note.ticket_number == number and "紧急" in note.message
    assert tickets.trail(number)[-1].kind == "escalation"


def test_answered_tickets_escalate_only_on_resolution(tickets: TicketService, clock: MovableClock) -> None:
    number = tickets.create(draft()).ticket.number
    tickets.comment(number, "agent1", "您好，已收到")
    clock.advance(hours=47)
    assert tickets.escalate_overdue() == []
    clock.advance(hours=2)
    assert [e.reason for e in tickets.escalate_overdue()] == ["resolution"]


def test_low_rating_opens_an_improvement_task(tickets: TicketService) -> None:
    number = tickets.create(draft()).ticket.number
    rating, improvement = tickets.rate(number, 5, "很快")
    assert rating.score == 5 and improvement is None
    rating, improvement = tickets.rate(number, 2, "太慢了")
    assert improvement is not None
    original = tickets.get(number)
    assert (improvement.kind, improvement.category, improvement.linked_ticket_id) == (Kind.IMPROVEMENT, "改进", original.id)
    assert improvement.department == "客服中心"  # the supervisors' (ticketing.yml improvement_department)
    assert [r.score for r in tickets.ratings(number)] == [5, 2]
    with pytest.raises(InvalidInput):
        tickets.rate(number, 6)


def test_open_tickets_of_a_customer_and_search(tickets: TicketService) -> None:
    a = tickets.create(draft()).ticket
    b = tickets.create(draft(Category.ADDRESS, "已发货要改地址", order_id="E202611010001", customer_id="C001")).ticket
    assert [t.number for t in tickets.open_for(customer_id="C002")] == [a.number]
    assert [t.number for t in tickets.open_for(sender_id="s1")] == [b.number, a.number]
    page = tickets.search(TicketFilter(department="物流部"))
    assert page.total == 1 and page.items[0].number == b.number
    assert tickets.search(TicketFilter(query="E202611120004")).items[0].number == a.number
    with pytest.raises(InvalidInput):
        tickets.search(TicketFilter(), page_size=1000)


def test_migrations_run_twice_without_harm(database_url: str, tmp_path: Path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": database_url})
    build_ticket_service(settings)._engine.dispose()
    build_ticket_service(settings)._engine.dispose()
