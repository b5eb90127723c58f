"""The desk reads past conversations as Rasa stored them: in order, decrypted, who said what and how it was read."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from service.clock import CST
from service.conversation_log import AGENT, BOT, CUSTOMER, ConversationLog
from service.event_cipher import EventCipher
from tests.unit.test_tracker_store import KEY, say, store


@pytest.fixture(autouse=True)
def _restore_log_record_factory() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


async def _conversations(path: Path) -> None:
    tracker_store = store(path)
    await say(tracker_store, "web-1", [
        UserUttered("我的快递到哪了", intent={"name": "query_logistics", "confidence": 0.91},
                    entities=[{"entity": "order_id", "value": "E202611150002"}], input_channel="socketio"),
        SlotSet("order_id", "E202611150002"), ActionExecuted("action_check_logistics", policy="RulePolicy"),
        BotUttered("您的包裹在杭州转运中心"), ActionExecuted("action_listen")])
    await say(tracker_store, "web-1", [
        UserUttered("/EXTERNAL_agent_message", intent={"name": "EXTERNAL_agent_message", "confidence": 1.0}),
        BotUttered("您好，我是小王", metadata={"from_agent": True}), ActionExecuted("action_listen")])
    await say(tracker_store, "web-2", [UserUttered("嗯嗯啊", intent={"name": "nlu_fallback", "confidence": 0.3})])


async def test_a_conversation_reads_back_in_order_with_speakers_and_readings(tmp_path: Path) -> None:
    await _conversations(tmp_path)
    log = ConversationLog(sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}"), EventCipher([KEY]))
    events = [e for e in log.transcript("web-1") if e.kind in ("user", "bot")]
    assert [(e.author, e.text) for e in events] == [
        (CUSTOMER, "我的快递到哪了"), (BOT, "您的包裹在杭州转运中心"), (None, "/EXTERNAL_agent_message"),
        (AGENT, "您好，我是小王")]
    first = events[0]
    assert (first.intent, first.confidence, first.channel) == ("query_logistics", 0.91, "socketio")
    assert first.entities[0]["value"] == "E202611150002" and first.is_customer_message
    assert not events[2].is_customer_message  # the desk's trigger is not the customer's words
    actions = [e.action for e in log.transcript("web-1") if e.kind == "action"]
    assert "action_check_logistics" in actions
    slot = next(e for e in log.transcript("web-1") if e.kind == "slot" and e.action == "order_id")
    assert slot.value == "E202611150002"


async def test_reads_are_bounded_by_time_and_conversation(tmp_path: Path) -> None:
    await _conversations(tmp_path)
    log = ConversationLog(sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}"), EventCipher([KEY]))
    now = datetime.now(CST)
    assert set(log.senders(since=now - timedelta(hours=1))) == {"web-1", "web-2"}
    assert log.senders(since=now + timedelta(hours=1)) == []
    assert {e.sender_id for e in log.events(sender_ids=["web-2"])} == {"web-2"}
    assert log.events(sender_ids=[]) == []
    assert len(log.events(limit=2)) == 2


def test_no_conversation_yet_reads_empty(tmp_path: Path) -> None:
    log = ConversationLog(sa.create_engine(f"sqlite:///{tmp_path / 'none.db'}"))
    assert log.events() == [] and log.senders() == [] and log.transcript("x") == []
