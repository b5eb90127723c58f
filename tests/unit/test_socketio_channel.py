"""The widget's socket.io channel on a real Sanic server: replies reach the session (every tab of it) even when
the gate routed it into a customer's conversation, messages Rasa sends on its own reach whoever wrote last,
typing is shown while the bot works, and a reload gets the conversation back (only for its own session).

Behind the channel sit a stand-in for Rasa's agent (an in-memory tracker store) and a router on dicts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic
from sanic.config import Config

from connectors.gate import AS_TEXT
from connectors.socketio_channel import GREETING_KEY, SocketIOChannel, history_items
from service.settings import Settings, load_settings
from tests.desk_harness import serving

Sanic.test_mode = True
CUSTOMER_CONVERSATION = "customer-C001"  # what the stand-in gate routes signed-in sessions into
CARD = {"order_card": {"order_id": "E202611010001", "product": "蓝牙耳机 X1 ×1", "status": "已发货", "amount": "¥399",
                       "carrier": "顺丰速运", "waybill": "SF1234567890"}}


def session() -> str:
    return uuid.uuid4().hex


@dataclass
class DictRouter:
    """ConversationRouter's two questions, answered from dicts."""

    conversations: dict[str, str] = field(default_factory=dict)  # session id -> conversation
    writers: dict[str, str] = field(default_factory=dict)  # conversation -> session that wrote last

    def bind(self, _app: Any) -> None:
        pass

    async def conversation_of(self, channel: str, user_key: str) -> str | None:
        assert channel == "socketio"
        return self.conversations.get(user_key)

    async def user_of(self, conversation: str, channel: str) -> str | None:
        assert channel == "socketio"
        return self.writers.get(conversation)


@dataclass
class RoutingGate:
    """What the message gate does that matters here: a session with a customer id goes to the customer's
    conversation (so the conversation id is not the session id)."""

    router: DictRouter

    def bind(self, _app: Any) -> None:
        pass

    async def admit(self, message: UserMessage, *_: Any, **__: Any) -> bool:
        session_id = str(message.sender_id)
        if (message.metadata or {}).get("customer_id"):
            message.sender_id = CUSTOMER_CONVERSATION
        self.router.conversations[session_id] = str(message.sender_id)
        self.router.writers[str(message.sender_id)] = session_id
        return True


class StandInAgent:
    """Rasa's agent as the channel sees it: answers a message on its output channel, keeps trackers."""

    def __init__(self) -> None:
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.domain = Domain.from_dict({"responses": {"utter_backend_error": [{"text": "系统有点慢，请稍后再试"}]}})
        self.handled: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message)
        if message.text == "出错":
            raise RuntimeError("the model failed")
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")
        await message.output_channel.send_custom_json(message.sender_id, json.loads(json.dumps(CARD)))

    async def remember(self, conversation: str, events: list[Event]) -> None:
        await self.tracker_store.save(DialogueStateTracker.from_events(conversation, events))


class WidgetClient:
    """The widget's side of socket.io over a WebSocket (Engine.IO v4 framing), keeping every event it gets."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[tuple[str, Any]] = []

    async def emit(self, event: str, data: Any) -> None:
        await self.ws.send_str("42" + json.dumps([event, data]))

    async def next(self, name: str, timeout_s: float = 10.0) -> Any:
        """The data of the next `name` event (the ones before it stay in `events`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            for index, (event, data) in enumerate(self.events):
                if event == name:
                    del self.events[index]
                    return data
            frame = await self.ws.receive(timeout=max(0.01, deadline - loop.time()))
            assert frame.type == aiohttp.WSMsgType.TEXT, frame
            if frame.data == "2":
                await self.ws.send_str("3")
            elif frame.data.startswith("42"):
                event, *rest = json.loads(frame.data[2:])
                self.events.append((event, rest[0] if rest else None))

    async def join(self, session_id: str) -> None:
        await self.emit("session_request", {"session_id": session_id})
        assert await self.next("session_confirm") == session_id


@dataclass
class Server:
    url: str
    channel: SocketIOChannel
    agent: StandInAgent
    router: DictRouter
    http: aiohttp.ClientSession

    @asynccontextmanager
    async def widget(self, session_id: str | None = None) -> AsyncIterator[WidgetClient]:
        async with self.http.ws_connect(self.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket") as ws:
            await ws.receive(timeout=10)  # the engine.io open packet
            await ws.send_str("40")
            assert (await ws.receive(timeout=10)).data.startswith("40")  # joined the namespace
            client = WidgetClient(ws)
            if session_id:
                await client.join(session_id)
            yield client


@asynccontextmanager
async def channel_server(settings: Settings, router: DictRouter | None = None) -> AsyncIterator[Server]:
    config = Config()
    config.REGISTER = False
    app = Sanic(f"socketio-{uuid.uuid4().hex[:8]}", config=config, configure_logging=False)
    agent = StandInAgent()
    app.ctx.agent = agent
    router = router or DictRouter()
    channel = SocketIOChannel.from_credentials({"session_persistence": True})
    assert isinstance(channel, SocketIOChannel)
    channel.settings = settings
    channel.router = router  # type: ignore[assignment]
    channel.gate = RoutingGate(router)  # type: ignore[assignment]
    register([channel], app, route="/webhooks/")
    async with serving(app) as url, aiohttp.ClientSession() as http:
        yield Server(url, channel, agent, router, http)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with channel_server(load_settings({})) as running:
        yield running


async def test_the_answer_reaches_every_tab_of_the_session_also_in_the_customers_conversation(server: Server) -> None:
    mine, other = session(), session()
    async with server.widget(mine) as tab, server.widget(mine) as second_tab, server.widget(other) as stranger:
        await tab.emit("user_uttered", {"session_id": mine, "message": "查订单", "metadata": {"customer_id": "C001"}})
        assert await tab.next("typing") == {"on": True}
        assert await tab.next("bot_uttered") == {"text": "收到：查订单"}
        assert await tab.next("bot_uttered") == {"custom": CARD}  # the order card, as widget.js reads it
        assert await tab.next("typing") == {"on": False}
        assert await second_tab.next("bot_uttered") == {"text": "收到：查订单"}  # the other tab sees it live
        assert server.agent.handled[0].sender_id == CUSTOMER_CONVERSATION
        # the stranger's own answer is the first thing it gets: nothing of the other session reached it
        await stranger.emit("user_uttered", {"session_id": other, "message": "你好"})
        assert await stranger.next("bot_uttered") == {"text": "收到：你好"}


async def test_a_message_rasa_sends_by_itself_goes_to_who_wrote_last(server: Server,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    mine = session()
    async with server.widget(mine) as tab:
        await tab.emit("user_uttered", {"session_id": mine, "message": "转人工", "metadata": {"customer_id": "C001"}})
        await tab.next("typing")
        await tab.next("typing")
        output = server.channel.get_output_channel()
        assert output is not None
        await output.send_text_message(CUSTOMER_CONVERSATION, "小李：您好，我是小李", from_agent=True)
        await output.send_custom_json(CUSTOMER_CONVERSATION, {"handoff": {"state": "agent", "agent_name": "小李"}})
        replies = [await tab.next("bot_uttered") for _ in range(4)]
        assert replies[0] == {"text": "收到：转人工"} and replies[2:] == [{"text": "小李：您好，我是小李", "from_agent": True},
                               {"custom": {"handoff": {"state": "agent", "agent_name": "小李"}}}]
        with caplog.at_level(logging.WARNING):
            await output.send_text_message("nobody-wrote-here", "通知")  # dropped, with a log line
        assert any("socketio_recipient_unknown" in r.getMessage() for r in caplog.records)


async def test_a_failed_turn_is_apologised_for_and_typing_stops(server: Server) -> None:
    mine = session()
    async with server.widget(mine) as tab:
        await tab.emit("user_uttered", {"session_id": mine, "message": "出错"})
        assert await tab.next("typing") == {"on": True}
        assert await tab.next("bot_uttered") == {"text": "系统有点慢，请稍后再试"}
        assert await tab.next("typing") == {"on": False}


async def test_a_reload_gets_its_conversation_back_and_nobody_elses(server: Server) -> None:
    mine, other = session(), session()
    server.router.conversations[mine] = CUSTOMER_CONVERSATION
    await server.agent.remember(CUSTOMER_CONVERSATION, [
        UserUttered("你好", metadata={GREETING_KEY: True}, input_channel="socketio"),
        BotUttered("您好，金卡会员张伟", {"buttons": [{"title": "查订单", "payload": "/query_order_status"}]}),
        UserUttered("/query_order_status", input_channel="socketio"),
        BotUttered("订单 E202611010001 已发货", {"custom": CARD}),
    ])
    async with server.widget(other) as stranger:
        await stranger.emit("history_request", {"session_id": mine})  # not its session: not answered
        await stranger.emit("history_request", {"session_id": other})
        assert await stranger.next("history") == []  # its own, empty: the first answer it got
    async with server.widget(mine) as tab:
        await tab.emit("history_request", {"session_id": mine})
        history = await tab.next("history")
    assert [(h["kind"], h["text"]) for h in history] == [("bot", "您好，金卡会员张伟"), ("user", "查订单"),
                                                         ("bot", "订单 E202611010001 已发货")]
    assert history[0]["buttons"] == [{"title": "查订单", "payload": "/query_order_status"}]
    assert history[2]["custom"] == CARD and history[1]["channel"] == "socketio"


async def test_malformed_history_requests_are_dropped(server: Server) -> None:
    mine = session()
    async with server.widget(mine) as tab:
        for data in (None, "x", [mine], {"session_id": 5}, {"session_id": "a" * 2000}, {}):
            await tab.emit("history_request", data)
        await tab.emit("history_request", {"session_id": mine})
        assert await tab.next("history") == []


async def test_switching_session_leaves_the_old_one(server: Server) -> None:
    first, second = session(), session()
    async with server.widget(first) as tab, server.widget(first) as other_tab:
        await tab.join(second)  # e.g. the demo page changed who is signed in
        await other_tab.emit("user_uttered", {"session_id": first, "message": "一号"})
        assert await other_tab.next("bot_uttered") == {"text": "收到：一号"}
        await tab.emit("user_uttered", {"session_id": first, "message": "冒充"})  # no longer its session
        await tab.emit("user_uttered", {"session_id": second, "message": "二号"})
        assert await tab.next("bot_uttered") == {"text": "收到：二号"}  # nothing of `first` came before it
        assert [m.text for m in server.agent.handled] == ["一号", "二号"]


def test_the_history_shows_what_the_customer_saw() -> None:
    events: list[Event] = [
        UserUttered("你好", metadata={GREETING_KEY: True}, input_channel="socketio"),
        BotUttered("您好", {"buttons": [{"title": "转人工客服", "payload": "/request_human"}]}),
        UserUttered("/request_human", input_channel="wechat"),
        UserUttered.create_external("EXTERNAL_agent_joined", input_channel="socketio"),
        BotUttered("人工客服小李已接入", metadata={"from_agent": True}),
        UserUttered(AS_TEXT + "/restart", input_channel="app"),
        BotUttered(None, {"custom": {"handoff": {"state": "ended"}}}),
        BotUttered(None, {}),
    ]
    items = history_items(events)
    assert [(i["kind"], i["text"], i["channel"]) for i in items] == [
        ("bot", "您好", "socketio"), ("user", "转人工客服", "wechat"), ("bot", "人工客服小李已接入", "wechat"),
        ("user", "/restart", "app"), ("bot", "", "app")]
    assert items[2]["from_agent"] is True and items[0]["from_agent"] is False
    assert items[-1]["custom"] == {"handoff": {"state": "ended"}}
    assert set(items[1]) == {"kind", "text", "buttons", "custom", "channel", "timestamp"}
    many = [BotUttered(str(n)) for n in range(250)]
    assert [i["text"] for i in history_items(many)] == [str(n) for n in range(50, 250)]  # the last 200


@pytest.mark.redis
async def test_with_redis_an_agent_reply_reaches_a_widget_on_another_rasa_server() -> None:
    import redis.asyncio

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = load_settings({"REDIS_URL": url, "QUEUE_PREFIX": f"xiaozhi-test-{uuid.uuid4().hex[:8]}"})
    router = DictRouter()
    mine = session()
    async with channel_server(settings, router) as one, channel_server(settings, router) as other:
        async with one.widget(mine) as tab:
            await tab.emit("user_uttered", {"session_id": mine, "message": "转人工", "metadata": {"customer_id": "C001"}})
            assert await tab.next("bot_uttered") == {"text": "收到：转人工"}
            output = other.channel.get_output_channel()  # the desk's trigger_intent reached the other server
            assert output is not None
            await output.send_text_message(CUSTOMER_CONVERSATION, "小李：您好", from_agent=True)
            assert await tab.next("bot_uttered") == {"custom": CARD}
            assert await tab.next("bot_uttered") == {"text": "小李：您好", "from_agent": True}
    for channel in (one.channel, other.channel):
        manager = channel.sio.manager if channel.sio is not None else None
        client = getattr(manager, "redis", None)
        if isinstance(client, redis.asyncio.Redis):
            await client.close()
