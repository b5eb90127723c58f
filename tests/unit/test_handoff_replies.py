"""What the bot says when no agent can take the customer: the true hours and when the group is back, or that
everyone is busy, with the ticket; a complaint hears an apology first. Pinned CST clocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.handoff import ActionRequestHuman
from handoff.replies import APOLOGY, BUSY, NO_AGENT, OFF_HOURS, OFF_HOURS_LATER, OFF_HOURS_UNSCHEDULED, unavailable_replies
from service.clock import fixed_clock
from service.settings import PROJECT_ROOT
from tests.trackers import domain, responses, said, tracker
from tests.unit.test_actions_handoff import FakeDesk

NIGHT = datetime(2026, 11, 21, 23, 30)
TICKET = {"number": "T2026112100001", "department": "售后服务部", "first_response": "11月22日 11:30"}


def text_of(response: str, values: dict[str, Any]) -> str:
    """The domain.yml text of `response` filled with `values`, as the customer reads it."""
    document = yaml.safe_load(Path(PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return str(document["responses"][response][0]["text"]).format(**values)


def off_hours(group: str, hours: str, back: str, closed: str | None) -> dict[str, Any]:
    return {"status": "unavailable", "unavailable": "off_hours", "group": group, "hours": hours,
            "next_contact": back, "closed_at": closed}


def test_after_closing_it_says_when_the_group_stopped_and_is_back() -> None:
    [reply] = unavailable_replies(off_hours("售后服务", "每天 09:00–22:00", "2026-11-22T09:00:00",
                                            "2026-11-21T22:00:00"), "request_human", TICKET, NIGHT)
    assert reply.response == OFF_HOURS
    assert text_of(reply.response, reply.values) == (
        "售后服务组今天 22:00 已经下班了，明天 09:00 回来（服务时间：每天 09:00–22:00）。"
        "已为您登记工单 T2026112100001，客服上班后会优先联系您。")


def test_on_a_day_off_it_names_the_weekly_hours_and_the_day_back() -> None:
    saturday = datetime(2026, 11, 21, 10, 0)
    [reply] = unavailable_replies(off_hours("技术", "周一至周五 09:00–18:00", "2026-11-23T09:00:00", None),
                                  "request_human", TICKET, saturday)
    assert reply.response == OFF_HOURS_LATER
    assert text_of(reply.response, reply.values) == (
        "现在不是技术组的服务时间（周一至周五 09:00–18:00），技术组后天 09:00 上班。"
        "已为您登记工单 T2026112100001，客服上班后会优先联系您。")


def test_nothing_scheduled_soon_and_a_desk_that_is_down() -> None:
    [reply] = unavailable_replies(off_hours("技术", "周一至周五 09:00–18:00", "", None), "request_human", TICKET, NIGHT)
    assert reply.response == OFF_HOURS_UNSCHEDULED
    assert [r.response for r in unavailable_replies({}, "request_human", TICKET, NIGHT)] == [NO_AGENT]


def test_in_working_hours_with_nobody_free_everyone_is_busy() -> None:
    answer = {"status": "unavailable", "unavailable": "no_agent", "group": "物流", "hours": "每天 09:00–22:00"}
    [reply] = unavailable_replies(answer, "request_human", TICKET, datetime(2026, 11, 21, 10, 0))
    assert reply.response == BUSY
    assert text_of(reply.response, reply.values) == (
        "物流组的客服现在都在忙，暂时接不了新的对话。已为您登记工单 T2026112100001，由售后服务部跟进，"
        "11月22日 11:30 前会联系您。")
    assert "休息" not in text_of(reply.response, reply.values)


def test_a_complaint_hears_an_apology_first_once() -> None:
    busy = {"unavailable": "no_agent", "group": "投诉", "hours": "每天 09:00–22:00"}
    night = off_hours("投诉", "每天 09:00–22:00", "2026-11-22T09:00:00", "2026-11-21T22:00:00")
    for answer in (busy, night):
        replies = unavailable_replies(answer, "complaint", TICKET, NIGHT)
        assert [r.response for r in replies][0] == APOLOGY and len(replies) == 2
        assert [r.response for r in unavailable_replies(answer, "complaint", TICKET, NIGHT, apologised=True)] == [
            replies[1].response]
    assert text_of(APOLOGY, {}).startswith("非常抱歉")


# --- the action renders what the decision says ----------------------------------------------------------

def complaint_turn(with_ack: bool) -> Any:
    t = tracker("你们太差劲了 我要投诉", "complaint", slots={"customer_id": "C001", "identity_proof": "signed"})
    if with_ack:
        t.events.append({"event": "action", "name": "action_handle_complaint"})
    return t


async def test_a_complaint_off_hours_gets_an_apology_then_the_hours(services: Services) -> None:
    desk = FakeDesk(off_hours("投诉", "每天 09:00–22:00", "2026-11-22T09:00:00", "2026-11-21T22:00:00"))
    at_night = replace(services, clock=fixed_clock(NIGHT))
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman(at_night, desk).run(dispatcher, complaint_turn(with_ack=False), domain())
    assert responses(dispatcher) == [APOLOGY, OFF_HOURS]
    assert said(dispatcher, OFF_HOURS)["back_at"] == "明天 09:00"
    again = CollectingDispatcher()  # after action_handle_complaint (which apologised) it is not said twice
    await ActionRequestHuman(at_night, desk).run(again, complaint_turn(with_ack=True), domain())
    assert responses(again) == [OFF_HOURS]


async def test_a_complaint_when_everyone_is_busy_gets_an_apology_and_the_ticket(services: Services) -> None:
    desk = FakeDesk({"status": "unavailable", "unavailable": "no_agent", "group": "投诉", "hours": "每天 09:00–22:00"})
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman(services, desk).run(dispatcher, complaint_turn(with_ack=False), domain())
    assert responses(dispatcher) == [APOLOGY, BUSY]
    assert said(dispatcher, BUSY)["number"].startswith("T") and said(dispatcher, BUSY)["team"] == "投诉组"
