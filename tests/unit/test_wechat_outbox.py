"""connectors/wechat_outbox.py: WeChat's window and limits, and what happens to a message that cannot go."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connectors.wechat_api import HttpWeChatApi, WeChatApiError
from connectors.wechat_outbox import (
    LIMIT_REACHED,
    UNAVAILABLE,
    WINDOW_IS_CLOSED,
    TicketNote,
    Undeliverable,
    WeChatOutbox,
    masked_openid,
)
from handoff.records import HandoffRecords
from service.channel_schema import customer_homes
from service.db import make_engine
from service.migrate import upgrade
from service.settings import Settings
from service.tickets.policy import load_policy
from service.tickets.rules import Category
from service.tickets.service import TicketService
from tests.desk_harness import MovableClock
from tests.fake_wechat import FakeWeChat

APP_ID = "wx-outbox-test"
SECRET = "outbox-test-secret"
OPENID = "oOutboxTestOpenid0123456789"
CONVERSATION = "conv-wechat-1"
NOW = datetime(2026, 11, 21, 10, 0)
HINT = "请回复序号选择："


@dataclass
class Kept:
    """An undeliverable hook that keeps what it is given."""

    items: list[Undeliverable] = field(default_factory=list)

    async def __call__(self, item: Undeliverable) -> None:
        self.items.append(item)


@dataclass
class ScriptedApi:
    """A WeChatApi that fails the calls listed in `failures` (call number -> error)."""

    failures: dict[int, Exception] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)
    calls: int = 0

    async def send_text(self, openid: str, text: str) -> None:
        self.calls += 1
        if self.calls in self.failures:
            raise self.failures[self.calls]
        self.sent.append((openid, text))

    async def create_menu(self, menu: dict[str, Any]) -> None:
        raise NotImplementedError


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    server = FakeWeChat(app_id=APP_ID, secret=SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def api(fake: FakeWeChat, engine: Engine) -> AsyncIterator[HttpWeChatApi]:
    wechat = HttpWeChatApi(fake.base_url, APP_ID, SECRET, engine=engine, retry_pause_s=0.01)
    yield wechat
    await wechat.close()


def outbox_for(api: Any, engine: Engine, clock: MovableClock, kept: Kept, **kwargs: Any) -> WeChatOutbox:
    return WeChatOutbox(api, engine, clock, undeliverable=kept, texts={"utter_choose_by_number": HINT}.get, **kwargs)


def text(body: str) -> dict[str, Any]:
    return {"text": body}


# --- within the window ------------------------------------------------------------------------------


async def test_an_answer_reaches_a_user_who_wrote(api: HttpWeChatApi, fake: FakeWeChat, engine: Engine,
                                                   clock: MovableClock) -> None:
    kept = Kept()
    outbox = outbox_for(api, engine, clock, kept)
    await outbox.inbound(OPENID)
    await outbox.deliver(OPENID, CONVERSATION, [
        {"text": "请问您要查哪个订单？", "buttons": [{"title": "E202611010001", "payload": "/affirm"},
                                                 {"title": "E202611150002", "payload": "/deny"}]}])
    assert fake.texts_to(OPENID) == ["请问您要查哪个订单？\n请回复序号选择：\n1. E202611010001\n2. E202611150002"]
    assert kept.items == []


async def test_a_long_answer_goes_in_parts_in_order(api: HttpWeChatApi, fake: FakeWeChat, engine: Engine,
                                                    clock: MovableClock) -> None:
    outbox = outbox_for(api, engine, clock, Kept())
    await outbox.inbound(OPENID)
    lines = [f"{i}. 快件已到达【杭州转运中心】，正在发往下一站。" for i in range(150)]
    await outbox.deliver(OPENID, CONVERSATION, [text("\n".join(lines))])
    parts = fake.texts_to(OPENID)
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == "\n".join(lines)


# --- outside the window -----------------------------------------------------------------------------


async def test_a_user_who_never_wrote_gets_nothing_and_the_message_is_kept(
        api: HttpWeChatApi, fake: FakeWeChat, engine: Engine, clock: MovableClock) -> None:
    kept = Kept()
    await outbox_for(api, engine, clock, kept).deliver(OPENID, CONVERSATION, [text("客服回复：已为您登记。")])
    assert fake.sent == []
    assert kept.items == [Undeliverable(OPENID, CONVERSATION, ("客服回复：已为您登记。",), WINDOW_IS_CLOSED)]


async def test_the_window_closes_48_hours_after_the_users_last_message(
        api: HttpWeChatApi, fake: FakeWeChat, engine: Engine, clock: MovableClock) -> None:
    kept = Kept()
    outbox = outbox_for(api, engine, clock, kept)
    await outbox.inbound(OPENID)
    clock.advance(hours=47, minutes=59)
    await outbox.deliver(OPENID, CONVERSATION, [text("还在窗口内")])
    clock.advance(minutes=2)
    await outbox.deliver(OPENID, CONVERSATION, [text("窗口已关闭")])
    assert fake.texts_to(OPENID) == ["还在窗口内"]
    assert [(i.texts, i.reason) for i in kept.items] == [(("窗口已关闭",), WINDOW_IS_CLOSED)]


async def test_at_most_20_messages_until_the_user_writes_again(engine: Engine, clock: MovableClock) -> None:
    api, kept = ScriptedApi(), Kept()
    outbox = outbox_for(api, engine, clock, kept)
    await outbox.inbound(OPENID)
    for i in range(21):
        await outbox.deliver_texts(OPENID, CONVERSATION, [f"通知{i}"])
    assert len(api.sent) == 20
    assert [(i.texts, i.reason) for i in kept.items] == [(("通知20",), LIMIT_REACHED)]
    await outbox.inbound(OPENID)  # the user wrote: the count starts over
    await outbox.deliver_texts(OPENID, CONVERSATION, ["又可以发了"])
    assert api.sent[-1] == (OPENID, "又可以发了")


async def test_window_and_limit_are_settings_of_the_outbox(engine: Engine, clock: MovableClock) -> None:
    api, kept = ScriptedApi(), Kept()
    outbox = outbox_for(api, engine, clock, kept, window=timedelta(hours=1), max_per_window=2)
    await outbox.inbound(OPENID)
    await outbox.deliver_texts(OPENID, CONVERSATION, ["一", "二", "三"])
    assert [t for _, t in api.sent] == ["一", "二"]
    assert kept.items[0].texts == ("三",) and kept.items[0].reason == LIMIT_REACHED
    await outbox.inbound(OPENID)
    clock.advance(hours=1, seconds=1)
    await outbox.deliver_texts(OPENID, CONVERSATION, ["四"])
    assert kept.items[1].reason == WINDOW_IS_CLOSED


async def test_two_processes_together_keep_to_the_limit(database_url: str, clock: MovableClock) -> None:
    engines = [make_engine(database_url), make_engine(database_url)]
    upgrade(engines[0])
    api, kept = ScriptedApi(), Kept()
    outboxes = [outbox_for(api, e, clock, kept, max_per_window=5) for e in engines]
    try:
        await outboxes[0].inbound(OPENID)
        await asyncio.gather(*(outboxes[i % 2].deliver_texts(OPENID, CONVERSATION, [f"通知{i}"]) for i in range(12)))
    finally:
        for e in engines:
            e.dispose()
    assert len(api.sent) == 5
    assert len(kept.items) == 7 and {i.reason for i in kept.items} == {LIMIT_REACHED}


# --- WeChat refuses, or is down ---------------------------------------------------------------------


async def test_wechat_refusing_the_window_stops_sending_until_the_user_writes(
        api: HttpWeChatApi, fake: FakeWeChat, engine: Engine, clock: MovableClock) -> None:
    kept = Kept()
    outbox = outbox_for(api, engine, clock, kept)
    await outbox.inbound(OPENID)
    fake.fail_next(45015)
    await outbox.deliver(OPENID, CONVERSATION, [text("第一条")])
    await outbox.deliver(OPENID, CONVERSATION, [text("第二条")])  # not even tried: WeChat said the window is shut
    assert fake.sent == []
    assert [(i.texts, i.reason, i.code) for i in kept.items] == [
        (("第一条",), WINDOW_IS_CLOSED, 45015), (("第二条",), LIMIT_REACHED, None)]
    await outbox.inbound(OPENID)
    await outbox.deliver(OPENID, CONVERSATION, [text("第三条")])
    assert fake.texts_to(OPENID) == ["第三条"]


async def test_wechat_down_keeps_the_rest_of_the_reply_in_order(engine: Engine, clock: MovableClock) -> None:
    api = ScriptedApi(failures={2: WeChatApiError("WeChat did not answer")})
    kept = Kept()
    outbox = outbox_for(api, engine, clock, kept, max_per_window=3)
    await outbox.inbound(OPENID)
    await outbox.deliver_texts(OPENID, CONVERSATION, ["一", "二", "三"])
    assert api.sent == [(OPENID, "一")]
    assert kept.items == [Undeliverable(OPENID, CONVERSATION, ("二", "三"), UNAVAILABLE)]
    # what was not sent did not use up the window: two more go out
    await outbox.deliver_texts(OPENID, CONVERSATION, ["四", "五"])
    assert [t for _, t in api.sent] == ["一", "四", "五"]


async def test_a_client_that_breaks_otherwise_still_keeps_the_message(engine: Engine, clock: MovableClock) -> None:
    api, kept = ScriptedApi(failures={1: RuntimeError("session closed")}), Kept()
    outbox = outbox_for(api, engine, clock, kept)
    await outbox.inbound(OPENID)
    await outbox.deliver_texts(OPENID, CONVERSATION, ["您好"])
    assert kept.items == [Undeliverable(OPENID, CONVERSATION, ("您好",), UNAVAILABLE)]


async def test_a_hook_that_fails_is_logged_without_the_text(engine: Engine, clock: MovableClock,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    async def broken(item: Undeliverable) -> None:
        raise OperationalError("insert", {}, Exception("database is locked"))

    outbox = WeChatOutbox(ScriptedApi(), engine, clock, undeliverable=broken)
    with caplog.at_level(logging.WARNING, logger="connectors.wechat_outbox"):
        await outbox.deliver_texts(OPENID, CONVERSATION, ["您的退款已到账"])  # no window: undeliverable
    lost = [r for r in caplog.records if "wechat_message_lost" in r.getMessage()]
    assert lost and lost[0].levelno == logging.ERROR
    assert all("退款" not in r.getMessage() and OPENID not in r.getMessage() for r in caplog.records)


# --- the default hook: a ticket note, and the agent told ----------------------------------------------


@dataclass
class FakeDesk:
    relayed: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False

    async def relay(self, session_id: str, text: str, intent: str, entities: list[Any], channel: str = "",
                    kind: str = "customer") -> dict[str, Any]:
        assert (channel, kind) == ("wechat", "system")  # a note for the agent, not a customer message
        if self.down:
            from service.desk_client import DeskUnavailable

            raise DeskUnavailable("desk down")
        self.relayed.append((session_id, text))
        return {"ok": True}


@pytest.fixture
def tickets(engine: Engine, clock: MovableClock) -> TicketService:
    return TicketService(engine, load_policy(), clock)


def undeliverable(*texts: str, conversation: str = CONVERSATION) -> Undeliverable:
    return Undeliverable(OPENID, conversation, texts, WINDOW_IS_CLOSED)


async def test_an_undeliverable_message_becomes_a_ticket_without_the_openid(
        engine: Engine, tickets: TicketService, settings: Settings) -> None:
    desk = FakeDesk()
    await TicketNote(engine, settings, tickets=tickets, desk=desk)(undeliverable("工单 T1 已处理完毕，请确认。"))
    [ticket] = tickets.open_for(sender_id=CONVERSATION)
    assert ticket.category == Category.REGISTERED.value and ticket.channel == "wechat"
    assert "工单 T1 已处理完毕，请确认。" in ticket.description and "48小时" in ticket.description
    assert OPENID not in ticket.description and masked_openid(OPENID) in ticket.description
    assert desk.relayed == []  # no handoff: nobody to tell live, the ticket is in the console


async def test_the_note_goes_on_the_conversations_open_ticket(engine: Engine, tickets: TicketService,
                                                              settings: Settings) -> None:
    note = TicketNote(engine, settings, tickets=tickets, desk=FakeDesk())
    await note(undeliverable("第一条"))
    await note(undeliverable("第二条", "第三条"))
    [ticket] = tickets.open_for(sender_id=CONVERSATION)
    comments = [e.comment for e in tickets.trail(ticket.number) if e.kind == "comment"]
    assert len(comments) == 1 and "第二条\n---\n第三条" in comments[0] and OPENID not in comments[0]


async def test_a_proven_customers_note_goes_on_their_ticket(engine: Engine, tickets: TicketService,
                                                            settings: Settings, clock: MovableClock) -> None:
    with engine.begin() as conn:
        conn.execute(insert(customer_homes).values(customer_id="C001", conversation=CONVERSATION, since=NOW))
    await TicketNote(engine, settings, tickets=tickets, desk=FakeDesk())(undeliverable("您的包裹已到达。"))
    [ticket] = tickets.open_for(customer_id="C001")
    assert "您的包裹已到达。" in ticket.description


async def test_during_a_handoff_the_agent_is_told(engine: Engine, tickets: TicketService, settings: Settings,
                                                  clock: MovableClock) -> None:
    records = HandoffRecords(engine, clock)
    session = records.open_session(sender_id=CONVERSATION, channel="wechat", customer_id=None, reason="request",
                                   skill_group="物流", priority=1, summary="查物流", context={})
    desk = FakeDesk()
    await TicketNote(engine, settings, tickets=tickets, handoffs=records, desk=desk)(
        undeliverable("客服：您的快递明天送达。"))
    [ticket] = tickets.open_for(sender_id=CONVERSATION)
    assert ticket.category == Category.HANDOFF.value
    assert len(desk.relayed) == 1
    session_id, line = desk.relayed[0]
    assert session_id == session.id and ticket.number in line and OPENID not in line


async def test_a_desk_that_is_down_still_leaves_the_note(engine: Engine, tickets: TicketService,
                                                         settings: Settings, clock: MovableClock) -> None:
    records = HandoffRecords(engine, clock)
    records.open_session(sender_id=CONVERSATION, channel="wechat", customer_id=None, reason="request",
                         skill_group="物流", priority=1, summary="", context={})
    await TicketNote(engine, settings, tickets=tickets, handoffs=records, desk=FakeDesk(down=True))(
        undeliverable("客服：请稍等。"))
    assert "客服：请稍等。" in tickets.open_for(sender_id=CONVERSATION)[0].description


async def test_end_to_end_a_closed_window_lands_on_a_ticket(api: HttpWeChatApi, fake: FakeWeChat, engine: Engine,
                                                            clock: MovableClock, tickets: TicketService,
                                                            settings: Settings) -> None:
    note = TicketNote(engine, settings, tickets=tickets, desk=FakeDesk())
    outbox = WeChatOutbox(api, engine, clock, undeliverable=note, texts=lambda _name: None)
    await outbox.deliver(OPENID, CONVERSATION, [{"text": "您的工单已解决，满意吗？",
                                                 "buttons": [{"title": "满意", "payload": "/affirm"}]}])
    assert fake.sent == []
    description = tickets.open_for(sender_id=CONVERSATION)[0].description
    assert "您的工单已解决，满意吗？\n1. 满意" in description
