"""A whole handoff with every process running: a REST customer, an agent on the WebSocket.

request human → queued with a position → the agent accepts → messages both ways (the agent
sees the customer's intent) → the agent ends → the bot asks for a rating → rating stored.
Then the same walk with two desk processes sharing the queue through Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scripts.launch import Stack, StackError, always_open_handoff, http, start_stack
from service.identity import signed_metadata
from tests.socket_harness import AgentSocket

pytestmark = pytest.mark.e2e
STEP_S = 15.0


def stack_env(work: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    config = always_open_handoff(work)
    return {"XIAOZHI_TODAY": "2026-11-21", "HANDOFF_CONFIG": str(config), "IDENTITY_SECRET": "", **(extra or {})}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("handoff")
    try:
        stack = start_stack(work, stack_env(work), desks=1)
    except StackError as error:
        pytest.fail(str(error))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"xiaozhi-test-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("handoff-redis")
    # Redis makes it the scaled mode: the shop signs its customers, and there are no demo accounts.
    shop_secret = secrets.token_urlsafe(32)
    try:
        stack = start_stack(work, stack_env(work, {"REDIS_URL": url, "QUEUE_PREFIX": prefix,
                                                   "IDENTITY_SECRET": shop_secret}), desks=2)
    except StackError as error:
        pytest.fail(str(error))
    from desk.auth import Role, StaffDirectory, StaffMember
    from service.db import make_engine

    StaffDirectory(make_engine(stack.settings.database_url)).add(
        StaffMember("agent2", "小李", Role.AGENT, "物流部"), "xiaozhi-demo")
    yield stack
    stack.stop()
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def say(stack: Stack, sender: str, text: str) -> str:
    """张伟 (C001) on the shop's page: signed by the shop when the stack has IDENTITY_SECRET, else a plain claim."""
    secret = stack.settings.identity_secret
    metadata = signed_metadata(secret, customer_id="C001") if secret else {"customer_id": "C001"}
    status, replies = http("POST", f"{stack.rasa_url}/webhooks/rest/webhook",
                           {"sender": sender, "message": text, "metadata": metadata})
    assert status == 200, replies
    return "\n".join(r.get("text", "") for r in replies)


def bot_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    status, tracker = http("GET", f"{stack.rasa_url}/conversations/{sender}/tracker", headers=stack.rasa_headers())
    assert status == 200
    return [e for e in tracker["events"] if e["event"] == "bot"]


async def wait_for_bot(stack: Stack, sender: str, contains: str, timeout_s: float = STEP_S) -> dict[str, Any]:
    """A bot message pushed by the desk (agent joined, agent reply, end) as a REST client would poll it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for event in bot_events(stack, sender):
            if contains in (event.get("text") or ""):
                return event
        await asyncio.sleep(0.2)
    raise AssertionError(f"no bot message containing {contains!r}; got {[e.get('text') for e in bot_events(stack, sender)]}")


async def agent_socket(session: aiohttp.ClientSession, desk_url: str, username: str = "agent2") -> AgentSocket:
    async with session.post(f"{desk_url}/api/auth/token", json={"username": username, "password": "xiaozhi-demo"}) as r:
        token = (await r.json())["token"]
    ws = await session.ws_connect(f"{desk_url.replace('http', 'ws')}/ws/agent")
    await ws.send_str(json.dumps({"type": "auth", "token": token}))  # the token goes in the first frame, not the URL
    agent = AgentSocket(ws, step_s=STEP_S)
    await agent.next(lambda e: e.get("type") == "hello")
    return agent


async def walk(stack: Stack, agent_desk: str, sender: str) -> None:
    async with aiohttp.ClientSession() as session:
        agent = await agent_socket(session, agent_desk)
        assert (await agent.send(type="status", status="忙碌"))["type"] == "ok"

        say(stack, sender, "查一下E202611010001的物流")
        queued = say(stack, sender, "转人工")
        assert "您前面还有 1 位" in queued and "预计等待" in queued

        waiting = await agent.next(lambda e: e.get("type") == "queue" and e["waiting"])
        [entry] = [w for w in waiting["waiting"]]
        assert entry["summary"] == "客户询问订单E202611010001物流，机器人已告知在杭州转运中心，客户要求人工"
        picked = await agent.send(type="pick", session_id=entry["session_id"])
        assert picked["type"] == "ok", picked  # the desk's reason, if it refuses
        assigned = await agent.next(lambda e: e.get("type") == "assigned")
        context = assigned["session"]["context"]
        assert context["customer"]["phone"] == "138****8000"  # masked for 坐席
        assert context["slots"]["order_id"] == "E202611010001"
        await wait_for_bot(stack, sender, "已接入")

        say(stack, sender, "我的快递怎么还没到")
        relayed = await agent.next(lambda e: e.get("type") == "customer_message")
        assert relayed["text"] == "我的快递怎么还没到" and relayed["intent"] == "query_logistics"

        assert (await agent.send(type="reply", session_id=entry["session_id"], text="您好，我帮您催一下顺丰"))["type"] == "ok"
        reply = await wait_for_bot(stack, sender, "您好，我帮您催一下顺丰")
        assert reply["metadata"]["from_agent"] is True

        assert (await agent.send(type="end", session_id=entry["session_id"], summary="已处理"))["type"] == "ok"
        await wait_for_bot(stack, sender, "请为刚才的人工服务打个分")
        assert "感谢您的评价" in say(stack, sender, "5分")
        await agent.ws.close()

    from handoff.records import HandoffRecords
    from service.clock import Clock
    from service.db import make_engine

    records = HandoffRecords(make_engine(f"sqlite:///{stack.work / 'xiaozhi.db'}"), Clock())
    session_record = records.get(entry["session_id"])
    assert (session_record.status, session_record.rating) == ("ended", 5)
    assert session_record.assigned_at and session_record.first_agent_reply_at and session_record.ended_at
    assert [m.direction for m in records.messages(entry["session_id"])] == ["customer", "agent"]


async def test_full_handoff_embedded(embedded: Stack) -> None:
    await walk(embedded, embedded.urls["desk"], f"e2e-handoff-{uuid.uuid4().hex[:6]}")


async def test_a_free_agent_takes_the_customer_at_once(embedded: Stack) -> None:
    sender = f"e2e-handoff-free-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as session:
        agent = await agent_socket(session, embedded.urls["desk"])
        assert (await agent.send(type="status", status="在线"))["type"] == "ok"
        answer = say(embedded, sender, "转人工")
        assert "正在为您转接人工客服小李" in answer, answer  # not "no agent free": the desk answered in time
        assigned = await agent.next(lambda e: e.get("type") == "assigned")
        await wait_for_bot(embedded, sender, "人工客服小李已接入")
        say(embedded, sender, "我的快递怎么还没到")
        relayed = await agent.next(lambda e: e.get("type") == "customer_message")
        assert relayed["session_id"] == assigned["session"]["session_id"] and relayed["text"] == "我的快递怎么还没到"
        assert (await agent.send(type="end", session_id=relayed["session_id"], summary="已处理"))["type"] == "ok"
        await agent.ws.close()


@pytest.mark.redis
async def test_full_handoff_with_two_desks_on_redis(scaled: Stack) -> None:
    # The bot talks to the first desk; the agent is connected to the second one.
    await walk(scaled, scaled.urls["desk1"], f"e2e-handoff-redis-{uuid.uuid4().hex[:6]}")
