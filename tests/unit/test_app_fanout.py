"""Pushes for an app user across Rasa servers (connectors/app_fanout.py, connectors/app_sockets.py).

In-process tests need nothing; the `redis` ones run against the machine's Redis on a channel of their own (pub/sub
leaves no keys behind) and stand for two Rasa servers by two registries, or two Sanic apps, on that channel."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from rasa.core.channels.channel import register
from redis import asyncio as aioredis
from sanic import Sanic
from sanic.config import Config

from connectors.app import AppChannel
from connectors.app_fanout import (
    Deliver,
    Handed,
    InProcessFanout,
    RedisFanout,
    app_fanout,
    envelope,
    fanout_channel,
    opened,
)
from connectors.app_sockets import AppSockets, Reach
from service.settings import load_settings
from tests.app_client import AppClient, app_token
from tests.desk_harness import serving
from tests.unit.redis_test_env import REDIS_URL, WAIT_S
from tests.unit.test_app_channel import SECRET, FakeGate, FakeRouter, StandInRasa

FANOUT_LOGGER = "connectors.app_fanout"
REPLY = {"text": "客服小王：您的订单 E202611010001 明天送达", "from_agent": True}


@dataclass(eq=False)
class FakeSocket:
    """What the registry needs of a WebSocket: send(), and a record of what it got."""

    name: str
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, payload: str) -> None:
        self.frames.append(json.loads(payload))


def frame(text: str) -> dict[str, Any]:
    return {"type": "bot", "text": text, "buttons": [], "custom": None}


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Wait (boundedly) for something another task does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout_s:g} s")
        await asyncio.sleep(0.02)


# --- one server, and the pure parts -----------------------------------------------------------------------------------

async def test_in_process_a_push_reaches_every_socket_of_the_user_on_this_server() -> None:
    sockets = AppSockets()
    assert isinstance(sockets.fanout, InProcessFanout) and await sockets.start()
    phone, tablet, other = FakeSocket("phone"), FakeSocket("tablet"), FakeSocket("other")
    for user, ws in (("u-1001", phone), ("u-1001", tablet), ("u-2002", other)):
        sockets.add(user, ws)
    assert await sockets.push("u-1001", frame("您好")) == Reach(sockets=2, servers=0)
    assert phone.frames == tablet.frames == [frame("您好")] and other.frames == []
    assert not await sockets.push("u-nobody", frame("没人收到"))  # offline: the history keeps it
    await sockets.stop()


@dataclass
class Bus:
    """Servers joined in memory: a fake fanout per server, standing for Redis in front of the registry."""

    members: list[BusFanout] = field(default_factory=list)

    def join(self) -> BusFanout:
        member = BusFanout(self)
        self.members.append(member)
        return member


@dataclass(eq=False)
class BusFanout:
    bus: Bus
    deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> bool:
        self.deliver = deliver
        return True

    async def publish(self, user: str, payload: str) -> Handed:
        others = [member for member in self.bus.members if member is not self and member.deliver is not None]
        for member in others:
            assert member.deliver is not None
            await member.deliver(user, payload)
        return Handed(servers=len(others), here=False)

    async def stop(self) -> None:
        self.deliver = None


async def test_with_a_fanout_a_push_reaches_the_users_sockets_on_every_server_once_within_each_servers_limit() -> None:
    bus = Bus()
    server_a, server_b = AppSockets(max_per_user=2, fanout=bus.join()), AppSockets(max_per_user=2, fanout=bus.join())
    assert await server_a.start() and await server_b.start()
    old, phone, tablet, watch = (FakeSocket(name) for name in ("old", "phone", "tablet", "watch"))
    assert server_a.add("u", old) == [] and server_a.add("u", phone) == []
    assert server_a.add("u", tablet) == [old]  # the third socket on server A closes A's oldest
    assert server_b.add("u", watch) == []  # server B has its own limit
    assert await server_b.push("u", frame("客服回复")) == Reach(sockets=1, servers=1)
    assert phone.frames == tablet.frames == watch.frames == [frame("客服回复")] and old.frames == []


def test_a_push_on_the_channel_is_read_back_whole_and_anything_malformed_is_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    payload = json.dumps(frame("您好"), ensure_ascii=False)
    assert opened(envelope("push-1", "u-1001", payload)) == ("push-1", "u-1001", payload)
    with caplog.at_level(logging.WARNING, logger=FANOUT_LOGGER):
        for junk in ("not json", "[]", json.dumps({"id": "b", "user": "u"}), json.dumps(
                {"id": "b", "user": 7, "payload": "x"}), None, b"\xff"):
            assert opened(junk) is None
    assert [r.getMessage() for r in caplog.records] == ["app_fanout_malformed"] * 6


def test_the_fanout_is_redis_in_scaled_mode_and_in_process_otherwise(caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(app_fanout(load_settings({})), InProcessFanout)
    scaled = app_fanout(load_settings({"REDIS_URL": "redis://127.0.0.1:6379/0", "QUEUE_PREFIX": "shop7"}))
    assert isinstance(scaled, RedisFanout) and scaled.channel == fanout_channel("shop7") == "shop7:app"
    with caplog.at_level(logging.WARNING, logger=FANOUT_LOGGER):
        alone = app_fanout(load_settings({"XIAOZHI_MODE": "scaled"}))
    assert isinstance(alone, InProcessFanout) and "app_fanout_local_only" in caplog.text


async def test_without_redis_the_subscriber_retries_quietly_and_stops_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    fanout = RedisFanout("redis://127.0.0.1:1/0", "nowhere:app", timeout_s=0.3, poll_s=0.1, retry_s=0.02,
                         max_retry_s=0.05)
    sockets = AppSockets(fanout=fanout)
    phone = FakeSocket("phone")
    sockets.add("u", phone)
    with caplog.at_level(logging.DEBUG, logger=FANOUT_LOGGER):
        assert await sockets.start() is False  # the server still starts
        await until(lambda: sum("app_fanout_disconnected" in r.getMessage() for r in caplog.records) >= 4,
                    "several reconnection attempts")
        assert await sockets.push("u", frame("本机照样送达")) == Reach(sockets=1, servers=0)
        await sockets.stop()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "disconnected" in r.getMessage()]
    assert len(warnings) == 1 and all(r.exc_info is None for r in caplog.records)
    assert phone.frames == [frame("本机照样送达")]
    assert "本机照样送达" not in caplog.text and "app_fanout_stopped" in caplog.text


# --- against the machine's Redis ----------------------------------------------------------------------------------

@pytest.fixture
def prefix() -> str:
    """A queue prefix of this test's own: its channel is {prefix}:app, which no other test or server hears."""
    return f"xiaozhi-test:{uuid.uuid4().hex}"


@asynccontextmanager
async def server(url: str, channel: str, **options: Any) -> AsyncIterator[AppSockets]:
    """One Rasa server's registry on the channel, its subscriber running."""
    sockets = AppSockets(max_per_user=2, fanout=RedisFanout(url, channel, timeout_s=WAIT_S, **options))
    try:
        assert await sockets.start(), "Redis did not confirm the subscription"
        yield sockets
    finally:
        await sockets.stop()


@pytest.mark.redis
async def test_over_redis_a_push_from_one_server_reaches_the_users_sockets_on_both_exactly_once(
        raw: aioredis.Redis, prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    channel = fanout_channel(prefix)
    with caplog.at_level(logging.DEBUG, logger=FANOUT_LOGGER):
        async with server(REDIS_URL, channel) as server_a, server(REDIS_URL, channel) as server_b:
            old, phone, tablet, watch = (FakeSocket(name) for name in ("old", "phone", "tablet", "watch"))
            assert server_a.add("u-1001", old) == [] and server_a.add("u-1001", phone) == []
            assert server_a.add("u-1001", tablet) == [old]  # the limit holds on each server
            server_b.add("u-1001", watch)
            elsewhere = FakeSocket("elsewhere")
            server_b.add("u-2002", elsewhere)
            assert await server_b.push("u-1001", frame("第一条")) == Reach(sockets=1, servers=1)
            assert await server_a.push("u-1001", frame("第二条")) == Reach(sockets=2, servers=1)
            await server_b.push("u-1001", frame("第三条"))  # after it, no echo of the first two can still come
            everyone = (phone, tablet, watch)
            await until(lambda: all(len(s.frames) >= 3 for s in everyone), "the third push everywhere")
            expected = [frame("第一条"), frame("第二条"), frame("第三条")]
            assert all(s.frames == expected for s in everyone), [s.frames for s in everyone]
            assert old.frames == [] and elsewhere.frames == []
    assert "第一条" not in caplog.text and "u-1001" not in caplog.text
    assert await raw.pubsub_numsub(channel) == [(channel, 0)]  # both subscribers gone
    assert [key async for key in raw.scan_iter(match=f"{prefix}*")] == []


@pytest.mark.redis
async def test_a_push_made_before_the_subscription_is_sent_here_once_and_later_ones_in_order(prefix: str) -> None:
    sockets = AppSockets(fanout=RedisFanout(REDIS_URL, fanout_channel(prefix), timeout_s=WAIT_S))
    phone = FakeSocket("phone")
    sockets.add("u-1001", phone)
    try:
        assert await sockets.push("u-1001", frame("订阅前")) == Reach(sockets=1, servers=0)
        assert phone.frames == [frame("订阅前")]  # sent by the registry itself, at once
        assert await sockets.start()
        for text in ("订阅后一", "订阅后二"):
            assert await sockets.push("u-1001", frame(text)) == Reach(sockets=1, servers=0)
        await until(lambda: len(phone.frames) >= 3, "the pushes through Redis")
        assert phone.frames == [frame("订阅前"), frame("订阅后一"), frame("订阅后二")]
    finally:
        await sockets.stop()


class Relay:
    """A loopback TCP relay in front of Redis that can be cut and restored: Redis going away, as a server sees it."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._path = parts.path
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self._path}"

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
            self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.wait_for(asyncio.open_connection(*self._target), WAIT_S)
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        self._writers.update((writer, upstream))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer))
        self._writers.difference_update((writer, upstream))


@pytest.mark.redis
async def test_a_server_cut_off_from_redis_reconnects_by_itself_and_receives_pushes_again(
        raw: aioredis.Redis, prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    channel, relay = fanout_channel(prefix), Relay(REDIS_URL)
    await relay.up()
    try:
        with caplog.at_level(logging.DEBUG, logger=FANOUT_LOGGER):
            async with server(relay.url, channel, poll_s=0.2, retry_s=0.05, max_retry_s=0.2) as server_a, \
                    server(REDIS_URL, channel) as server_b:
                fanout_a = server_a.fanout
                assert isinstance(fanout_a, RedisFanout)
                phone = FakeSocket("phone")
                server_a.add("u-1001", phone)
                await relay.down()  # Redis is gone, as far as server A can tell
                await until(lambda: not fanout_a.subscribed, "server A to notice")
                await until(lambda: sum("app_fanout_disconnected" in r.getMessage() for r in caplog.records) >= 3,
                            "a few reconnection attempts")
                await relay.up()
                await until(lambda: fanout_a.subscribed, "server A to subscribe again")
                await server_b.push("u-1001", frame("恢复后的回复"))
                await until(lambda: len(phone.frames) >= 1, "the push after the outage")
                assert phone.frames == [frame("恢复后的回复")]
    finally:
        await relay.down()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "disconnected" in r.getMessage()]
    assert len(warnings) == 1 and all(r.exc_info is None for r in caplog.records)  # one line per outage
    assert "app_fanout_reconnected" in caplog.text and "恢复后的回复" not in caplog.text


# --- the app channel on two Sanic servers: what the customer sees ----------------------------------------------------

@asynccontextmanager
async def rasa_server(prefix: str, router: FakeRouter) -> AsyncIterator[tuple[str, AppChannel]]:
    """One Rasa server's app channel in scaled mode; `router` is the routing table the servers share."""
    config = Config()
    config.REGISTER = False
    app = Sanic(f"app-fanout-{uuid.uuid4().hex[:8]}", config=config, configure_logging=False)
    settings = load_settings({"APP_TOKEN_SECRET": SECRET, "REDIS_URL": REDIS_URL, "QUEUE_PREFIX": prefix})
    rasa = StandInRasa()
    channel = AppChannel(settings=settings, gate=FakeGate(router), router=router,  # type: ignore[arg-type]
                         events=rasa.events_of)
    app.ctx.agent = rasa
    register([channel], app, route="/webhooks/")
    async with serving(app) as url:
        yield url, channel


@pytest.mark.redis
async def test_an_agent_reply_arriving_through_server_b_reaches_the_app_connected_to_server_a(
        raw: aioredis.Redis, prefix: str) -> None:
    router = FakeRouter()
    async with rasa_server(prefix, router) as (url_a, _), rasa_server(prefix, router) as (url_b, channel_b):
        phone = AppClient(url_a, app_token(SECRET, "u-1001", "C001"))
        await phone.send("转人工")  # through server A: the app user's conversation is conv-C001
        async with phone.live() as live_a, AppClient(url_b, phone.token).live() as live_b:
            output = channel_b.get_output_channel()  # the desk's trigger_intent landed on server B
            assert output is not None
            await output.send_response("conv-C001", dict(REPLY))
            expected = {"type": "bot", "text": REPLY["text"], "buttons": [], "custom": None, "from_agent": True}
            assert await live_a.next() == expected
            assert await live_b.next() == expected
            for live in (live_a, live_b):  # and nothing twice: the next frame is the answer to a ping
                await live.send({"type": "ping"})
                assert await live.next() == {"type": "pong"}
    channel = fanout_channel(prefix)
    assert await raw.pubsub_numsub(channel) == [(channel, 0)]  # both servers' subscribers stopped with them
