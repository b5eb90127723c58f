"""Conversations for the review tests: a tracker store written the way Rasa writes it, and the bot's database
knowing whose they are, who handled them and how they were rated."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from sqlalchemy.engine import Engine

from handoff.records import HandoffRecords
from service.clock import CST, fixed_clock
from service.conversation_links import ConversationLinks
from tests.unit.test_tracker_store import say, store

DAY = datetime(2026, 11, 21, 10, 0)
ZHANG, LI, ANON = "web-c001", "rest-c002", "wx-anonymous"
PHONE, ID_NUMBER, NAME = "13800138000", "330106199001011234", "张伟"
FALLBACK_TEXT = f"我是{NAME}，手机{PHONE}，身份证{ID_NUMBER}，东西咋还没到"


def at(hour: int, minute: int = 0, day: int = 21) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=CST).timestamp()


def said(text: str, intent: str, confidence: float, when: float, channel: str = "socketio",
         ranking: list[tuple[str, float]] | None = None, entities: list[dict[str, Any]] | None = None) -> UserUttered:
    parse = {"intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
             "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [(intent, confidence)])]}
    return UserUttered(text, intent=parse["intent"], entities=entities or [], parse_data=parse, input_channel=channel,
                       timestamp=when)


async def write_conversations(directory: Path, key: str) -> None:
    """tracker.db in `directory`: 张伟's conversation (a fallback, a clear question, an unsure one, an agent's reply),
    李娜's (clear, on REST, the day before) and an anonymous WeChat one (unsure)."""
    tracker_store = store(directory, key)
    await say(tracker_store, ZHANG, [
        said(FALLBACK_TEXT, "nlu_fallback", 0.3, at(10), ranking=[("nlu_fallback", 0.3), ("urge_delivery", 0.28),
                                                                   ("query_logistics", 0.2)]),
        ActionExecuted("action_default_fallback", policy="RulePolicy", confidence=1.0, timestamp=at(10)),
        BotUttered("抱歉，我没太明白，您是想查物流吗？", metadata={"utter_action": "utter_default"}, timestamp=at(10)),
        said("查一下E202611010001的物流", "query_logistics", 0.95, at(10, 1),
             entities=[{"entity": "order_id", "value": "E202611010001", "start": 3, "end": 16,
                        "extractor": "RegexEntityExtractor"}]),
        SlotSet("customer_id", "C001", timestamp=at(10, 1)),
        ActionExecuted("action_check_logistics", policy="RulePolicy", confidence=1.0, timestamp=at(10, 1)),
        BotUttered("订单 E202611010001 由顺丰速运配送，快件已到达【杭州转运中心】", timestamp=at(10, 1)),
        said("我手机号13800138000，能不能快点", "urge_delivery", 0.42, at(10, 2)),
        UserUttered("/EXTERNAL_agent_message", intent={"name": "EXTERNAL_agent_message", "confidence": 1.0},
                    timestamp=at(10, 3)),
        BotUttered("您好，我是小王，马上帮您催一下", metadata={"from_agent": True, "agent_name": "小王"},
                   timestamp=at(10, 3)),
        ActionExecuted("action_listen", timestamp=at(10, 3))])
    await say(tracker_store, LI, [
        said("我的订单E202611120004到哪了", "query_order_status", 0.91, at(15, day=20), channel="rest"),
        ActionExecuted("action_check_order", policy="TEDPolicy", confidence=0.88, timestamp=at(15, day=20)),
        BotUttered("您的订单已签收", timestamp=at(15, day=20))])
    await say(tracker_store, ANON, [
        said("你们老板是谁", "out_of_scope", 0.55, at(11), channel="wechat",
             ranking=[("out_of_scope", 0.55), ("chitchat/ask_name", 0.3)])])


def record_ownership(engine: Engine) -> str:
    """张伟 proved himself in his conversation; agent1 handled its handoff, rated 2. The handoff session's id."""
    clock = fixed_clock(DAY)
    ConversationLinks(engine, clock).record("C001", ZHANG, "socketio")
    records = HandoffRecords(engine, clock)
    session = records.open_session(sender_id=ZHANG, channel="socketio", customer_id="C001", reason="low_confidence",
                                   skill_group="物流", priority=1, summary="客户催物流",
                                   context={"customer": {"id": "C001", "name": NAME, "phone": PHONE}})
    records.assign(session.id, "agent1", "pick", "agent1")
    records.close(session.id, "ended", "agent")
    records.rate(session.id, 2, "太慢了")
    return session.id
