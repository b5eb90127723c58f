"""The report figures (service/reports) on hand-made known data, with the exact figures expected."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from service.clock import CST, Clock, fixed_clock
from service.conversation_log import AGENT, CUSTOMER, LoggedEvent
from service.errors import InvalidInput
from service.reports.conversations import rating_score, read_conversations
from service.reports.csat import read_csat
from service.reports.csv_export import BOM, csv_filename, to_csv
from service.reports.handoffs import Durations, read_handoffs
from service.reports.periods import make_period, period_for
from service.reports.records import HandoffFact, PeriodRecords, TicketFact, TicketRatingFact
from service.reports.summary import BUILDERS, compute, summary_view
from service.reports.tables import TABLES, Column, Table
from service.reports.tickets import read_tickets

NOW = datetime(2026, 11, 21, 10, 0)
WEEK = make_period("7d", NOW.date())
_ids = iter(range(1, 10_000))


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second)


def said(sender: str, when: datetime, text: str, intent: str, **extra: Any) -> LoggedEvent:
    return LoggedEvent(next(_ids), sender, "user", when.replace(tzinfo=CST), author=CUSTOMER, text=text,
                       intent=intent, confidence=0.9, **extra)


def action(sender: str, when: datetime, name: str) -> LoggedEvent:
    return LoggedEvent(next(_ids), sender, "action", when.replace(tzinfo=CST), action=name)


def slot(sender: str, when: datetime, name: str, value: Any) -> LoggedEvent:
    return LoggedEvent(next(_ids), sender, "slot", when.replace(tzinfo=CST), action=name, value=value)


def events() -> list[LoggedEvent]:
    return [
        said("c4", at(19, 11), "耳机坏了", "repair_request"), action("c4", at(19, 11), "ticket_form"),
        slot("c4", at(19, 12), "pending_offer", "rating"), slot("c4", at(19, 12), "pending_ticket", "T1"),
        said("c4", at(19, 13), "4分", "rate_service"),  # a ticket's rating: stored in SQL, not the bot's
        said("c3", at(20, 15), '/rate_service{"rating":"5"}', "rate_service",
             entities=({"entity": "rating", "value": "5"},)),  # nothing pending: the bot is rated
        said("c3", at(20, 15, 1), "随便说说", "greet"), action("c3", at(20, 15, 1), "action_default_fallback"),
        said("c1", at(21, 9), "我的快递到哪了", "query_logistics"), action("c1", at(21, 9), "action_check_logistics"),
        said("c2", at(21, 9, 5), "嗯嗯啊 13800138000", "nlu_fallback"),
        action("c2", at(21, 9, 5), "action_default_fallback"),  # the same fallback, counted once
        LoggedEvent(next(_ids), "c2", "user", at(21, 9, 8).replace(tzinfo=CST), text="/EXTERNAL_agent_message",
                    intent="EXTERNAL_agent_message"),  # the desk's trigger: not a customer message
        said("c2", at(21, 9, 5, 30), "转人工", "request_human"),
        said("c1", at(21, 9, 30), "退货政策是什么", "faq",
             data={"parse_data": {"response_selector": {"faq": {"response": {"intent_response_key": "faq/退货政策"}}}}}),
        LoggedEvent(next(_ids), "c1", "bot", at(21, 9, 31).replace(tzinfo=CST), author=AGENT, text="您好"),
        said("c0", at(10, 9), "你好", "greet"),  # before the week
    ]


HANDOFFS = [
    HandoffFact("h2", "c2", "request_human", "物流", "ended", at(21, 9, 6), "agent2", at(21, 9, 7), at(21, 9, 7, 30),
                at(21, 9, 17), rating=4),
    HandoffFact("h5", "c9", "fallback", "售后服务", "ended", at(20, 10), "agent1", at(20, 10, 2), at(20, 10, 3, 30),
                at(20, 10, 22), rating=2),
    HandoffFact("h6", "c8", "complaint", "投诉", "abandoned", at(20, 11), ended_at=at(20, 11, 5)),
    HandoffFact("h7", "c7", "request_human", "物流", "ended", at(10, 9), "agent2", at(10, 9, 1), at(10, 9, 2),
                at(10, 9, 10), rating=5),  # before the week
    HandoffFact("h8", "c1x", "request_human", "物流", "assigned", at(21, 9, 50), "agent2", at(21, 9, 51)),
]

TICKETS = [
    TicketFact("T1", "问题", "售后技术", "已解决", at(19, 10), at(20, 10), "c4", resolved_at=at(20, 9)),
    TicketFact("T2", "问题", "物流部", "处理中", at(20, 8), at(21, 8), "c6"),
    TicketFact("T3", "问题", "物流部", "新建", at(21, 9), at(22, 9), "c5"),
    TicketFact("T4", "问题", "物流部", "已关闭", at(13, 9), at(16, 12), "", closed_at=at(17, 9)),
    TicketFact("T5", "改进", "售后技术", "新建", at(20, 12), at(23, 12), "c1"),  # 改进 does not undo c1's bot-only
    TicketFact("T6", "问题", "物流部", "新建", at(21, 9, 30), at(21, 18), "c5"),  # due later today: not yet due
]

RATINGS = [TicketRatingFact(4, at(20, 12), "售后技术"), TicketRatingFact(1, at(5, 12), "物流部")]


def test_periods_are_cst_business_days_ending_today() -> None:
    today = make_period("today", date(2026, 11, 21))
    assert (today.start, today.end, today.label) == (at(21, 0), at(22, 0), "今日")
    assert (WEEK.first_day, WEEK.last_day, len(WEEK.days)) == (date(2026, 11, 15), date(2026, 11, 21), 7)
    month = make_period("30d", date(2026, 11, 21))
    assert (month.first_day, month.days[-1], len(month.days)) == (date(2026, 10, 23), date(2026, 11, 21), 30)
    assert WEEK.contains(at(15, 0)) and not WEEK.contains(at(22, 0)) and not WEEK.contains(None)
    with pytest.raises(InvalidInput):
        make_period("1y", date(2026, 11, 21))


def test_a_pinned_date_moves_the_tracker_window_to_the_real_days() -> None:
    real = datetime(2026, 12, 2, 8, 30, tzinfo=CST)
    pinned = Clock(date(2026, 11, 21), source=lambda: real)
    period = period_for("today", pinned, Clock(source=lambda: real))
    assert (period.first_day, period.shift) == (date(2026, 11, 21), timedelta(days=-11))
    assert period.tracker_window == (datetime(2026, 12, 2, tzinfo=CST), datetime(2026, 12, 3, tzinfo=CST))
    assert period.business_time(real) == datetime(2026, 11, 21, 8, 30)
    assert period_for("7d", fixed_clock(NOW)).shift == timedelta(0)


def test_conversation_figures() -> None:
    figures = read_conversations(events(), WEEK)
    assert figures.senders == {"c1", "c2", "c3", "c4"}
    assert {d.isoformat(): s for d, s in figures.by_day.items()} == {
        "2026-11-19": {"c4"}, "2026-11-20": {"c3"}, "2026-11-21": {"c1", "c2"}}
    assert (figures.customer_messages, figures.fallbacks) == (8, 2)
    assert figures.intents["faq/退货政策"] == 1 and figures.intents["rate_service"] == 2
    assert figures.bot_ratings == [5]
    assert sorted((m.text, m.count) for m in figures.misunderstood.values()) == [
        ("嗯嗯啊 138****8000", 1), ("随便说说", 1)]


def test_rating_scores_from_the_entity_or_the_text() -> None:
    assert rating_score(said("x", NOW, "/rate_service", "rate_service", entities=({"entity": "rating", "value": "3"},))) == 3
    assert rating_score(said("x", NOW, "给五星", "rate_service")) == 5
    assert rating_score(said("x", NOW, "打2分吧", "rate_service")) == 2
    assert rating_score(said("x", NOW, "还行", "rate_service")) is None


def test_handoff_figures() -> None:
    figures = read_handoffs(HANDOFFS, WEEK)
    assert [h.id for h in figures.queued] == ["h2", "h5", "h6", "h8"]
    assert dict(figures.reasons) == {"request_human": 2, "fallback": 1, "complaint": 1}
    assert figures.wait == Durations(3, 80.0, 60.0)  # 60, 120, 60
    assert figures.first_response == Durations(2, 60.0, 60.0)  # 30, 90
    assert figures.handling == Durations(2, 900.0, 900.0)  # 600, 1200
    assert (figures.abandoned, figures.timed_out) == (1, 0)
    assert dict(figures.by_day) == {"2026-11-21": 2, "2026-11-20": 2}


def test_ticket_figures_and_sla() -> None:
    figures = read_tickets(TICKETS, WEEK, NOW)
    assert (figures.opened, figures.resolved, figures.closed) == (5, 1, 1)
    assert (figures.sla.due, figures.sla.hit, figures.sla.rate) == (3, 1, 0.3333)  # T1 hit; T2, T4 missed
    rows = {d.department: d for d in figures.departments}
    assert (rows["售后技术"].opened, rows["售后技术"].sla.rate) == (2, 1.0)
    assert (rows["物流部"].opened, rows["物流部"].closed, rows["物流部"].sla.due, rows["物流部"].sla.rate) == (3, 1, 2, 0.0)
    assert figures.senders == {"c4", "c6", "c5"}


def test_csat_by_what_was_rated() -> None:
    bot, agent, ticket = read_csat([5], HANDOFFS, RATINGS, WEEK)
    assert (bot.count, bot.average, bot.distribution[5]) == (1, 5.0, 1)
    assert (agent.count, agent.average, agent.satisfied_rate) == (2, 3.0, 0.5)
    assert agent.distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    assert (ticket.count, ticket.average) == (1, 4.0)


def test_the_whole_summary() -> None:
    figures = compute(events(), PeriodRecords(HANDOFFS, TICKETS, RATINGS), WEEK, NOW)
    view = summary_view(figures)
    k = view["kpis"]
    assert (k["conversations"], k["bot_only"], k["bot_only_rate"]) == (4, 2, 0.5)  # c1, c3
    assert (k["handoff_conversations"], k["handoff_rate"], k["handoffs"]) == (1, 0.25, 4)  # c2
    assert (k["customer_messages"], k["fallbacks"], k["fallback_rate"]) == (8, 2, 0.25)
    assert k["first_response"] == {"count": 2, "average_s": 60.0, "median_s": 60.0}
    assert k["handling"] == {"count": 2, "average_s": 900.0, "median_s": 900.0}
    assert k["csat"]["agent"]["average"] == 3.0 and k["csat"]["bot"]["distribution"]["5"] == 1
    assert k["tickets"] == {"opened": 5, "resolved": 1, "closed": 1, "sla": {"due": 3, "hit": 1, "rate": 0.3333}}
    assert list(view["tables"]) == list(TABLES) == list(BUILDERS)
    daily = view["tables"]["daily"]["rows"]
    assert [r["day"] for r in daily][0] == "2026-11-15" and daily[-1] == {"day": "2026-11-21", "conversations": 2,
                                                                         "handoffs": 2}
    reasons = view["tables"]["handoff_reasons"]["rows"]
    assert reasons[0] == {"reason": "request_human", "label": "客户要求人工", "count": 2, "share": 0.5}
    intents = {r["intent"]: r for r in view["tables"]["top_intents"]["rows"]}
    assert intents["faq/退货政策"]["label"] == "常见问题：退货政策" and intents["rate_service"]["count"] == 2
    assert view["tables"]["misunderstood"]["rows"][0]["count"] == 1
    kpi = {r["metric"]: r for r in view["tables"]["kpis"]["rows"]}
    assert kpi["转人工率"] == {"metric": "转人工率", "value": 25.0, "unit": "%"}
    assert view["period"]["days"][0] == "2026-11-15" and view["generated_at"] == "2026-11-21T10:00:00+08:00"


def test_nothing_yet_is_zero_with_no_rate() -> None:
    view = summary_view(compute([], PeriodRecords([], [], []), WEEK, NOW))
    assert view["kpis"]["conversations"] == 0 and view["kpis"]["handoff_rate"] is None
    assert view["kpis"]["first_response"]["average_s"] is None
    assert view["tables"]["handoff_reasons"]["rows"] == [] and view["tables"]["handoff_reasons"]["empty"]


def test_csv_is_utf8_with_bom_for_excel() -> None:
    table = Table("demo", "演示", (Column("text", "客户原话"), Column("share", "占比", "rate"), Column("n", "次数", "count")),
                  [{"text": "=HYPERLINK(\"x\")", "share": 0.25, "n": 3}, {"text": "你好，在吗", "share": None, "n": 0}])
    raw = to_csv(table)
    assert raw.startswith(BOM.encode("utf-8"))
    lines = raw.decode("utf-8").removeprefix(BOM).split("\r\n")
    assert lines[0] == "客户原话,占比,次数"
    assert lines[1] == "\"'=HYPERLINK(\"\"x\"\")\",25.0%,3"  # a formula never runs in the spreadsheet
    assert lines[2] == "\"你好，在吗\",,0" or lines[2] == "你好，在吗,,0"
    assert csv_filename(table, "7d", date(2026, 11, 21)) == "report-demo-7d-2026-11-21.csv"
