"""The agents' WebSocket (desk/agent_socket.py): the token comes in the first frame, never in the URL; logging out,
a new password or an expired token closes the socket."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest

from desk.auth import TokenIssuer
from service.desk_client import bot_token
from tests.desk_harness import Desk, MovableClock
from tests.socket_harness import AgentSocket, handoff_desk

UNAUTHORIZED = 4401


@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    async with handoff_desk(tmp_path, desk_clock) as running:
        yield running


def is_error(event: dict[str, object]) -> bool:
    return event.get("type") == "error"


async def test_the_first_frame_authenticates(desk: Desk) -> None:
    socket = await AgentSocket.open(desk, await desk.login("agent2"))
    hello = await socket.next(lambda e: e.get("type") == "hello")
    assert (hello["me"]["username"], hello["me"]["role"]) == ("agent2", "坐席")
    assert (await socket.send(type="status", status="忙碌"))["type"] == "ok"
    await socket.ws.close()


async def test_a_token_in_the_url_is_refused(desk: Desk) -> None:
    token = await desk.login("agent2")
    socket = await AgentSocket.open(desk, token, query=f"?token={token}")
    error = await socket.next(is_error)
    assert (error["error"], error["code"]) == ("unauthorized", "token_in_url")
    assert await socket.closed() == UNAUTHORIZED
    assert not desk.app.ctx.agent_sockets.sockets


@pytest.mark.parametrize("first, code", [
    ({"type": "ping"}, "auth_expected"),
    ("not json", "auth_expected"),
    ({"type": "auth"}, "missing_token"),
    ({"type": "auth", "token": "not-a-jwt"}, "invalid_token"),
])
async def test_a_bad_first_frame_is_refused(desk: Desk, first: object, code: str) -> None:
    socket = await AgentSocket.open(desk, None, first=first)
    error = await socket.next(is_error)
    assert (error["type"], error["error"], error["code"]) == ("error", "unauthorized", code) and error["reason"]
    assert await socket.closed() == UNAUTHORIZED


async def test_strangers_bot_tokens_and_stale_tokens_are_refused(desk: Desk) -> None:
    member = desk.app.ctx.staff.get("agent2")
    expired = TokenIssuer(desk.app.ctx.test_secret, now=lambda: time.time() - 9 * 3600).issue(member)[0]
    forged = jwt.encode({"sub": "agent2", "role": "坐席", "exp": time.time() + 60}, "x" * 40, algorithm="HS256")
    for token, code in ((bot_token(desk.app.ctx.test_secret), "invalid_token"), (expired, "token_expired"),
                        (forged, "invalid_token")):
        socket = await AgentSocket.open(desk, token)
        assert (await socket.next(is_error))["code"] == code
        assert await socket.closed() == UNAUTHORIZED


async def test_no_auth_frame_in_time_closes_the_socket(desk: Desk) -> None:
    desk.app.ctx.socket_auth_timeout_s = 0.2
    socket = await AgentSocket.open(desk, None, first="")
    assert (await socket.next(is_error))["code"] == "auth_timeout"
    assert await socket.closed() == UNAUTHORIZED


async def test_logging_out_closes_that_tokens_sockets_only(desk: Desk) -> None:
    token, other = await desk.login("agent2"), await desk.login("supervisor")
    mine, theirs = await AgentSocket.open(desk, token), await AgentSocket.open(desk, other)
    for socket in (mine, theirs):
        await socket.next(lambda e: e.get("type") == "hello")
    assert (await desk.call("POST", "/api/auth/logout", token))[0] == 200
    assert (await mine.next(is_error))["code"] == "token_revoked"
    assert await mine.closed() == UNAUTHORIZED
    assert (await theirs.send(type="status", status="忙碌"))["type"] == "ok"
    again = await AgentSocket.open(desk, token)  # a revoked token does not open a new one either
    assert (await again.next(is_error))["code"] == "token_revoked"
    await theirs.ws.close()


async def test_the_sweep_closes_sockets_of_tokens_ended_elsewhere(desk: Desk) -> None:
    """A new password set with python -m desk.staff (or a logout on another desk) closes open sockets too."""
    socket = await AgentSocket.open(desk, await desk.login("agent2"))
    await socket.next(lambda e: e.get("type") == "hello")
    sockets = desk.app.ctx.agent_sockets
    assert await sockets.sweep(desk.app.ctx.revocations.still_valid) == 0
    desk.app.ctx.staff.set_password("agent2", "a-new-password")
    assert await sockets.sweep(desk.app.ctx.revocations.still_valid) == 1
    assert (await socket.next(is_error))["code"] == "token_revoked"
    assert await socket.closed() == UNAUTHORIZED
