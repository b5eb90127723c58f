"""质检: qa_rules.yml read strictly, the rules over a chat's record and messages, flags kept across re-checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handoff.qa_rules import QaRulesError, load_rules, parse_rules
from handoff.quality import (
    CUSTOMER_ANGER,
    FIRST_REPLY_LATE,
    FORBIDDEN_PHRASE,
    NO_SUMMARY,
    QualityChecks,
    evaluate,
)
from handoff.quality_store import FlagQuery, QualityStore
from handoff.records import HandoffRecords, Message, Session
from service.clock import fixed_clock
from service.db import make_engine
from service.migrate import upgrade
from tests.unit.test_handoff_bridge import FakeRasa, make_bridge, request

AT = datetime(2026, 11, 21, 10, 0)
RULES = load_rules()


def at(seconds: float) -> datetime:
    return AT + timedelta(seconds=seconds)


def session(**extra: Any) -> Session:
    values: dict[str, Any] = dict(
        id="s1", sender_id="web-c001", channel="rest", customer_id="C001", reason="request_human", skill_group="物流",
        priority=1, status="ended", agent="agent2", summary="", context={}, queued_at=AT, assigned_at=AT,
        first_agent_reply_at=None, ended_at=at(300), end_reason="agent_ended", ticket_number=None, rating=None,
        closing_summary="已告知物流进度")
    values.update(extra)
    return Session(**values)


def said(seconds: float, direction: str, text: str, intent: str | None = None) -> Message:
    return Message(at(seconds), direction, direction, text, intent, [])


# --- the rules file -------------------------------------------------------------------------------------

def test_the_shipped_rules() -> None:
    assert RULES.first_reply_seconds == 30
    assert "不知道" in RULES.forbidden_phrases and "complaint" in RULES.anger_intents and "!!!" in RULES.anger_marks
    assert RULES.summary_required and RULES.summary_except_end_reasons == {"customer_left"}


@pytest.mark.parametrize("document, key", [
    ([], "must be a mapping"),
    ({"first_reply_second": 30}, "unknown key 'first_reply_second'"),
    ({"first_reply_seconds": "30"}, "first_reply_seconds"),
    ({"first_reply_seconds": 0}, "first_reply_seconds"),
    ({"forbidden_phrases": "不知道"}, "forbidden_phrases"),
    ({"forbidden_phrases": ["不知道", ""]}, "forbidden_phrases"),
    ({"anger": {"word": ["垃圾"]}}, "anger.word"),
    ({"anger": ["垃圾"]}, "anger must be a mapping"),
    ({"ended_without_summary": {"enabled": "yes"}}, "ended_without_summary.enabled"),
    ({"ended_without_summary": {"except_end_reasons": ["timeout"]}}, "except_end_reasons"),
])
def test_a_mistake_in_the_rules_names_its_key(document: Any, key: str) -> None:
    with pytest.raises(QaRulesError, match=key):
        parse_rules(document)


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "qa_rules.yml"
    broken.write_text("first_reply_seconds: [", encoding="utf-8")
    with pytest.raises(QaRulesError, match="qa_rules.yml"):
        load_rules(broken)
    with pytest.raises(QaRulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yml")
    broken.write_text("first_reply_seconds: -1\n", encoding="utf-8")
    with pytest.raises(QaRulesError, match="qa_rules.yml: first_reply_seconds"):
        load_rules(broken)


# --- the rules over a chat ------------------------------------------------------------------------------

def test_a_good_chat_has_no_flags() -> None:
    messages = [said(5, "customer", "快递到哪了", "query_logistics"), said(20, "agent", "您好，我帮您查一下"),
                said(40, "customer", "好的谢谢", "thank")]
    assert evaluate(session(), messages, RULES) == []


def test_a_late_first_reply_and_no_reply_at_all() -> None:
    [late] = evaluate(session(), [said(45, "agent", "您好")], RULES)
    assert (late.rule, late.at, late.detail) == (FIRST_REPLY_LATE, at(45), "首次回复用时 45 秒（上限 30 秒）")
    [silent] = evaluate(session(ended_at=at(120)), [said(10, "customer", "在吗")], RULES)
    assert (silent.rule, silent.at) == (FIRST_REPLY_LATE, at(30))
    assert "未回复" in silent.detail
    assert evaluate(session(ended_at=at(20)), [], RULES) == []  # ended within the limit: nothing to wait for


def test_forbidden_phrases_in_replies_and_in_the_summary() -> None:
    messages = [said(10, "agent", "这个我不知道，不归我管，电话13800138000")]
    flags = evaluate(session(closing_summary="没办法"), messages, RULES)
    assert [f.rule for f in flags] == [FORBIDDEN_PHRASE, FORBIDDEN_PHRASE]
    assert flags[0].detail == "用了服务禁语「不知道」「不归我管」：这个我不知道，不归我管，电话138****8000"
    assert flags[1].detail.startswith("服务小结中用了服务禁语「没办法」") and flags[1].at == at(300)


def test_anger_is_the_customers_next_message_after_an_agent_reply() -> None:
    messages = [said(1, "customer", "垃圾快递!!!", "complaint"),  # before any reply: the bot's doing, not the agent's
                said(10, "agent", "您好"), said(11, "agent", "请提供订单号"),
                said(20, "customer", "什么态度", "inform"),  # counted once, for both replies
                said(30, "customer", "气死了！！！"),  # not right after a reply
                said(40, "agent", "抱歉"), said(50, "customer", "要投诉", "complaint"),
                said(60, "agent", "已登记"), said(70, "customer", "有没有搞错!！!")]
    flags = [f for f in evaluate(session(), messages, RULES) if f.rule == CUSTOMER_ANGER]
    assert [(f.at, f.detail) for f in flags] == [
        (at(20), "坐席回复后客户不满（「什么态度」）：什么态度"),
        (at(50), "坐席回复后客户不满（意图 complaint）：要投诉"),
        (at(70), "坐席回复后客户不满（「!!!」）：有没有搞错!！!")]


def test_a_chat_ended_without_a_summary() -> None:
    [flag] = evaluate(session(closing_summary=None), [said(5, "agent", "您好")], RULES)
    assert (flag.rule, flag.at, flag.detail) == (NO_SUMMARY, at(300), "会话结束（坐席结束）时没有服务小结")
    left = session(closing_summary=None, end_reason="customer_left")
    assert evaluate(left, [said(5, "agent", "您好")], RULES) == []  # not required when the customer left
    strict = parse_rules({"ended_without_summary": {"except_end_reasons": []}})
    assert [f.rule for f in evaluate(left, [said(5, "agent", "您好")], strict)] == [NO_SUMMARY]
    assert evaluate(session(assigned_at=None, agent=None, closing_summary=None), [], RULES) == []  # no agent


# --- checks stored, re-checked, reviewed ----------------------------------------------------------------

def checks_on(tmp_path: Path) -> tuple[QualityChecks, QualityStore, HandoffRecords]:
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(engine)
    clock = fixed_clock(AT)
    store, records = QualityStore(engine, clock), HandoffRecords(engine, clock)
    return QualityChecks(records, store, RULES), store, records


async def test_a_chat_is_checked_when_it_ends_and_reviews_survive_a_recheck(tmp_path: Path) -> None:
    bridge = make_bridge(tmp_path, FakeRasa())
    store = QualityStore(bridge._records._engine, fixed_clock(AT))  # the bridge's database
    checks = QualityChecks(bridge._records, store, RULES)
    bridge.ended_hooks.append(checks.on_ended)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3)
    started = await bridge.start(request("c1"))
    session_id = started.session_id or ""
    await bridge.reply("agent2", session_id, "我也不知道")
    await bridge.customer_message(session_id, "什么态度!!!", "complaint")
    await bridge.end("agent2", session_id, "已处理")
    flags = store.of_session(session_id)
    assert sorted(f.rule for f in flags) == [CUSTOMER_ANGER, FORBIDDEN_PHRASE]
    assert {f.agent for f in flags} == {"agent2"} and {f.status for f in flags} == {"open"}

    forbidden = next(f for f in flags if f.rule == FORBIDDEN_PHRASE)
    reviewed = store.review(forbidden.id, "supervisor", "已提醒")
    assert (reviewed.status, reviewed.reviewer, reviewed.note) == ("reviewed", "supervisor", "已提醒")
    assert checks.recheck(date(2026, 11, 21), date(2026, 11, 21)) == 1
    again = store.of_session(session_id)
    assert sorted((f.rule, f.status) for f in again) == [(CUSTOMER_ANGER, "open"), (FORBIDDEN_PHRASE, "reviewed")]
    assert checks.recheck(date(2026, 11, 22), date(2026, 11, 30)) == 0

    page = store.search(FlagQuery(status="open"))
    assert (page.total, [f.rule for f in page.items]) == (1, [CUSTOMER_ANGER])
    assert store.search(FlagQuery(rule=FORBIDDEN_PHRASE)).total == 1
    assert store.search(FlagQuery(since=datetime(2026, 11, 22))).total == 0
    assert [f.rule for f in store.search(FlagQuery(page=2, page_size=1)).items] == [FORBIDDEN_PHRASE]  # older id


def test_open_chats_are_not_checked(tmp_path: Path) -> None:
    checks, store, records = checks_on(tmp_path)
    opened = records.open_session(sender_id="c9", channel="rest", customer_id=None, reason="request_human",
                                  skill_group="物流", priority=1, summary="", context={})
    assert checks.check(opened.id) == 0 and store.of_session(opened.id) == []
