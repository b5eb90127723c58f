"""Tickets from the chat: created from context, listed, added to, confirmed, rated."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.dialogue import ActionHandleComplaint, ActionRateService
from actions.repairs import ActionSubmitRepair
from actions.tickets import (
    ActionAddTicketInfo,
    ActionConfirmResolution,
    ActionRegisterIssue,
    ActionRejectResolution,
    ActionTicketStatus,
    ValidateRegisterForm,
    ValidateTicketNoteForm,
    note_of,
)
from service.tickets.models import TicketFilter
from service.tickets.rules import Status
from tests.trackers import domain, responses, said, signed_in, slot_events, tracker

WASHER = {**signed_in("C002"), "issue_description": "洗衣机一直漏水"}


async def register(services: Services) -> str:
    dispatcher = CollectingDispatcher()
    t = tracker("帮我登记一下 洗衣机一直漏水", "register_issue", slots=WASHER)
    await ActionRegisterIssue(services).run(dispatcher, t, domain())
    return str(said(dispatcher, "utter_ticket_created")["number"])


async def status_of(services: Services, text: str, **kwargs) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus(services).run(dispatcher, tracker(text, "query_ticket_status", **kwargs), domain())
    return dispatcher


def with_history(t, *exchanges: tuple[str, str]):
    """Put earlier user/bot turns in front of the tracker's latest message."""
    earlier = []
    for user, bot in exchanges:
        earlier += [{"event": "user", "text": user, "input_channel": "rest"}, {"event": "bot", "text": bot}]
    t.events[:0] = earlier
    t.events[-1]["input_channel"] = "rest"
    return t


async def test_repair_request_becomes_a_ticket_without_asking_again(services: Services) -> None:
    t = with_history(tracker("明天上午", "inform", slots={
        **signed_in("C001"), "order_id": "E202610200003", "fault_description": "冷藏室不制冷",
        "contact_phone": "13800138000", "preferred_time": "2026-11-22（周日）上午"}),
        ("冰箱BCD-470不制冷了", "请留一个方便联系的手机号"), ("可以", "希望工程师什么时候上门呢？"))
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitRepair(services).run(dispatcher, t, domain())
    created = said(dispatcher, "utter_ticket_created_urgent")  # VIP → 紧急
    assert created["number"].startswith("T") and created["department"] == "售后技术"
    ticket = services.tickets.get(slot_events(events)["ticket_id"])
    assert (ticket.customer_id, ticket.order_id, ticket.channel) == ("C001", "E202610200003", "rest")
    assert ticket.product == "冰箱 BCD-470"
    assert ticket.description == "冷藏室不制冷"
    assert "订单E202610200003" in ticket.summary and "维修单 RP" in ticket.summary
    assert "客户：冰箱BCD-470不制冷了" in ticket.transcript
    assert "13800138000" not in ticket.transcript


async def test_second_complaint_on_the_same_order_updates_the_ticket(services: Services) -> None:
    t = tracker("发错货了 E202611120004", "complaint", entities={"order_id": "E202611120004"}, slots={**signed_in("C002")})
    first = CollectingDispatcher()
    await ActionHandleComplaint(services).run(first, t, domain())
    second = CollectingDispatcher()
    await ActionHandleComplaint(services).run(second, t, domain())
    assert said(second, "utter_ticket_updated")["number"] == said(first, "utter_ticket_created")["number"]


async def test_progress_lists_open_tickets_or_shows_one(services: Services) -> None:
    number = await register(services)
    dispatcher = await status_of(services, "我的工单处理得怎么样了", slots={**signed_in("C002")})
    assert responses(dispatcher) == ["utter_ticket_list_intro", "utter_ticket_line"]
    line = said(dispatcher, "utter_ticket_line")
    assert (line["number"], line["status"], line["department"]) == (number, "新建", "客服中心")

    li = {**signed_in("C002")}
    dispatcher = await status_of(services, f"{number}到哪一步了", entities={"ticket_id": number}, slots=li)
    assert said(dispatcher, "utter_ticket_detail")["number"] == number
    dispatcher = await status_of(services, "T2099010100001", entities={"ticket_id": "T2099010100001"}, slots=li)
    assert responses(dispatcher) == ["utter_ticket_not_found"]


async def test_a_ticket_is_shown_only_to_its_customer(services: Services) -> None:
    number = await register(services)  # 李娜's
    zhang = {**signed_in("C001")}
    dispatcher = await status_of(services, f"{number}到哪一步了", entities={"ticket_id": number}, slots=zhang)
    assert responses(dispatcher) == ["utter_ticket_not_found"]  # as if there were none: numbers are sequential
    dispatcher = CollectingDispatcher()
    t = tracker(f"{number}到哪一步了", "query_ticket_status", entities={"ticket_id": number})
    events = await ActionTicketStatus(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_proof_needed"]  # anonymous: a proof first, then the answer
    assert slot_events(events)["pending_task"] == "query_ticket_status"
    assert {"event": "followup", "timestamp": None, "name": "identity_form"} in events


async def test_register_form_takes_the_description_from_the_message_or_history(services: Services) -> None:
    extract = ValidateRegisterForm(services).extract_issue_description
    direct = tracker("帮我登记一下，洗衣机一直漏水", "register_issue")
    assert await extract(CollectingDispatcher(), direct, domain()) == {"issue_description": "帮我登记一下，洗衣机一直漏水"}
    earlier = with_history(tracker("帮我登记一下", "register_issue"), ("快递员态度很差还扔包裹", "非常抱歉……"))
    assert await extract(CollectingDispatcher(), earlier, domain()) == {"issue_description": "快递员态度很差还扔包裹"}
    assert await extract(CollectingDispatcher(), tracker("帮我登记一下", "register_issue"), domain()) == {}


async def test_adding_information_to_the_open_ticket(services: Services) -> None:
    assert note_of("补充一下：收到时外箱就是湿的") == "收到时外箱就是湿的"
    number = await register(services)
    t = tracker("补充一下：是底部漏水", "add_ticket_info", slots={**signed_in("C002"), "ticket_note": "是底部漏水"})
    dispatcher = CollectingDispatcher()
    await ActionAddTicketInfo(services).run(dispatcher, t, domain())
    assert said(dispatcher, "utter_ticket_note_added")["number"] == number
    assert services.tickets.trail(number)[-1].comment == "是底部漏水"
    nothing_open = tracker("补充一下", "add_ticket_info", slots={**signed_in("C001")})
    form = ValidateTicketNoteForm(services)
    assert await form.required_slots(["ticket_note"], CollectingDispatcher(), nothing_open, domain()) == []


async def test_confirm_reject_and_rate_a_resolution(services: Services) -> None:
    number = await register(services)
    services.tickets.change_status(number, "agent1", Status.IN_PROGRESS)
    services.tickets.change_status(number, "agent1", Status.AWAITING_CUSTOMER, "已更换进水阀")

    pending = {"pending_offer": "resolution", "pending_ticket": number, **signed_in("C002")}
    dispatcher = CollectingDispatcher()
    await ActionRejectResolution(services).run(dispatcher, tracker("还是漏", "deny", slots=pending), domain())
    assert services.tickets.get(number).status is Status.REOPENED
    assert responses(dispatcher) == ["utter_resolution_rejected"]

    services.tickets.change_status(number, "agent1", Status.IN_PROGRESS)
    services.tickets.change_status(number, "agent1", Status.AWAITING_CUSTOMER, "已上门维修")
    dispatcher = CollectingDispatcher()
    events = await ActionConfirmResolution(services).run(dispatcher, tracker("好了", "affirm", slots=pending), domain())
    assert services.tickets.get(number).status is Status.RESOLVED
    assert responses(dispatcher) == ["utter_resolution_confirmed", "utter_ask_ticket_rating"]
    assert slot_events(events) == {"pending_offer": "rating", "pending_ticket": number}

    rating = tracker('/rate_service{"rating":"1"}', "rate_service", entities={"rating": "1"},
                     slots={"pending_offer": "rating", "pending_ticket": number})
    dispatcher = CollectingDispatcher()
    await ActionRateService(services).run(dispatcher, rating, domain())
    assert responses(dispatcher) == ["utter_rating_sorry"]
    assert [r.score for r in services.tickets.ratings(number)] == [1]
    assert services.tickets.search(TicketFilter(category="改进")).total == 1
