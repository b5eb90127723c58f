"""The mobile app's channel: only the shop's signed tokens get in, messages are answered over HTTP, agent replies
arrive live on the app user's sockets, and the conversation can be read again after a restart."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
import pytest
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage, register
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from sanic import Sanic
from sanic.config import Config

from connectors.app import AppChannel
from connectors.app_messages import transcript
from connectors.app_sockets import AppSockets
from connectors.app_tokens import TokenError, make_app_token, verify_app_token
from connectors.gate import MessageGate
from connectors.rest_channel import message_problem as request_problem
from connectors.routing import ConversationRouter
from service.channel_users import ChannelUsers
from service.clock import Clock
from service.db import make_engine
from service.migrate import upgrade
from service.settings import load_settings
from tests.app_client import AppClient, AppError, app_token
from tests.desk_harness import serving

SECRET = "the-shops-app-token-secret-for-tests-0001"
OTHER_SECRET = "someone-elses-secret-that-is-long-enough-01"
MAX_TTL = 24 * 3600
NOW = 1_800_000_000.0
BUTTONS = [{"title": "查物流", "payload": "/query_logistics"}, {"title": "转人工", "payload": "/request_human"}]


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """A token with `alg: none`: no signature at all."""
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "u-1001", "customer_id": "C001", "iat": NOW, "exp": NOW + 600}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def refusal(token: str) -> str:
    with pytest.raises(TokenError) as refused:
        verify_app_token(token, SECRET, MAX_TTL, NOW)
    return refused.value.code


# --- the token, as a pure function ---------------------------------------------------------------------------------

def test_a_token_signed_by_the_shop_names_the_app_user_and_its_customer() -> None:
    identity = verify_app_token(jwt.encode(claims(), SECRET, algorithm="HS256"), SECRET, MAX_TTL, NOW)
    assert (identity.user, identity.customer_id, identity.expires_at) == ("u-1001", "C001", NOW + 600)


def test_forged_expired_unsigned_and_endless_tokens_are_refused_with_their_reason() -> None:
    assert refusal(jwt.encode(claims(), OTHER_SECRET, algorithm="HS256")) == "bad_signature"
    assert refusal(jwt.encode(claims(exp=NOW - 1), SECRET, algorithm="HS256")) == "token_expired"
    assert refusal(unsigned_token(claims())) == "wrong_algorithm"
    assert refusal(jwt.encode(claims(), SECRET + SECRET, algorithm="HS512")) == "wrong_algorithm"
    assert refusal(jwt.encode(claims(exp=NOW + MAX_TTL + 60), SECRET, algorithm="HS256")) == "token_too_long"
    assert refusal(jwt.encode(claims(iat=NOW + 3600), SECRET, algorithm="HS256")) == "token_not_yet_valid"
    assert refusal("not.a.token") == "malformed_token"
    assert refusal("x" * 5000) == "malformed_token"
    signed, _, _ = jwt.encode(claims(), SECRET, algorithm="HS256").rpartition(".")
    assert refusal(f"{signed.split('.')[0]}.{b64(claims(customer_id='C002'))}.{'A' * 43}") == "bad_signature"


def test_a_token_without_its_claims_or_with_malformed_ones_proves_nothing() -> None:
    for missing in ("sub", "customer_id", "exp"):
        assert refusal(jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")) == "missing_claim"
    for bad in ({"sub": "u" * 65}, {"sub": " u-1001"}, {"customer_id": "C001; DROP"}, {"customer_id": 1},
                {"exp": "tomorrow"}, {"exp": True}, {"exp": float("nan")}, {"iat": float("nan")}):
        assert refusal(jwt.encode(claims(**bad), SECRET, algorithm="HS256")) == "bad_claim", bad


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=4), max_leaves=12)


@seed(8)
@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claimed=st.dictionaries(st.sampled_from(["sub", "customer_id", "exp", "iat", "nbf", "aud"]), json_values),
       header=st.dictionaries(st.sampled_from(["alg", "typ", "kid"]), json_values, max_size=2),
       garbage=st.text(max_size=200))
def test_any_token_either_proves_an_app_user_or_is_refused_with_a_reason(claimed: dict[str, Any],
                                                                        header: dict[str, Any], garbage: str) -> None:
    signed = jwt.encode(claimed, SECRET, algorithm="HS256")
    for token in (signed, f"{b64(header)}.{b64(claimed)}.{signed.rsplit('.', 1)[1]}", garbage):
        try:
            identity = verify_app_token(token, SECRET, MAX_TTL, NOW)
        except TokenError as refused:
            assert refused.code and refused.reason
        else:
            assert 0 < len(identity.user) <= 64 and NOW < identity.expires_at <= NOW + MAX_TTL


@seed(8)
@hypothesis_settings(max_examples=300, deadline=None)
@given(body=json_values)
def test_any_json_body_is_either_a_message_or_a_reason(body: Any) -> None:
    problem = request_problem(body)
    assert problem is None or problem.startswith(("body", "'message'", "'metadata'"))
    assert problem is not None or (isinstance(body["message"], str) and body["message"].strip())


# --- the channel on a Sanic server, with a stand-in gate, router and Rasa ------------------------------------------

@dataclass
class FakeRouter:
    """Each app user writes to its customer's conversation `conv-<customer>`, once it has written."""

    conversations: dict[tuple[str, str], str] = field(default_factory=dict)

    def bind(self, app: Any) -> None:
        pass

    def route(self, channel: str, user_key: str, customer_id: str | None) -> str:
        conversation = f"conv-{customer_id or user_key}"
        self.conversations[(channel, user_key)] = conversation
        return conversation

    async def conversation_of(self, channel: str, user_key: str) -> str | None:
        return self.conversations.get((channel, user_key))

    async def user_of(self, conversation: str, channel: str) -> str | None:
        users = [user for (ch, user), conv in self.conversations.items() if ch == channel and conv == conversation]
        return users[-1] if users else None


@dataclass
class FakeGate:
    router: FakeRouter
    admitted: list[tuple[str, str | None]] = field(default_factory=list)

    def bind(self, app: Any) -> None:
        self.router.bind(app)

    async def admit(self, message: UserMessage, proven_customer: str | None = None,
                    extra_payloads: frozenset[str] = frozenset()) -> bool:
        self.admitted.append((message.sender_id, proven_customer))
        if message.text and len(message.text) > 2000:
            await message.output_channel.send_text_message(message.sender_id, "消息太长了")
            return False
        message.sender_id = self.router.route(str(message.input_channel), message.sender_id, proven_customer)
        return True


@dataclass
class StandInRasa:
    """Answers each message with a greeting and buttons; keeps what it was given."""

    handled: list[UserMessage] = field(default_factory=list)
    events: dict[str, list[Event]] = field(default_factory=dict)
    failing: bool = False

    async def handle(self, message: UserMessage) -> None:
        if self.failing:
            raise RuntimeError("the action server is down")
        self.handled.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "您好，请问有什么可以帮您？",
                                                                       "buttons": BUTTONS})

    async def handle_message(self, message: UserMessage) -> None:  # as Rasa's agent, which register() calls
        await self.handle(message)

    async def events_of(self, _app: Any, conversation: str) -> Iterable[Event]:
        return self.events.get(conversation, [])


@dataclass
class Running:
    url: str
    channel: AppChannel
    gate: FakeGate
    rasa: StandInRasa

    def client(self, sub: str = "u-1001", customer_id: str = "C001", ttl_s: float = 600) -> AppClient:
        return AppClient(self.url, app_token(SECRET, sub, customer_id, ttl_s))


@asynccontextmanager
async def app_server(secret: str | None = SECRET, auth_timeout_s: float = 10.0) -> AsyncIterator[Running]:
    config = Config()
    config.REGISTER = False
    app = Sanic(f"app-channel-{uuid.uuid4().hex[:8]}", config=config, configure_logging=False)
    settings = load_settings({"APP_TOKEN_SECRET": secret} if secret else {})
    router = FakeRouter()
    gate, rasa = FakeGate(router), StandInRasa()
    channel = AppChannel(settings=settings, gate=gate, router=router,  # type: ignore[arg-type]
                         events=rasa.events_of, auth_timeout_s=auth_timeout_s)
    app.ctx.agent = rasa
    register([channel], app, route="/webhooks/")
    async with serving(app) as url:
        yield Running(url, channel, gate, rasa)


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with app_server() as server:
        yield server


async def test_a_message_is_answered_in_the_customers_conversation(running: Running) -> None:
    answer = await running.client().send("你好", metadata={"page": "orders"})
    assert answer == [{"type": "bot", "text": "您好，请问有什么可以帮您？", "buttons": BUTTONS, "custom": None}]
    assert running.gate.admitted == [("u-1001", "C001")]  # the app user, and the customer the shop vouches for
    message = running.rasa.handled[0]
    assert (message.text, message.input_channel, message.sender_id) == ("你好", "app", "conv-C001")
    assert message.metadata == {"page": "orders"}


async def test_a_message_the_gate_answers_itself_is_not_handled(running: Running) -> None:
    assert await running.client().send("好" * 2001) == [{"type": "bot", "text": "消息太长了", "buttons": [], "custom": None}]
    assert running.rasa.handled == []


async def test_requests_without_a_valid_token_get_401_with_the_reason(running: Running,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = running.client()
    good = client.token
    cases = {
        "missing_token": None,
        "bad_signature": app_token(OTHER_SECRET, "u-1001", "C001"),
        "token_expired": app_token(SECRET, "u-1001", "C001", ttl_s=-5),
        "wrong_algorithm": unsigned_token(claims(iat=time.time(), exp=time.time() + 600)),
    }
    for code, token in cases.items():
        for method, path, body in (("POST", "/webhook", {"message": "你好"}), ("GET", "/history", None)):
            status, answer, headers = await client.call(method, path, body, token=token)
            assert status == 401 and answer["code"] == code and answer["reason"], (code, path, answer)
            assert headers["WWW-Authenticate"].startswith("Bearer")
    status, answer, _ = await client.call("POST", f"/webhook?token={good}", {"message": "你好"})
    assert status == 401 and answer["code"] == "token_in_url"  # refused even with a good header beside it
    status, answer, _ = await client.call("POST", "/webhook", {"message": "你好"}, headers={"Authorization": f"Basic {good}"})
    assert status == 401 and answer["code"] == "missing_token"
    assert running.rasa.handled == []
    assert "app_request_refused" in caplog.text and good not in caplog.text and "u-1001" not in caplog.text


async def test_malformed_or_oversized_bodies_get_a_4xx_with_the_reason(running: Running) -> None:
    client = running.client()
    for raw, reason in ((b"{not json", "JSON object"), (b"[1, 2]", "JSON object"), (b"\xff\xfe", "JSON object"),
                        (b'{"text": "hi"}', "'message'"), (b'{"message": "  "}', "'message'"),
                        (b'{"message": 7}', "'message'"), (b'{"message": "hi", "metadata": [1]}', "'metadata'")):
        status, answer, _ = await client.call("POST", "/webhook", raw=raw)
        assert status == 400 and answer["error"] == "bad_request" and reason in answer["reason"], raw
    huge = json.dumps({"message": "好", "metadata": {"x": "a" * 70_000}}).encode()
    status, answer, _ = await client.call("POST", "/webhook", raw=huge)
    assert status == 413 and answer["error"] == "payload_too_large"
    assert running.rasa.handled == []


async def test_a_failure_behind_the_channel_asks_the_app_to_send_again(running: Running) -> None:
    running.rasa.failing = True
    with pytest.raises(AppError) as refused:
        await running.client().send("你好")
    assert refused.value.status == 503 and "send it again" in refused.value.body["reason"]


async def test_the_channel_is_off_without_a_secret() -> None:
    async with app_server(secret=None) as server:
        client = server.client()
        for method, path in (("POST", "/webhook"), ("GET", "/history"), ("GET", "/ws")):
            status, answer, _ = await client.call(method, path, {"message": "你好"} if method == "POST" else None)
            assert status == 404 and "APP_TOKEN_SECRET" in answer["reason"]
        assert server.channel.get_output_channel() is None  # Rasa falls back to collecting


async def test_the_socket_authenticates_with_its_first_frame(running: Running) -> None:
    client = running.client()
    async with client.live() as live:
        await live.send({"type": "ping"})
        await live.send({"type": "hello"})  # ignored
        await live.send("not json")  # ignored
        assert await live.next() == {"type": "pong"}
        assert running.channel.sockets.count("u-1001") == 1
    for _ in range(100):  # the server forgets a closed socket
        if running.channel.sockets.count("u-1001") == 0:
            break
        await asyncio.sleep(0.02)
    assert running.channel.sockets.count("u-1001") == 0


async def test_a_socket_without_a_valid_auth_frame_is_closed_with_the_reason(running: Running) -> None:
    forged = AppClient(running.url, app_token(OTHER_SECRET, "u-1001", "C001"))
    async with forged.live(authenticate=False) as live:
        await live.send({"type": "auth", "token": forged.token})
        code, frames = await live.closed()
        assert code == 4401 and frames[0]["error"] == "bad_signature"
    async with running.client().live(authenticate=False) as live:
        await live.send({"type": "message", "text": "你好"})
        code, frames = await live.closed()
        assert code == 4401 and frames[0]["error"] == "auth_expected"
    token = running.client().token
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(running.url.replace("http", "ws", 1) + f"/webhooks/app/ws?token={token}") as ws:
            message = await ws.receive(timeout=5)
            assert json.loads(message.data)["error"] == "token_in_url"
            await ws.receive(timeout=5)
            assert ws.close_code == 4401


async def test_a_socket_that_does_not_authenticate_in_time_is_closed() -> None:
    async with app_server(auth_timeout_s=0.2) as server:
        async with server.client().live(authenticate=False) as live:
            code, frames = await live.closed()
            assert code == 4401 and frames[0]["error"] == "auth_timeout"


async def test_an_agent_reply_reaches_every_device_of_the_app_user(running: Running) -> None:
    await running.client().send("转人工")  # the app user has written: its conversation is conv-C001
    await running.client("u-2002", "C002").send("你好")
    async with running.client().live() as phone, running.client().live() as tablet, \
            running.client("u-2002", "C002").live() as someone_else:
        output = running.channel.get_output_channel()
        assert output is not None and output.name() == "app"
        await output.send_response("conv-C001", {"text": "客服小王：您好，我来帮您查", "from_agent": True,
                                                 "custom": {"queue_position": 0}})
        await output.send_text_message("conv-nobody", "没有人会收到")  # no app user: dropped quietly
        for device in (phone, tablet):
            assert await device.next() == {"type": "bot", "text": "客服小王：您好，我来帮您查", "buttons": [],
                                           "custom": {"queue_position": 0}, "from_agent": True}
        await someone_else.send({"type": "ping"})
        assert await someone_else.next() == {"type": "pong"}  # and nothing pushed before it


async def test_the_socket_closes_when_its_token_expires_unless_renewed(running: Running) -> None:
    async with running.client(ttl_s=1.0).live() as live:
        await live.send({"type": "auth", "token": app_token(SECRET, "u-other", "C002")})
        assert (await live.next())["error"] == "other_user"
        code, frames = await live.closed(timeout_s=5)
        assert code == 4401 and frames[-1]["error"] == "token_expired"
    async with running.client(ttl_s=1.0).live() as live:
        await live.send({"type": "auth", "token": app_token(SECRET, "u-1001", "C001", ttl_s=600)})
        renewed = await live.next()
        assert renewed["type"] == "ready" and renewed["expires_at"] > time.time() + 500
        await asyncio.sleep(1.2)
        await live.send({"type": "ping"})
        assert await live.next() == {"type": "pong"}  # still open after the first token's expiry


def conversation(turns: int) -> list[Event]:
    events: list[Event] = [ActionExecuted("action_session_start")]
    for turn in range(turns):
        events += [UserUttered(f"问题{turn}", input_channel="wechat" if turn % 2 else "app", timestamp=turn * 10.0),
                   BotUttered(f"回答{turn}", data={"buttons": BUTTONS}, timestamp=turn * 10.0 + 1)]
    return events


async def test_the_history_shows_the_conversation_again_bounded_and_in_order(running: Running) -> None:
    client = running.client()
    assert await client.history() == []  # never wrote: no conversation yet
    await client.send("你好")
    running.rasa.events["conv-C001"] = conversation(150)
    history = await client.history()
    assert len(history) == 200
    assert [entry["text"] for entry in history[:2]] == ["问题50", "回答50"]
    assert [entry["text"] for entry in history[-2:]] == ["问题149", "回答149"]
    assert [entry["timestamp"] for entry in history] == sorted(entry["timestamp"] for entry in history)
    assert history[-2] == {"type": "user", "text": "问题149", "channel": "wechat", "timestamp": 1490.0}
    assert history[-1]["buttons"] == BUTTONS


def test_the_history_shows_pressed_buttons_by_title_and_leaves_out_triggered_intents() -> None:
    events = [UserUttered("我的快递呢", input_channel="app", timestamp=1.0),
              BotUttered("请选择", data={"buttons": BUTTONS}, timestamp=2.0),
              UserUttered("/request_human", input_channel="app", timestamp=3.0),
              UserUttered.create_external("EXTERNAL_agent_message", input_channel="app"),
              BotUttered("客服小王：您好", metadata={"from_agent": True}, timestamp=5.0),
              UserUttered("\u200b/greet", input_channel="socketio", timestamp=6.0)]
    assert [(e["type"], e["text"], e.get("channel"), e.get("from_agent")) for e in transcript(events)] == [
        ("user", "我的快递呢", "app", None), ("bot", "请选择", None, None), ("user", "转人工", "app", None),
        ("bot", "客服小王：您好", None, True), ("user", "/greet", "socketio", None)]
    assert transcript(events, limit=2)[0]["text"] == "客服小王：您好"


def test_a_user_with_too_many_sockets_loses_the_oldest() -> None:
    sockets = AppSockets(max_per_user=2)
    assert sockets.add("u", "phone") == [] and sockets.add("u", "tablet") == []
    assert sockets.add("u", "watch") == ["phone"] and sockets.count("u") == 2
    sockets.remove("u", "tablet")
    sockets.remove("u", "watch")
    assert sockets.count("u") == 0


# --- with the real gate and router: one conversation for the customer, whichever channel it wrote from ---------------

@dataclass
class RecordingAgent:
    """Rasa's agent as far as the channel and the gate use it: messages land in a real (in-memory) tracker store."""

    tracker_store: InMemoryTrackerStore = field(default_factory=lambda: InMemoryTrackerStore(Domain.empty()))
    lock_store: InMemoryLockStore = field(default_factory=InMemoryLockStore)
    domain: Any = field(default_factory=lambda: SimpleNamespace(responses={}))

    async def say(self, conversation: str, *events: Event) -> None:
        tracker = await self.tracker_store.get_or_create_tracker(conversation)
        for event in events:
            tracker.update(event)
        await self.tracker_store.save(tracker)

    async def handle_message(self, message: UserMessage) -> None:
        answer = {"text": "这笔订单已发货，顺丰速运 SF1234567890", "buttons": BUTTONS}
        await self.say(message.sender_id, UserUttered(message.text, input_channel=message.input_channel),
                       BotUttered(answer["text"], data={"buttons": BUTTONS}))
        await message.output_channel.send_response(message.sender_id, dict(answer))


async def test_with_the_real_gate_the_app_continues_the_customers_conversation(tmp_path: Path) -> None:
    settings = load_settings({"APP_TOKEN_SECRET": SECRET, "XIAOZHI_VAR_DIR": str(tmp_path),
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"})
    engine = make_engine(settings.database_url)
    upgrade(engine)
    router = ConversationRouter(ChannelUsers(engine, Clock()), settings)
    channel = AppChannel(settings=settings, gate=MessageGate(settings, router=router))
    config = Config()
    config.REGISTER = False
    app = Sanic(f"app-channel-{uuid.uuid4().hex[:8]}", config=config, configure_logging=False)
    app.ctx.agent = agent = RecordingAgent()
    register([channel], app, route="/webhooks/")
    try:
        async with serving(app) as url:
            router.bind(app)
            home = await router.route("wechat", "oOPENID1", customer_id="C001")  # C001 wrote on WeChat first
            await agent.say(home, UserUttered("E202611010001到哪了", input_channel="wechat"))
            client = AppClient(url, app_token(SECRET, "u-1001", "C001"))
            answer = await client.send("那什么时候能到")
            assert answer[0]["text"].startswith("这笔订单已发货")
            assert await router.conversation_of("app", "u-1001") == home
            history = await client.history()
            assert [(e["type"], e["text"], e.get("channel")) for e in history] == [
                ("user", "E202611010001到哪了", "wechat"), ("user", "那什么时候能到", "app"),
                ("bot", "这笔订单已发货，顺丰速运 SF1234567890", None)]
            async with client.live() as live:
                output = channel.get_output_channel()
                assert output is not None
                await output.send_text_message(home, "客服小王：已为您催促快递")
                assert (await live.next())["text"] == "客服小王：已为您催促快递"
    finally:
        engine.dispose()


def test_the_shops_backend_makes_a_token_the_channel_accepts() -> None:
    token = make_app_token(SECRET, "u-1001", "C001", expires_at=NOW + 3600, issued_at=NOW)
    assert verify_app_token(token, SECRET, MAX_TTL, NOW).customer_id == "C001"
