"""The broker's events as rows of the reporting table (service/event_feed.py, service/reports/event_store.py): the
report read from the table is the report read from the tracker store, for the same conversations."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import handoff.quality_schema  # noqa: F401  (the whole metadata, as migrations/env.py sees it)
import handoff.schema  # noqa: F401
import service.channel_schema  # noqa: F401
import service.identity_schema  # noqa: F401
import service.review.schema  # noqa: F401
from service.clock import CST, fixed_clock
from service.conversation_log import ConversationLog
from service.db import make_engine
from service.event_feed import MalformedEvent, event_key, feed_row, parse_message
from service.migrate import alembic_config, upgrade
from service.privacy import conversation_ref, scrub_event
from service.reports.conversations import shown_text
from service.reports.event_store import ConversationEventStore
from service.reports.records import HandoffFact, PeriodRecords, TicketFact, TicketRatingFact
from service.reports.schema import conversation_events
from service.reports.summary import ReportService, summary_view
from service.tickets.schema import metadata
from tests.unit.test_migration_staff_security import _mentions

NOW = datetime(2026, 11, 21, 10, 0)
PHONE = "13800138000"
A, B, C, D, E = "web-5f1c2a", "web-8d02be", "app-77e1f0", "wechat-o9x1", "web-0a0a0a"  # sender ids (conversation keys)
_clock = iter(range(1_000_000))


def ts(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """A tracker timestamp; a micro-offset keeps every event's timestamp distinct, as Rasa's are."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=CST).timestamp() + next(_clock) / 1e6


def user(when: float, text: str, intent: str, entities: list[dict[str, Any]] | None = None,
         topic: str | None = None) -> dict[str, Any]:
    parse: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.91}, "entities": entities or [],
                             "intent_ranking": [{"name": intent, "confidence": 0.91}]}
    if topic:
        parse["response_selector"] = {intent: {"response": {"intent_response_key": topic, "confidence": 0.8}}}
    return {"event": "user", "timestamp": when, "text": text, "parse_data": parse, "input_channel": "socketio",
            "message_id": "5f13912345678a1b2c3d4e5f60718293", "metadata": {}}


def action(when: float, name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": when, "name": name, "policy": "RulePolicy", "confidence": 1.0}


def slot(when: float, name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": when, "name": name, "value": value}


def bot(when: float, text: str, from_agent: bool = False) -> dict[str, Any]:
    return {"event": "bot", "timestamp": when, "text": text, "data": {}, "metadata": {"from_agent": from_agent}}


def conversations() -> list[tuple[str, dict[str, Any]]]:
    """Known conversations as Rasa stores them, in the order it stores them (sender id, event)."""
    return [
        (E, user(ts(10, 9), "你好", "greet")),  # before the week
        (D, {"event": "session_started", "timestamp": ts(19, 10)}), (D, action(ts(19, 10), "action_listen")),
        (D, user(ts(19, 11), "耳机坏了", "repair_request")), (D, action(ts(19, 11), "ticket_form")),
        (D, slot(ts(19, 12), "pending_offer", "rating")), (D, slot(ts(19, 12), "pending_ticket", "T1")),
        (D, user(ts(19, 13), "4分", "rate_service")),  # the ticket's rating: stored in SQL, not the bot's
        (D, slot(ts(19, 13), "pending_ticket", None)), (D, slot(ts(19, 13), "pending_offer", None)),
        (C, user(ts(20, 15), '/rate_service{"rating":"5"}', "rate_service", [{"entity": "rating", "value": "5"}])),
        (C, user(ts(20, 15, 1), "随便说说", "greet")), (C, action(ts(20, 15, 1), "action_default_fallback")),
        (C, bot(ts(20, 15, 1), "抱歉，我没听懂")),
        (C, user(ts(20, 15, 2), "五星好评", "rate_service")),  # a score in words, nothing pending: the bot's
        (A, user(ts(21, 9), "我的快递到哪了，电话13800138000", "query_logistics", [{"entity": "phone", "value": PHONE}])),
        (A, action(ts(21, 9), "action_check_logistics")), (A, bot(ts(21, 9), "您的快递已到杭州")),
        (B, user(ts(21, 9, 5), "嗯嗯啊 13800138000 杭州市西湖区文三路100号", "nlu_fallback")),
        (B, action(ts(21, 9, 5), "action_default_fallback")),  # the same fallback, counted once
        (B, user(ts(21, 9, 5, 20), "/nlu_fallback", "nlu_fallback")),  # a button: a fallback, but not misread text
        (B, user(ts(21, 9, 5, 30), "转人工", "request_human")),
        (B, user(ts(21, 9, 8), "/EXTERNAL_agent_message", "EXTERNAL_agent_message")),  # the desk's trigger
        (B, action(ts(21, 9, 8), "action_default_fallback")),  # after a trigger: no customer message waits
        (B, bot(ts(21, 9, 8), "您好，我是客服小李", from_agent=True)),
        (A, user(ts(21, 9, 30), "退货政策是什么", "faq", topic="faq/退货政策")),
        (A, user(ts(21, 9, 31), "那换货呢", "faq", topic="faq/换货政策")),
        (A, user(ts(21, 9, 32), "嗯嗯啊", "nlu_fallback")),  # misread too
    ]


RECORDS = PeriodRecords(
    handoffs=[HandoffFact("h2", B, "request_human", "物流", "ended", datetime(2026, 11, 21, 9, 6), "agent2",
                          datetime(2026, 11, 21, 9, 7), datetime(2026, 11, 21, 9, 7, 30), datetime(2026, 11, 21, 9, 17),
                          rating=4),
              HandoffFact("h5", "web-elsewhere", "fallback", "售后服务", "ended", datetime(2026, 11, 20, 10), "agent1",
                          datetime(2026, 11, 20, 10, 2), None, datetime(2026, 11, 20, 10, 22), rating=2)],
    tickets=[TicketFact("T1", "问题", "售后技术", "已解决", datetime(2026, 11, 19, 10), datetime(2026, 11, 20, 10), D,
                        resolved_at=datetime(2026, 11, 20, 9)),
             TicketFact("T5", "改进", "售后技术", "新建", datetime(2026, 11, 20, 12), datetime(2026, 11, 23, 12), A),
             TicketFact("T7", "问题", "物流部", "新建", datetime(2026, 11, 21, 8), datetime(2026, 11, 22, 8), "")],
    ticket_ratings=[TicketRatingFact(4, datetime(2026, 11, 20, 12), "售后技术")])


class FixedRecords:
    def read(self, start: datetime, end: datetime) -> PeriodRecords:
        return RECORDS


def tracker_store(tmp_path: Path, events: list[tuple[str, dict[str, Any]]]) -> ConversationLog:
    """Rasa's SQL tracker store holding these events (plain JSON: no tracker key)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    table = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("sender_id", sa.String(255)), sa.Column("type_name", sa.String(255)),
                     sa.Column("timestamp", sa.Float), sa.Column("intent_name", sa.String(255)),
                     sa.Column("action_name", sa.String(255)), sa.Column("data", sa.Text))
    table.create(engine)
    with engine.begin() as conn:
        for sender, event in events:
            conn.execute(table.insert().values(
                sender_id=sender, type_name=event["event"], timestamp=event["timestamp"],
                intent_name=(event.get("parse_data") or {}).get("intent", {}).get("name"),
                action_name=event.get("name") if event["event"] == "action" else None, data=json.dumps(event)))
    return ConversationLog(engine)


def published(sender: str, event: dict[str, Any]) -> bytes:
    """The message Rasa's broker sends for this event (connectors/event_broker.py: masked)."""
    return json.dumps(scrub_event({"sender_id": sender, **event})).encode()


def fed_store(tmp_path: Path, messages: list[bytes]) -> ConversationEventStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'xiaozhi.db'}")
    upgrade(engine)
    store = ConversationEventStore(engine)
    rows = [row for row in (feed_row(parse_message(m)) for m in messages) if row is not None]
    store.add(rows)
    return store


def report(log: ConversationLog, fed: ConversationEventStore | None, period: str) -> dict[str, Any]:
    clock = fixed_clock(NOW)
    return summary_view(ReportService(log, FixedRecords(), clock, clock, fed=fed).figures(period))  # type: ignore[arg-type]


@pytest.mark.parametrize("period", ["today", "7d", "30d"])
def test_the_report_from_the_fed_table_is_the_report_from_the_tracker_store(tmp_path: Path, period: str) -> None:
    events = conversations()
    log = tracker_store(tmp_path, events)
    messages = [published(sender, event) for sender, event in events]
    redelivered = messages[:5] + messages + messages[-3:]  # RabbitMQ gives some again after a consumer's crash
    store = fed_store(tmp_path, redelivered)

    from_tracker, from_table = report(log, None, period), report(log, store, period)

    assert from_table == from_tracker
    if period == "7d":
        kpis = from_table["kpis"]
        assert (kpis["conversations"], kpis["customer_messages"], kpis["fallbacks"]) == (4, 12, 4)
        assert (kpis["handoff_conversations"], kpis["bot_only"]) == (1, 2)  # B handed off, D opened a ticket
        assert kpis["csat"]["bot"]["count"] == 2 and kpis["csat"]["bot"]["average"] == 5.0
        assert [(r["intent"], r["count"]) for r in from_table["tables"]["top_intents"]["rows"][:2]] == [
            ("nlu_fallback", 3), ("rate_service", 3)]
        assert [(r["text"], r["count"]) for r in from_table["tables"]["misunderstood"]["rows"]] == [
            ("嗯嗯啊", 1), ("嗯嗯啊 138****8000 杭州市西湖区****", 1), ("随便说说", 1)]
    store.close()


def test_the_table_holds_pseudonyms_and_masked_text_of_misread_messages_only(tmp_path: Path) -> None:
    store = fed_store(tmp_path, [published(s, e) for s, e in conversations()])
    with store._engine.connect() as conn:
        rows = conn.execute(sa.select(conversation_events).order_by(conversation_events.c.id)).all()
    dump = json.dumps([list(r) for r in rows], ensure_ascii=False)
    for secret in (PHONE, A, B, C, D, "文三路"):
        assert secret not in dump
    assert {r.conversation for r in rows} == {conversation_ref(s) for s in (A, B, C, D, E)}
    kept = {r.text for r in rows if r.text is not None}
    # what the bot misread, and each conversation's latest message (until the next one shows it understood)
    assert kept == {"嗯嗯啊 138****8000 杭州市西湖区****", "随便说说", "嗯嗯啊", "五星好评", "4分", "你好"}
    assert all(r.kind in ("user", "action", "slot") for r in rows) and len(rows) == 21
    store.close()


def test_a_row_per_event_the_reports_read() -> None:
    fallback = feed_row(parse_message(published(B, user(ts(21, 9), "嗯嗯啊", "nlu_fallback"))))
    assert fallback is not None and (fallback.conversation, fallback.author, fallback.fallback, fallback.text) == (
        conversation_ref(B), "customer", True, "嗯嗯啊")
    faq = feed_row(parse_message(published(A, user(ts(21, 9), "退货政策", "faq", topic="faq/退货政策"))))
    assert faq is not None and (faq.intent, faq.topic) == ("faq", "faq/退货政策")
    rating = feed_row(parse_message(published(A, user(ts(21, 9), "/rate_service", "rate_service",
                                                           [{"entity": "rating", "value": "3"}]))))
    assert rating is not None and (rating.score, rating.text) == (3, None)  # a payload is never shown
    trigger = feed_row(parse_message(published(B, user(ts(21, 9), "/EXTERNAL_x", "EXTERNAL_agent_message"))))
    assert trigger is not None and (trigger.kind, trigger.author, trigger.intent) == ("user", None, None)
    ticket = feed_row(parse_message(published(B, slot(1.0, "pending_ticket", {"number": "T1"}))))
    assert ticket is not None and (ticket.action, ticket.value) == ("pending_ticket", "1")
    for ignored in (bot(1.0, "您好"), action(1.0, "action_listen"), slot(1.0, "contact_phone", PHONE),
                    {"event": "session_started", "timestamp": 1.0}):
        assert feed_row(parse_message(published(A, ignored))) is None


def test_a_message_is_known_again_however_its_json_is_laid_out() -> None:
    event = {"sender_id": A, **user(1.5, "你好", "greet")}
    relaid = json.loads(json.dumps(event, indent=2, ensure_ascii=False))
    assert event_key(event) == event_key(relaid) and len(event_key(event)) == 32
    assert event_key(event) != event_key({**event, "timestamp": 1.6})


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"event": "user"}', b'{"sender_id": "", "event": "user"}',
                                  b'{"sender_id": "x"}', b'{"sender_id": "x", "event": "user", "timestamp": "soon"}',
                                  b'{"sender_id": "x", "event": "user", "parse_data": "oops"}'])
def test_what_is_not_a_conversation_event_is_refused_clearly(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        feed_row(parse_message(body))


def test_shown_text_gives_itself_back() -> None:
    for text in ("嗯嗯啊 13800138000 杭州市西湖区文三路100号", "  多个   空格\n换行 ", "邮箱 zhangwei@example.com",
                 "身份证330106199001011234", "长" * 300, "+86 138 0013 8000"):
        shown = shown_text(text)
        assert shown is not None and shown_text(shown) == shown
    assert shown_text("  /greet") is None and shown_text("   ") is None and shown_text(None) is None


def test_0011_matches_the_schema_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert "conversation_events" in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    names = {"conversation_events", "uq_conversation_events_key", "ix_conversation_events_at",
             "ix_conversation_events_conversation"}
    assert [d for d in diffs if _mentions(d) & names] == []
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0010")
        conn.commit()
    assert "conversation_events" not in sa.inspect(engine).get_table_names()
    upgrade(engine)
    assert "conversation_events" in sa.inspect(engine).get_table_names()
    engine.dispose()
