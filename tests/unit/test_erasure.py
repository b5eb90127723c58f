"""The right to deletion: C001's conversations are gone, their tickets and handoffs masked, C002's untouched."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from connectors.tracker_store import CachedSQLTrackerStore
from desk import privacy
from handoff import schema as handoff_schema
from handoff.records import HandoffRecords
from service.clock import fixed_clock
from service.conversation_links import ConversationLinks
from service.erasure import CustomerErasure, Erased, SQLTrackerEvents
from service.review.export import render_export
from service.review.inbox import CONFIRMED, CORRECTED, FALLBACK, MARKED, Inbox, InboxQuery, NewItem
from service.review.intents import TrainingData
from service.settings import Settings, load_settings
from service.tickets import build_ticket_service
from service.tickets import schema as ticket_schema
from service.tickets.rules import Category
from service.tickets.service import TicketService
from tests.desk_harness import draft

KEY = "e" * 32 + "-erasure-tests"
DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [inform]
slots:
  phone:
    type: text
    mappings: [{type: from_entity, entity: phone}]
responses:
  utter_ok: [{text: 好的}]
""")
C001_PERSONAL = ("13800138000", "张伟", "文三路")
C002_PERSONAL = ("13900139000", "李娜", "世纪大道")
TABLES = (ticket_schema.tickets, ticket_schema.ticket_events, ticket_schema.ratings,
          handoff_schema.sessions, handoff_schema.messages)


@pytest.fixture(autouse=True)
def _restore_log_record_factory() -> Iterator[None]:
    """The tracker store installs log scrubbing for the whole process; the next test gets the factory it had."""
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


@dataclass
class World:
    settings: Settings
    tickets: TicketService
    handoffs: HandoffRecords
    links: ConversationLinks
    tracker_db: Path

    def erasure(self) -> CustomerErasure:
        return CustomerErasure(self.tickets.engine, SQLTrackerEvents(sa.create_engine(f"sqlite:///{self.tracker_db}")),
                               self.links)

    def rows(self) -> dict[str, list[dict]]:
        with self.tickets.engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key))] for t in TABLES}

    def tracker_senders(self) -> dict[str, int]:
        with sqlite3.connect(self.tracker_db) as connection:
            return dict(connection.execute("SELECT sender_id, count(*) FROM events GROUP BY sender_id").fetchall())


async def converse(tracker_store: CachedSQLTrackerStore, sender: str, text: str, phone: str) -> None:
    tracker = await tracker_store.get_or_create_tracker(sender)
    for event in (UserUttered(text, intent={"name": "inform", "confidence": 0.9}), SlotSet("phone", phone),
                  ActionExecuted("utter_ok"), BotUttered("好的"), ActionExecuted("action_listen")):
        tracker.update(event)
    await tracker_store.save(tracker)


def handoff_of(world: World, sender: str, customer: dict[str, str], said: str) -> str:
    session = world.handoffs.open_session(
        sender_id=sender, channel="rest", customer_id=customer["id"], reason="request_human", skill_group="售后",
        priority=1, summary=f"客户{customer['name']}询问订单物流，客户要求人工",
        context={"customer": {**customer, "tier": "金卡会员", "vip": True},
                 "transcript": [{"speaker": "user", "text": said, "intent": "inform",
                                 "entities": [["phone", customer["phone"]]]}],
                 "slots": {"phone": customer["phone"], "new_address": customer["address"]}})
    world.handoffs.add_message(session.id, "customer", "", said, "inform", [{"entity": "phone", "value": customer["phone"]}])
    world.handoffs.add_message(session.id, "agent", "agent1", f"{customer['name']}您好，我来处理")
    world.handoffs.rate(session.id, 5, f"{customer['name']}说谢谢")
    world.handoffs.set_closing_summary(session.id, f"已为{customer['name']}登记，回电{customer['phone']}")
    return session.id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    clock = fixed_clock(datetime(2026, 11, 21, 10, 0))
    tickets = build_ticket_service(settings, clock)
    w = World(settings, tickets, HandoffRecords(tickets.engine, clock), ConversationLinks(tickets.engine, clock),
              tmp_path / "tracker.db")
    c001 = {"id": "C001", "name": "张伟", "phone": "13800138000", "address": "浙江省杭州市西湖区文三路100号3幢201室"}
    c002 = {"id": "C002", "name": "李娜", "phone": "13900139000", "address": "上海市浦东新区世纪大道200号8楼"}

    said = "我叫张伟，电话13800138000，地址浙江省杭州市西湖区文三路100号"
    repair = tickets.create(draft(description=f"{said}，耳机左耳没声音", summary="客户张伟申请维修",
                                  transcript=f"客户：{said}\n机器人：好的")).ticket
    tickets.comment(repair.number, "agent1", "已致电张伟 13800138000 确认")
    tickets.rate(repair.number, 1, "张伟很不满意，请回电13800138000")  # also opens an improvement ticket of C001
    tickets.create(draft(Category.REFUND, "匿名咨询退款，留电话13800138000", customer_id=None, customer_name="",
                         customer_address="", sender_id="wechat-c001", order_id="E202611150002"))
    tickets.create(draft(Category.RETURN, "李娜要退连衣裙，电话13900139000", customer_id="C002", customer_name="李娜",
                         customer_phone="13900139000", customer_address=c002["address"], sender_id="web-c002",
                         order_id="E202611120004"))
    tickets.create(draft(Category.COMPLAINT, "李娜在共用的设备上投诉", customer_id="C002", customer_name="李娜",
                         customer_phone="13900139000", customer_address=c002["address"], sender_id="wechat-c001",
                         order_id="E202611120004"))  # another customer's record on C001's conversation: not C001's
    handoff_of(w, "web-c001", c001, said)
    handoff_of(w, "web-c002", c002, "我是李娜，电话13900139000")
    w.links.record("C001", "web-c001", "rest")
    w.links.record("C001", "wechat-c001", "wechat")
    w.links.record("C002", "web-c002", "rest")

    tracker_store = CachedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(w.tracker_db), encryption_key=KEY)
    await converse(tracker_store, "web-c001", said, "13800138000")
    await converse(tracker_store, "wechat-c001", "我的电话13800138000", "13800138000")
    await converse(tracker_store, "web-c002", "我是李娜，电话13900139000", "13900139000")
    tracker_store.engine.dispose()
    yield w
    tickets.engine.dispose()


def of(rows: dict[str, list[dict]], customer: str) -> dict[str, list[dict]]:
    """The rows of one customer's tickets and handoffs (by customer id, through the ticket or session)."""
    tickets = {r["id"] for r in rows["tickets"] if r["customer_id"] == customer}
    sessions = {r["id"] for r in rows["handoff_sessions"] if r["customer_id"] == customer}
    return {"tickets": [r for r in rows["tickets"] if r["id"] in tickets],
            "ticket_events": [r for r in rows["ticket_events"] if r["ticket_id"] in tickets],
            "ticket_ratings": [r for r in rows["ticket_ratings"] if r["ticket_id"] in tickets],
            "handoff_sessions": [r for r in rows["handoff_sessions"] if r["id"] in sessions],
            "handoff_messages": [r for r in rows["handoff_messages"] if r["session_id"] in sessions]}


def text_of(rows: object) -> str:
    return json.dumps(rows, ensure_ascii=False, default=str)


async def test_forgetting_c001_deletes_their_conversations_and_masks_their_records(world: World) -> None:
    before = world.rows()
    assert all(value in text_of(of(before, "C001")) for value in C001_PERSONAL)

    erased = world.erasure().forget("C001")

    assert erased == Erased(conversations=2, tracker_events=12, tickets=3, ticket_events=3, ratings=1,
                            handoff_sessions=1, handoff_messages=2, links=2)
    assert world.tracker_senders() == {"web-c002": 6}
    after = world.rows()
    mine = of(after, "C001")
    assert len(mine["tickets"]) == 2 and len(mine["handoff_sessions"]) == 1  # kept, without the person
    anonymous = [r for r in after["tickets"] if r["sender_id"] == "wechat-c001" and r["customer_id"] is None]
    for value in C001_PERSONAL:
        assert value not in text_of(mine) and value not in text_of(anonymous), value
    repair = mine["tickets"][0]
    assert (repair["customer_name"], repair["customer_phone"], repair["customer_address"]) == (
        "张*", "138****8000", "浙江省杭州市西湖区****")
    assert repair["description"] == "我叫张*，电话138****8000，地址浙江省杭州市西湖区****，耳机左耳没声音"
    context = json.loads(mine["handoff_sessions"][0]["context_json"])
    assert context["customer"]["name"] == "张*" and context["customer"]["phone"] == "138****8000"
    assert context["customer"]["tier"] == "金卡会员" and context["slots"]["new_address"] == "浙江省杭州市西湖区****"
    assert anonymous[0]["customer_phone"] == "138****8000" and anonymous[0]["order_id"] == "E202611150002"
    assert world.links.senders_of("C001") == [] and world.links.senders_of("C002") == ["web-c002"]

    assert of(after, "C002") == of(before, "C002")  # including the ticket on C001's shared conversation
    assert all(value in text_of(of(after, "C002")) for value in C002_PERSONAL)


async def test_forgetting_again_or_someone_with_nothing_changes_nothing(world: World) -> None:
    world.erasure().forget("C001")
    once = world.rows()

    again = world.erasure().forget("C001")
    assert again == Erased(conversations=1)  # web-c001, still found through the masked tickets; nothing left to do
    assert world.erasure().forget("C999") == Erased()
    assert world.rows() == once and world.tracker_senders() == {"web-c002": 6}


async def test_the_cli_reads_the_tracker_database_from_the_endpoints_file(world: World, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("action_endpoint:\n  url: http://127.0.0.1:5055/webhook\n"
                         "  headers:\n    Authorization: Bearer ${XIAOZHI_TEST_UNSET}\n"  # not this command's business
                         "tracker_store:\n  type: connectors.tracker_store.CachedSQLTrackerStore\n"
                         "  dialect: sqlite\n  db: ${XIAOZHI_TEST_TRACKER_DB}\n", encoding="utf-8")
    monkeypatch.setenv("XIAOZHI_TEST_TRACKER_DB", "tracker.db")  # relative: next to the endpoints file
    monkeypatch.delenv("XIAOZHI_TEST_UNSET", raising=False)
    assert privacy.tracker_db_url(endpoints).database == str(world.tracker_db)

    code = privacy.main(["forget", "C001", "--yes", "--endpoints", str(endpoints)], settings=world.settings)

    out = capsys.readouterr().out
    assert code == 0 and "forgot C001: 12 tracker event(s) of 2 conversation(s) deleted; masked 3 ticket(s)" in out
    assert not any(value in out for value in C001_PERSONAL)
    assert world.tracker_senders() == {"web-c002": 6}


async def test_the_cli_asks_first_and_refuses_what_it_cannot_delete(world: World, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = privacy.parser().parse_args(["forget", "C001", "--tracker-db", f"sqlite:///{world.tracker_db}"])
    with pytest.raises(ValueError, match="nothing done"):
        privacy.run(args, world.erasure(), ask=lambda question: "n")
    assert "web-c001" in world.tracker_senders()
    assert "forgot C001" in privacy.run(args, world.erasure(), ask=lambda question: "y")

    redis = tmp_path / "redis.yml"
    redis.write_text("tracker_store:\n  type: redis\n  url: localhost\n", encoding="utf-8")
    assert privacy.main(["forget", "C001", "--yes", "--endpoints", str(redis)], settings=world.settings) == 1
    assert privacy.main(["forget", "C001", "--yes", "--tracker-db", f"sqlite:///{tmp_path / 'none.db'}"],
                        settings=world.settings) == 1
    assert not (tmp_path / "none.db").exists()
    err = capsys.readouterr().err
    assert "not an SQL one: pass --tracker-db URL" in err and "no tracker database at" in err
    in_memory = tmp_path / "memory.yml"
    in_memory.write_text("lock_store:\n  type: in_memory\n", encoding="utf-8")  # no tracker_store: Rasa keeps it in memory
    assert privacy.tracker_db_url(in_memory) is None


def test_the_projects_endpoint_files_name_their_tracker_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.settings import PROJECT_ROOT

    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    embedded = privacy.tracker_db_url(PROJECT_ROOT / "endpoints.yml")
    assert embedded is not None and embedded.database == str(PROJECT_ROOT / "var" / "tracker.db")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://xiaozhi:secret@postgres:5432/xiaozhi")
    scaled = privacy.tracker_db_url(PROJECT_ROOT / "deploy" / "endpoints.scaled.yml")
    assert scaled is not None and (scaled.get_backend_name(), scaled.host, scaled.database) == (
        "postgresql", "postgres", "xiaozhi")


def inbox_item(event_id: int, sender: str, text: str) -> NewItem:
    return NewItem(event_id=event_id, sender_id=sender, text=text, guess="query_logistics", confidence=0.3,
                   source=FALLBACK if event_id % 2 else MARKED, said_at=datetime(2026, 11, 21, 9, 0))


async def test_a_forgotten_customers_messages_leave_the_training_data_inbox_and_its_exports(world: World) -> None:
    inbox = Inbox(world.tickets.engine, fixed_clock(datetime(2026, 11, 21, 10, 0)))
    said = {1: ("web-c001", "我的快递到哪了某某等很久"), 2: ("wechat-c001", "物流怎么还不动"),
            3: ("web-c002", "连衣裙的退款什么时候到"), 4: ("web-c001", "耳机左耳没声音怎么办")}
    inbox.add([inbox_item(event_id, sender, text) for event_id, (sender, text) in said.items()])
    ids = {item.event_id: item.id for item in inbox.search(InboxQuery()).items}
    for event_id in (1, 2, 3):
        inbox.review(ids[event_id], CONFIRMED, None, "designer")
    inbox.review(ids[4], CORRECTED, "repair_request", "designer")
    training = TrainingData(intents=("query_logistics", "refund_status", "repair_request"), examples={})
    at = datetime(2026, 11, 21, 10, 0)
    sent = render_export(inbox.to_export(), training, "20261121-100000", at)
    inbox.mark_exported(sent.item_ids, sent.batch)
    assert all(text in sent.text for _, text in said.values())  # C001's words went out in the batch

    erased = world.erasure().forget("C001")

    assert erased.review_items == 3
    left = inbox.search(InboxQuery())
    assert [(i.sender_id, i.text) for i in left.items] == [("web-c002", "连衣裙的退款什么时候到")]  # C002's stays
    assert left.counts[CONFIRMED] == 1 and left.counts[CORRECTED] == 0
    again = render_export(inbox.batch(sent.batch), training, sent.batch, at)  # the batch downloaded again
    assert "连衣裙的退款什么时候到" in again.text
    for sender, text in said.values():
        if sender != "web-c002":
            assert text not in again.text, text
    assert "repair_request" not in again.text  # the intent only C001's message gave is gone from the file too
    assert world.erasure().forget("C001").review_items == 0  # nothing more to delete

