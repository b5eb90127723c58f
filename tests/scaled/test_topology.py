"""The scaled topology as processes (scripts/scaled.py): nginx in front of two Rasa servers and two desks.

One set for the module, on free ports, with a database, a Redis prefix and a RabbitMQ queue of its own (all
removed afterwards): what nginx publishes and what it does not, a customer's conversation through nginx, and an
agent's reply that reaches a customer on one Rasa server although the desk handed it to the other.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
import pytest

from scripts.launch import http
from scripts.scaled import Topology
from service.identity import signed_metadata
from tests.socket_harness import AgentSocket
from tests.widget_socket import WidgetSocket, widget_socket

pytestmark = pytest.mark.scaled
STEP_S = 20.0


def zhang(topology: Topology) -> dict[str, Any]:
    """张伟 (C001), signed by the shop's page as scaled mode requires."""
    return signed_metadata(topology.settings.identity_secret or "", customer_id="C001")


def session_id() -> str:
    return f"scaled-{uuid.uuid4().hex[:16]}"


async def said(socket: WidgetSocket, contains: str, timeout_s: float = STEP_S) -> dict[str, Any]:
    """The first bot message containing `contains` that reaches the customer's socket."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    seen: list[dict[str, Any]] = []
    while loop.time() < deadline and not socket.ws.closed:
        seen += await socket.bot_messages(until_quiet_s=0.5, timeout_s=max(0.5, deadline - loop.time()))
        found = [message for message in seen if contains in (message.get("text") or "")]
        if found:
            return found[0]
    raise AssertionError(f"no message with {contains!r} reached the customer; got {[m.get('text') for m in seen]}")


async def agent_on(session: aiohttp.ClientSession, desk_url: str, username: str = "agent2") -> AgentSocket:
    async with session.post(f"{desk_url}/api/auth/token", json={"username": username, "password": "xiaozhi-demo"}) as r:
        assert r.status == 200, await r.text()
        token = (await r.json())["token"]
    ws = await session.ws_connect(f"{desk_url.replace('http', 'ws', 1)}/ws/agent")
    await ws.send_str(json.dumps({"type": "auth", "token": token}))
    agent = AgentSocket(ws, step_s=STEP_S)
    await agent.next(lambda e: e.get("type") == "hello")
    return agent


def test_nginx_serves_the_chat_page_and_the_console_but_not_rasas_api(topology: Topology) -> None:
    status, page = http("GET", f"{topology.url}/chat/")
    assert status == 200 and "<html" in page.lower()
    assert http("GET", f"{topology.url}/chat/vendor/socket.io.min.js")[0] == 200  # the widget's client, whole
    status, console = http("GET", f"{topology.url}/console/")
    assert status == 200 and "<html" in console.lower()
    headers = topology.rasa_headers()
    for path in ("/status", "/conversations/someone/tracker", "/webhooks/rest/webhook"):
        assert http("GET", f"{topology.url}{path}", headers=headers)[0] == 404, path
    for rasa in topology.rasa_urls:  # the servers answer it themselves, on the internal network, with a JWT
        assert http("GET", f"{rasa}/status", headers=headers)[0] == 200


async def test_a_customer_talks_to_the_bot_through_nginx(topology: Topology) -> None:
    session = session_id()
    async with widget_socket(topology.url, session) as socket:
        await socket.emit("user_uttered", {"session_id": session, "message": "查一下E202611010001的物流",
                                           "metadata": zhang(topology)})
        reply = await said(socket, "SF1234567890")
        assert "杭州转运中心" in reply["text"]


async def test_an_agent_reply_handed_to_one_rasa_server_reaches_a_customer_on_the_other(topology: Topology) -> None:
    # desk2 sends what agents say through rasa2 (its RASA_URL); the customer's socket is on rasa1.
    session = session_id()
    async with aiohttp.ClientSession() as http_session, widget_socket(topology.rasa_urls[0], session) as customer:
        agent = await agent_on(http_session, topology.desk_urls[1])
        assert (await agent.send(type="status", status="在线"))["type"] == "ok"
        await customer.emit("user_uttered", {"session_id": session, "message": "转人工", "metadata": zhang(topology)})
        await said(customer, "小李")  # queued for, or already joined by, 小李 (agent2)
        assigned = await agent.next(lambda e: e.get("type") == "assigned")
        chat = assigned["session"]["session_id"]

        await customer.emit("user_uttered", {"session_id": session, "message": "我的快递怎么还没到",
                                             "metadata": zhang(topology)})
        relayed = await agent.next(lambda e: e.get("type") == "customer_message")
        assert relayed["session_id"] == chat and relayed["text"] == "我的快递怎么还没到"

        assert (await agent.send(type="reply", session_id=chat, text="您好，我帮您催一下顺丰"))["type"] == "ok"
        reply = await said(customer, "您好，我帮您催一下顺丰")
        assert reply.get("from_agent") is True
        assert (await agent.send(type="end", session_id=chat, summary="已处理"))["type"] == "ok"
        await said(customer, "请为刚才的人工服务打个分")
        await agent.ws.close()
