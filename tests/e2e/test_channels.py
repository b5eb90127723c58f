"""One customer across WeChat and the app, on the running stack, against a fake WeChat API server on loopback.

张伟 asks about E202611010001 on WeChat, proves his phone with the SMS code, then asks 「那什么时候能到」 in the
app and is answered for the same order without being asked again. A handoff 李娜 started on WeChat follows her:
the agent's reply reaches the app once she writes from there (and not WeChat), and the agent sees which
channel each message came from.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator

import aiohttp
import pytest

from scripts.launch import Stack, StackError, always_open_handoff, start_stack
from service.sms import last_message_to
from tests.app_client import AppClient, app_token
from tests.fake_wechat import FakeWeChat
from tests.socket_harness import AgentSocket
from tests.wechat_push import WeChatPusher

pytestmark = pytest.mark.e2e
TOKEN = "wechat-e2e-token"
STEP_S = 20.0


class WeChatUser:
    """One WeChat user writing to the Official Account: each push signed as WeChat signs it."""

    def __init__(self, stack: Stack, fake: FakeWeChat, pusher: WeChatPusher) -> None:
        self.openid = f"oE2E{uuid.uuid4().hex[:24]}"
        self.url = f"{stack.rasa_url}/webhooks/wechat/webhook"
        self.fake = fake
        self.pusher = pusher

    async def say(self, text: str) -> str:
        """What the user sees in answer: the passive reply, and what came through the customer-service API."""
        before = len(self.fake.texts_to(self.openid))
        query, body = self.pusher.text(self.openid, text)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.post(f"{self.url}?{query}", data=body) as answer:
                assert answer.status == 200, await answer.text()
                raw = await answer.read()
        shown = [] if raw in (b"", b"success") else [self.pusher.reply_text(raw, query)]
        await asyncio.sleep(0.3)  # anything sent through the API after the passive reply
        deadline = time.monotonic() + STEP_S
        while not shown and time.monotonic() < deadline and len(self.fake.texts_to(self.openid)) == before:
            await asyncio.sleep(0.1)
        return "\n".join(shown + self.fake.texts_to(self.openid)[before:])


@pytest.fixture(scope="module")
def fake_wechat() -> Iterator[FakeWeChat]:
    fake = FakeWeChat()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fake_wechat: FakeWeChat) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("channels")
    env = {"XIAOZHI_TODAY": "2026-11-21", "HANDOFF_CONFIG": str(always_open_handoff(work)), "IDENTITY_SECRET": "",
           "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": fake_wechat.app_id, "WECHAT_APP_SECRET": fake_wechat.secret,
           "WECHAT_API_BASE": fake_wechat.base_url, "APP_TOKEN_SECRET": secrets.token_urlsafe(48)}
    try:
        running = start_stack(work, env, desks=1)
    except StackError as error:
        pytest.fail(str(error))
    yield running
    running.stop()


def sms_code(stack: Stack, phone: str) -> str:
    text = last_message_to(stack.settings.sms_outbox, phone)
    assert text, f"no SMS to {phone}"
    found = re.search(r"\d{6}", text)
    assert found
    return found.group(0)


def app_client(stack: Stack, customer_id: str = "C001") -> AppClient:
    secret = stack.env["APP_TOKEN_SECRET"]
    return AppClient(stack.rasa_url, app_token(secret, f"app-{uuid.uuid4().hex[:12]}", customer_id))


def texts(frames: list[dict]) -> str:
    return "\n".join(str(f.get("text") or "") for f in frames)


async def prove_phone(stack: Stack, user: WeChatUser, phone: str) -> str:
    """The customer asks where a parcel is and proves the phone with the SMS code; the answer to the code."""
    asked = await user.say("我的快递到哪了")
    assert "手机号" in asked, asked
    sent = await user.say(phone)
    assert "验证码" in sent, sent
    proven = await user.say(sms_code(stack, phone))
    assert "验证成功" in proven, proven
    return proven


async def prove_on_wechat(stack: Stack, user: WeChatUser) -> None:
    """张伟 proves his phone on WeChat; his one shipped order, E202611010001, is the parcel he asked about."""
    proven = await prove_phone(stack, user, "13800138000")
    assert "E202611010001" in proven and "SF1234567890" in proven and "杭州转运中心" in proven, proven


async def test_a_customer_proven_on_wechat_continues_in_the_app_without_repeating(
        stack: Stack, fake_wechat: FakeWeChat) -> None:
    user = WeChatUser(stack, fake_wechat, WeChatPusher(TOKEN))
    await prove_on_wechat(stack, user)

    app = app_client(stack)
    answer = texts(await app.send("那什么时候能到"))

    assert "哪个订单" not in answer and "手机号" not in answer and "验证码" not in answer, answer
    assert "E202611010001" in answer and "送达" in answer, answer
    history = await app.history()  # the app shows the WeChat part of the conversation too
    said = [(m.get("channel"), m.get("text")) for m in history if m.get("type") == "user"]
    assert ("wechat", "我的快递到哪了") in said and ("app", "那什么时候能到") in said, said


async def agent_socket(session: aiohttp.ClientSession, desk_url: str) -> AgentSocket:
    async with session.post(f"{desk_url}/api/auth/token", json={"username": "agent2", "password": "xiaozhi-demo"}) as r:
        token = (await r.json())["token"]
    ws = await session.ws_connect(f"{desk_url.replace('http', 'ws')}/ws/agent")
    await ws.send_str(json.dumps({"type": "auth", "token": token}))
    agent = AgentSocket(ws, step_s=STEP_S)
    await agent.next(lambda e: e.get("type") == "hello")
    return agent


async def test_an_agent_reply_to_a_handoff_started_on_wechat_reaches_the_app(
        stack: Stack, fake_wechat: FakeWeChat) -> None:
    user = WeChatUser(stack, fake_wechat, WeChatPusher(TOKEN))
    async with aiohttp.ClientSession() as session:
        agent = await agent_socket(session, stack.urls["desk"])
        assert (await agent.send(type="status", status="在线"))["type"] == "ok"
        await prove_phone(stack, user, "13900139000")  # 李娜 (C002): a code per phone a minute, so not 张伟 again
        assert "人工客服" in await user.say("转人工")
        assigned = await agent.next(lambda e: e.get("type") == "assigned")
        session_id = assigned["session"]["session_id"]

        app = app_client(stack, "C002")
        async with app.live() as live:
            await app.send("我换到App上跟你说")
            relayed = await agent.next(lambda e: e.get("type") == "customer_message")
            assert (relayed["text"], relayed["channel"]) == ("我换到App上跟你说", "app")

            on_wechat = len(fake_wechat.texts_to(user.openid))
            assert (await agent.send(type="reply", session_id=session_id, text="好的，我在App上回复您"))["type"] == "ok"
            push = await live.next(lambda f: "好的，我在App上回复您" in str(f.get("text") or ""), timeout_s=STEP_S)
            assert push["type"] == "bot"
            assert not any("好的，我在App上回复您" in t for t in fake_wechat.texts_to(user.openid)[on_wechat:])
        assert (await agent.send(type="end", session_id=session_id, summary="已处理"))["type"] == "ok"
        await agent.ws.close()

