"""WeChat's passive-reply rate, and how long an agent's reply takes to reach each channel.

Starts its own embedded stack in a temporary directory (WeChat on, against the fake WeChat API server of
tests/fake_wechat.py on loopback; the app channel on; one desk, handoff open all day; XIAOZHI_TODAY=2026-11-21).

1. Passive replies: --wechat-users WeChat users at once, each sending --wechat-messages messages (seeded think
   pauses). WeChat waits 5 s for the answer to a push; an answer in the response body within that time is a
   passive reply; otherwise the channel answers "success" and sends later through the customer-service API.
2. Relay: for each channel (socketio, wechat, app), --relay-customers customers ask for a person; bench agents
   (物流, capacity 5) take them; each agent sends --replies replies. Timed from the agent's command to the
   customer's side: the socket.io frame, the fake WeChat server receiving the customer-service message, the
   app's WebSocket frame.

Prints JSON. Figures, not tests.

    python bench/channels.py [--wechat-users 20] [--wechat-messages 5] [--think-s 1] [--relay-customers 5]
                             [--replies 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import secrets
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.handoff import CAPACITY, Agent, Customer, Inbox, _engineio_websocket_compat, add_agents, summary  # noqa: E402
from scripts.launch import MODEL, Stack, always_open_handoff, start_stack  # noqa: E402
from service.privacy import conversation_ref  # noqa: E402
from tests.app_client import AppClient, LiveSocket, app_token  # noqa: E402
from tests.fake_wechat import FakeWeChat  # noqa: E402
from tests.wechat_push import WeChatPusher  # noqa: E402

TOKEN = "wechat-bench-token"
WECHAT_WAIT_S = 5.0  # what WeChat waits for a passive reply
STEP_S = 20.0
THINK_S = 1.0  # mean pause before each WeChat message (±50%, seeded); people type slower: try --think-s 5
WARMUP = 1  # replies per chat before measuring (as bench/handoff.py)
LINES = ("你好", "查一下E202611010001的物流", "退货政策是什么", "发票怎么开", "你们几点下班", "谢谢")
POLL_S = 0.002  # the fake WeChat server is polled this often for a customer-service message


class WeChatCustomer:
    def __init__(self, stack: Stack, fake: FakeWeChat, pusher: WeChatPusher, number: int) -> None:
        self.number = number
        self.openid = f"oBENCH{number:03d}{uuid.uuid4().hex[:18]}"
        self.url = f"{stack.rasa_url}/webhooks/wechat/webhook"
        self.fake = fake
        self.pusher = pusher

    async def push(self, http: aiohttp.ClientSession, text: str) -> tuple[float, bool]:
        """(seconds until WeChat had its answer, whether it was a passive reply)."""
        query, body = self.pusher.text(self.openid, text)
        started = time.perf_counter()
        async with http.post(f"{self.url}?{query}", data=body) as answer:
            raw = await answer.read()
            status = answer.status
        took = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"webhook answered {status}")
        return took, raw not in (b"", b"success") and took <= WECHAT_WAIT_S

    async def received(self, token: str, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(token in text for text in self.fake.texts_to(self.openid)):
                return time.perf_counter()
            await asyncio.sleep(POLL_S)
        raise asyncio.TimeoutError(token)


async def passive_rate(stack: Stack, fake: FakeWeChat, users: int, messages: int, think_s: float) -> dict[str, Any]:
    pusher = WeChatPusher(TOKEN)
    customers = [WeChatCustomer(stack, fake, pusher, n) for n in range(users)]
    took: list[float] = []
    passive, errors = 0, []

    async def one(customer: WeChatCustomer, http: aiohttp.ClientSession) -> None:
        nonlocal passive
        rng = random.Random(customer.number)
        for index in range(messages):
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
            try:
                seconds, was_passive = await customer.push(http, LINES[(customer.number + index) % len(LINES)])
            except Exception as error:  # counted, not fatal
                errors.append(f"{type(error).__name__}: {error}")
                continue
            took.append(seconds * 1000)
            passive += was_passive

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(one(c, http) for c in customers))
    pushes = users * messages
    return {"users": users, "messages_each": messages, "think_s": f"{think_s} ±50%", "pushes": pushes, "passive": passive,
            "passive_rate": round(passive / pushes, 3) if pushes else None,
            "webhook_answer_ms": summary(took), "errors": len(errors), "error_samples": errors[:5]}


class AppCustomer:
    def __init__(self, stack: Stack, number: int) -> None:
        self.sub = f"bench-app-{number:03d}-{uuid.uuid4().hex[:8]}"
        customer_id = f"C{number + 3:03d}"  # C003…: each a customer of the demo data of its own
        self.client = AppClient(stack.rasa_url, app_token(stack.env["APP_TOKEN_SECRET"], self.sub, customer_id))
        self.inbox = Inbox()
        self._live: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._live = self.client.live()
        socket: LiveSocket = await self._live.__aenter__()

        async def read() -> None:
            while True:
                frame = await socket.next(timeout_s=3600)
                await self.inbox.put(str(frame.get("text") or ""))

        self._reader = asyncio.create_task(read())

    async def say(self, text: str) -> None:
        for frame in await self.client.send(text):
            await self.inbox.put(str(frame.get("text") or ""))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._live is not None:
            await self._live.__aexit__(None, None, None)


async def relay_times(stack: Stack, fake: FakeWeChat, agent_names: list[str], channel: str, customers: int,
                      replies: int) -> dict[str, Any]:
    """Agent → customer time on one channel, `customers` handoffs × `replies` replies."""
    assigned: dict[str, asyncio.Future[tuple[Agent, str]]] = {}
    samples: list[float] = []
    first: list[float] = []  # each chat's first reply, apart: it pays for warming the conversation up
    errors: list[str] = []
    pusher = WeChatPusher(TOKEN)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        agents = list(await asyncio.gather(*(Agent.connect(http, stack.urls["desk"], u, assigned) for u in agent_names)))
        people: list[Any] = []
        try:
            for n in range(customers):
                if channel == "socketio":
                    person: Any = Customer(n)
                    await person.open(stack.rasa_url)
                    key = person.sender
                elif channel == "app":
                    person = AppCustomer(stack, n)
                    await person.open()
                    key = person.sub
                else:
                    person = WeChatCustomer(stack, fake, pusher, 100 + n)
                    key = person.openid
                people.append((person, key))
            await asyncio.gather(*(ask_for_agent(p, channel, http) for p, _ in people))
            chats = []
            for person, key in people:
                future = assigned.setdefault(conversation_ref(key), asyncio.get_running_loop().create_future())
                try:
                    agent, session_id = await asyncio.wait_for(future, STEP_S)
                except asyncio.TimeoutError:
                    seen = [(e.get("type"), (e.get("session") or {}).get("context", {}).get("sender_id"))
                            for a in agents for _, e in a.inbox.items]
                    raise RuntimeError(f"{channel}: {key} not assigned; agents saw {seen[-8:]}; "
                                       f"customer saw {[i for _, i in getattr(person, 'inbox', Inbox()).items][-4:]}") from None
                chats.append((person, agent, session_id))

            async def converse(person: Any, agent: Agent, session_id: str, number: int) -> None:
                for index in range(replies + WARMUP):
                    await asyncio.sleep(0.3)
                    token = f"[r{number:02d}-{index:02d}]"
                    since = len(person.inbox.items) if channel != "wechat" else 0
                    sent = time.perf_counter()
                    await agent.send(type="reply", session_id=session_id, text=f"好的，我帮您查一下 {token}")
                    try:
                        if channel == "wechat":
                            at = await person.received(token, STEP_S)
                        else:
                            at, _ = await person.inbox.wait(lambda t, t_=token: t_ in t, STEP_S, since)
                        if index >= WARMUP:
                            samples.append((at - sent) * 1000)
                        else:
                            first.append((at - sent) * 1000)
                    except asyncio.TimeoutError:
                        errors.append(f"timeout {token}")

            await asyncio.gather(*(converse(p, a, s, n) for n, (p, a, s) in enumerate(chats)))
            for _person, agent, session_id in chats:
                await agent.command(type="end", session_id=session_id)
        finally:
            for person, _ in people:
                if channel == "socketio":
                    await person.sio.disconnect()
                elif channel == "app":
                    await person.close()
            await asyncio.gather(*(a.close() for a in agents), return_exceptions=True)
    return {"customers": customers, "replies_each": replies, "agent_to_customer_ms": summary(samples),
            "first_reply_ms": summary(first),
            "errors": len(errors), "error_samples": errors[:5]}


async def ask_for_agent(person: Any, channel: str, http: aiohttp.ClientSession) -> None:
    if channel == "wechat":
        await person.push(http, "转人工")
        return
    since = len(person.inbox.items)
    await person.say("转人工")
    await person.inbox.wait(lambda t: "转接人工客服" in t or "已接入" in t, STEP_S, since)


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"notes": [
        "embedded stack, one Rasa process, one desk; the fake WeChat server answers at once (no internet latency)",
        f"a passive reply is an answer in the webhook's response within {WECHAT_WAIT_S:.0f} s; the channel's own "
        "budget is shorter, so that a slow turn answers 'success' in time and sends through the API",
        f"WeChat relay times are measured by polling the fake server every {POLL_S * 1000:.0f} ms"]}
    fake = FakeWeChat()
    fake.start()
    stack = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp:
            work = Path(tmp)
            env = {"XIAOZHI_TODAY": "2026-11-21", "HANDOFF_CONFIG": str(always_open_handoff(work)),
                   "IDENTITY_SECRET": "", "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": fake.app_id,
                   "WECHAT_APP_SECRET": fake.secret, "WECHAT_API_BASE": fake.base_url,
                   "APP_TOKEN_SECRET": secrets.token_urlsafe(48), "CHANNEL_RATE_PER_MINUTE": "120"}
            stack = start_stack(work, env, desks=1)
            report["wechat_passive"] = asyncio.run(passive_rate(stack, fake, args.wechat_users, args.wechat_messages,
                                                                args.think_s))
            agents = add_agents(work, math.ceil(args.relay_customers / CAPACITY))
            report["relay"] = {}
            for channel in ("socketio", "wechat", "app"):
                try:
                    report["relay"][channel] = asyncio.run(
                        relay_times(stack, fake, agents, channel, args.relay_customers, args.replies))
                except Exception as error:  # a benchmark reports what went wrong and goes on
                    where = traceback.extract_tb(error.__traceback__)[-1]
                    report["relay"][channel] = {"error": f"{type(error).__name__}: {str(error)[-800:]}",
                                                "at": f"{Path(where.filename).name}:{where.lineno} {where.line}"}
    finally:
        if stack is not None:
            stack.stop()
        fake.stop()
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wechat-users", type=int, default=20)
    parser.add_argument("--wechat-messages", type=int, default=5)
    parser.add_argument("--think-s", type=float, default=THINK_S, help="mean pause before each WeChat message")
    parser.add_argument("--relay-customers", type=int, default=5)
    parser.add_argument("--replies", type=int, default=10)
    args = parser.parse_args(argv)
    if not MODEL.exists():
        print(f"error: no trained model at {MODEL}; train one first (make train)", file=sys.stderr)
        return 2
    _engineio_websocket_compat()
    print(json.dumps(run(args), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
