"""The socket.io manager of scaled mode: this server's sockets get its replies even while Redis is away, once each."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from socketio import packet

from connectors.socketio_manager import LocalFirstRedisManager


class StubServer:
    """What the manager needs of python-socketio's server: the packet class and a way to write to a socket."""

    packet_class = packet.Packet

    def __init__(self) -> None:
        self.written: list[tuple[str, Any]] = []
        self.eio = SimpleNamespace(generate_id=lambda: "sid-customer")

    async def _send_eio_packet(self, eio_sid: str, eio_packet: Any) -> None:
        self.written.append((eio_sid, json.loads(eio_packet.data[1:])))  # '2["event", data]': what the socket reads


class RedisAway(LocalFirstRedisManager):
    """Publishing goes nowhere, as while Redis restarts; what would have been published is kept to replay."""

    def __init__(self) -> None:
        super().__init__("redis://127.0.0.1:1/0", channel="test:socketio")
        self.published: list[dict[str, Any]] = []

    async def _publish(self, data: dict[str, Any]) -> None:
        self.published.append(data)


def manager_with_customer() -> tuple[RedisAway, StubServer]:
    manager, server = RedisAway(), StubServer()
    manager.set_server(server)
    sid = manager.connect("eio-customer", "/")
    manager.enter_room(sid, "/", "session-1")
    return manager, server


def test_a_reply_reaches_the_customer_on_this_server_while_redis_is_away() -> None:
    manager, server = manager_with_customer()
    asyncio.run(manager.emit("bot_uttered", {"text": "运费满99元包邮"}, room="session-1"))
    assert len(server.written) == 1
    assert server.written[0] == ("eio-customer", ["bot_uttered", {"text": "运费满99元包邮"}])
    assert manager.published and manager.published[0]["room"] == "session-1"  # the other servers are told too


def test_the_servers_own_publication_coming_back_is_not_written_twice() -> None:
    manager, server = manager_with_customer()
    asyncio.run(manager.emit("bot_uttered", {"text": "您好"}, room="session-1"))
    asyncio.run(manager._handle_emit(manager.published[0]))
    assert len(server.written) == 1


def test_a_reply_sent_through_another_server_reaches_the_customer_here() -> None:
    manager, server = manager_with_customer()
    other = RedisAway()
    asyncio.run(other.emit("bot_uttered", {"text": "坐席小王：您好"}, room="session-1"))  # no socket there
    asyncio.run(manager._handle_emit(other.published[0]))
    assert server.written == [("eio-customer", ["bot_uttered", {"text": "坐席小王：您好"}])]


def test_an_emit_to_nobody_here_writes_nothing_and_is_published() -> None:
    manager, server = manager_with_customer()
    asyncio.run(manager.emit("bot_uttered", {"text": "您好"}, room="session-2"))
    assert server.written == [] and len(manager.published) == 1
