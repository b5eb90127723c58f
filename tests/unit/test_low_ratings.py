"""Low ratings (1–2) of tickets and of human chats open improvement tasks for the supervisors (客服中心, with a
notification), never for the department a word in the comment names; the comment and the chat or ticket linked."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.dialogue import ActionRateService
from handoff.ratings import HandoffRatings
from handoff.records import HandoffRecords
from service.errors import InvalidInput
from service.tickets.models import TicketDraft, TicketFilter
from service.tickets.policy import PolicyError, load_policy, parse_policy
from service.tickets.rules import Category, Kind, department_for
from service.tickets.service import TicketService
from tests.trackers import domain, responses, tracker

CONTEXT = {"customer": {"id": "C001", "name": "张伟", "phone": "13800138000", "vip": True},
           "slots": {"order_id": "E202611010001"}}


def chat(records: HandoffRecords) -> str:
    """A human chat of 张伟 with agent2 that ended with a 服务小结; its id."""
    opened = records.open_session(sender_id="web-c001", channel="rest", customer_id="C001", reason="request_human",
                                  skill_group="物流", priority=0, summary="客户询问物流", context=CONTEXT)
    records.assign(opened.id, "agent2", "pick", "agent2")
    records.add_message(opened.id, "customer", "customer", "快递怎么还没到", "query_logistics")
    records.add_message(opened.id, "agent", "agent2", "已帮您催促顺丰")
    records.set_closing_summary(opened.id, "已催促快递")
    records.close(opened.id, "ended", "agent_ended")
    return opened.id


def test_improvement_tasks_are_routed_to_the_supervisors_whatever_the_text() -> None:
    policy = load_policy()
    assert policy.improvement_department == "客服中心"
    assert department_for(policy, Category.IMPROVEMENT.value, "", "快递 退款 维修 投诉", Kind.IMPROVEMENT) == "客服中心"
    assert department_for(policy, Category.REPAIR.value, "", "快递", Kind.ISSUE) == "售后技术"
    sla = {p: {"first_response_hours": 1, "resolution_hours": 8} for p in ("一般", "紧急", "特急")}
    minimal = {"departments": {"物流部": {}, "客服中心": {}}, "default_department": "物流部", "sla": sla}
    assert parse_policy(minimal).improvement_department == "物流部"  # left out: the default department
    with pytest.raises(PolicyError, match="improvement_department"):
        parse_policy({**minimal, "improvement_department": "无此部门"})


def test_a_low_ticket_rating_goes_to_the_supervisor_not_to_the_department_its_comment_names(
        tickets: TicketService) -> None:
    number = tickets.create(TicketDraft(category=Category.REPAIR, description="耳机没声音", customer_id="C001",
                                        sender_id="web-c001")).ticket.number
    _, improvement = tickets.rate(number, 1, "快递太慢，退款也没到")  # 物流部's and 财务's words
    assert improvement is not None
    assert (improvement.department, improvement.kind, improvement.linked_ticket_id) == (
        "客服中心", Kind.IMPROVEMENT, tickets.get(number).id)
    assert "快递太慢，退款也没到" in improvement.description and number in improvement.description
    [note] = tickets.notifications(department="客服中心")
    assert (note.kind, note.recipient, note.ticket_number) == ("low_rating", "周主管", improvement.number)
    assert number in note.message


def test_a_low_chat_rating_opens_a_task_for_the_supervisor_with_the_chat(tickets: TicketService) -> None:
    records = HandoffRecords(tickets.engine, tickets._clock)
    session_id = chat(records)
    ratings = HandoffRatings(records, tickets)
    assert ratings.rate(session_id, 4, "还行") is None
    task = ratings.rate(session_id, 2, "物流客服态度差")
    assert task is not None and records.get(session_id).rating == 2
    assert (task.department, task.kind, task.category) == ("客服中心", Kind.IMPROVEMENT, "改进")
    assert task.description == f"人工会话 {session_id} 的客户评分 2 分：物流客服态度差"
    assert task.summary == "低分回访：人工会话（坐席 agent2，物流组），服务小结：已催促快递"
    assert task.transcript == "客户：快递怎么还没到\n坐席：已帮您催促顺丰"
    assert (task.sender_id, task.customer_id, task.order_id, task.customer_vip) == (
        "web-c001", "C001", "E202611010001", True)
    [note] = tickets.notifications(department="客服中心")
    assert (note.kind, note.recipient, note.ticket_number) == ("low_rating", "周主管", task.number)
    with pytest.raises(InvalidInput):
        ratings.rate(session_id, 0)


async def test_the_rating_action_opens_the_task_for_a_chat(services: Services) -> None:
    session_id = chat(services.handoffs)
    rating = tracker("1分 太慢了", "rate_service", entities={"rating": "1"},
                     slots={"pending_offer": "rating", "rating_handoff": session_id})
    dispatcher = CollectingDispatcher()
    await ActionRateService(services).run(dispatcher, rating, domain())
    assert responses(dispatcher) == ["utter_rating_sorry"]
    assert services.handoffs.get(session_id).rating == 1
    [task] = services.tickets.search(TicketFilter(category="改进")).items
    assert task.department == "客服中心" and "太慢了" in task.description
