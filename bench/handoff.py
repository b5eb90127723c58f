"""Relay latency of human handoffs, both ways, with N concurrent customers on socket.io and agents on the desk WebSocket.

Starts its own stack per mode in a temporary directory (handoff.yml open all day, XIAOZHI_TODAY=2026-11-21):
embedded (one desk, in-memory queue) and redis (two desks sharing the queue through the machine's Redis under a fresh
QUEUE_PREFIX, deleted afterwards; the bot talks to desk A, the agents are connected to desk B). Bench agents (物流,
capacity 5 each) take the chats. Each customer asks about an order, says 转人工, and once its agent has joined they
exchange --messages messages each way, alternating, with a think pause before each. Prints JSON: customer→agent and
agent→customer latency p50/p95/p99, relayed messages/s, errors and timeouts, per mode.

    python bench/handoff.py [--handoffs 20] [--messages 10] [--mode embedded|redis|both] [--think-s 1.0]
                            [--assign on-arrival|after-queue]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import redis
import socketio
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desk.auth import Role, StaffDirectory, StaffMember  # noqa: E402
from scripts.launch import MODEL, always_open_handoff, start_stack  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.privacy import conversation_ref  # noqa: E402
from service.tickets.schema import staff  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "xiaozhi-demo"
CAPACITY = 5  # chats per bench agent
STEP_S = 10.0  # longest wait for one relayed message
SETUP_S = 60.0  # longest wait for a setup step: first answer, queueing, an agent joining
THINK_S = 1.0  # mean pause before each message (±50%, seeded)
WARMUP = 1  # exchanges per chat before measuring
TARGET_P95_MS = 100.0
QUESTION = "查一下E202611010001的物流"
ORDER_PHONE_DIGITS = "8000"  # the last four digits of E202611010001's phone (the demo data)
CUSTOMER_LINES = ("我的快递怎么还没到", "能帮我催一下吗", "大概几号能送到", "可以放驿站吗", "好的我再等等")
AGENT_LINES = ("您好，我帮您查一下", "已经帮您催促顺丰了", "预计明天送达", "可以的，我帮您备注", "好的，有问题随时找我")
NOTES = [
    "customers: python-socketio AsyncClient over the websocket transport; agent replies arrive as pushed bot_uttered",
    "python-engineio 4.15 builds aiohttp.ClientWSTimeout, which aiohttp 3.9 lacks: this process adds a stand-in",
    "assign=on-arrival (default): agents are 在线 from the start and take each customer as it asks; "
    "after-queue: agents are 忙碌 while all customers queue, then go 在线 and are assigned automatically",
    "throughput is the paced, offered rate (think pauses included), not the capacity",
]


def _engineio_websocket_compat() -> None:
    """engineio asks for aiohttp.ClientWSTimeout(ws_close=...) (aiohttp >= 3.10); aiohttp 3.9 takes that as a float."""
    if not hasattr(aiohttp, "ClientWSTimeout"):
        setattr(aiohttp, "ClientWSTimeout", lambda ws_close=None, **_: ws_close)  # noqa: B010


class Inbox:
    """What a socket received, with arrival times (perf_counter); bounded waits by predicate."""

    def __init__(self) -> None:
        self.items: list[tuple[float, Any]] = []
        self._arrived = asyncio.Condition()

    async def put(self, item: Any) -> None:
        at = time.perf_counter()
        async with self._arrived:
            self.items.append((at, item))
            self._arrived.notify_all()

    async def wait(self, wanted: Callable[[Any], bool], timeout_s: float, since: int = 0) -> tuple[float, Any]:
        async def find() -> tuple[float, Any]:
            async with self._arrived:
                seen = since
                while True:
                    for at, item in self.items[seen:]:
                        if wanted(item):
                            return at, item
                    seen = len(self.items)
                    await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout_s)


class Customer:
    """A web-widget customer on Rasa's socket.io channel."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.inbox = Inbox()
        self.sender = ""
        self.sio = socketio.AsyncClient(reconnection=False)
        self._confirmed = asyncio.Event()
        self.sio.on("bot_uttered", self._bot)
        self.sio.on("session_confirm", self._confirm)

    async def _bot(self, data: Any) -> None:
        await self.inbox.put(str((data or {}).get("text") or ""))

    async def _confirm(self, _data: Any) -> None:
        self._confirmed.set()

    async def open(self, rasa_url: str) -> None:
        await self.sio.connect(rasa_url, socketio_path="socket.io", transports=["websocket"], wait_timeout=10)
        self.sender = f"bench-{uuid.uuid4().hex[:12]}"  # the widget keeps its own session id across reloads
        await self.sio.emit("session_request", {"session_id": self.sender})
        await asyncio.wait_for(self._confirmed.wait(), SETUP_S)

    async def say(self, text: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.sender, "metadata": {"customer_id": "C001"}})


async def login(http: aiohttp.ClientSession, desk_url: str, username: str) -> str:
    """A staff token; many bench agents log in at once, so a throttled answer (429/503) is retried after Retry-After."""
    for _attempt in range(30):
        async with http.post(f"{desk_url}/api/auth/token", json={"username": username, "password": PASSWORD}) as answer:
            if answer.status not in (429, 503):
                return str((await answer.json())["token"])
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    raise RuntimeError(f"{username}: the desk kept refusing the login")


class Agent:
    """An agent on the desk's /ws/agent; every event lands in the inbox, assignments also in `assigned` (by the
    conversation's pseudonym, which is what staff see)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, assigned: dict[str, asyncio.Future[tuple[Agent, str]]]) -> None:
        self.ws = ws
        self.inbox = Inbox()
        self._assigned = assigned
        self._ids = itertools.count()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, desk_url: str, username: str,
                      assigned: dict[str, asyncio.Future[tuple[Agent, str]]]) -> Agent:
        token = await login(http, desk_url, username)
        ws = await http.ws_connect(f"{desk_url.replace('http', 'ws', 1)}/ws/agent")
        await ws.send_str(json.dumps({"type": "auth", "token": token}))  # the first frame, never the URL
        agent = cls(ws, assigned)
        await agent.inbox.wait(lambda e: e.get("type") == "hello", SETUP_S)
        return agent

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            event = json.loads(message.data)
            await self.inbox.put(event)
            if event.get("type") == "assigned":
                # staff see a pseudonym of the conversation, never its key (service/privacy.conversation_ref)
                conversation = str(event["session"]["context"].get("conversation", ""))
                found = self._assigned.setdefault(conversation, asyncio.get_running_loop().create_future())
                if not found.done():
                    found.set_result((self, event["session"]["session_id"]))

    async def send(self, **command: Any) -> int:
        command_id = next(self._ids)
        await self.ws.send_str(json.dumps({**command, "id": command_id}, ensure_ascii=False))
        return command_id

    async def answer(self, command_id: int, timeout_s: float, since: int = 0) -> tuple[float, dict[str, Any]]:
        return await self.inbox.wait(lambda e: e.get("type") in ("ok", "error") and e.get("id") == command_id, timeout_s, since)

    async def command(self, **command: Any) -> None:
        _, answer = await self.answer(await self.send(**command), SETUP_S)
        if answer["type"] != "ok":
            raise RuntimeError(f"{command['type']}: {answer.get('error')}")

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


class Record:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {"queued": [], "joined": [], "c2a": [], "a2c": [], "ack": []}
        self.errors: list[str] = []
        self.relayed = 0

    def took(self, kind: str, sent: float, at: float, measured: bool = True) -> None:
        if measured:
            self.samples[kind].append((at - sent) * 1000)


def summary(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)

    def rank(q: float) -> float:  # nearest rank
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "mean": round(statistics.fmean(ordered), 1),
            "max": round(ordered[-1], 1), "count": len(ordered)}


def met(latency: dict[str, Any]) -> bool | None:
    return latency["p95"] < TARGET_P95_MS if latency["count"] else None


async def queue_up(customer: Customer, rasa_url: str, record: Record) -> float:
    """Connect, ask about the order, say 转人工; when it was said."""
    await customer.open(rasa_url)
    await customer.say(QUESTION)
    _, answer = await customer.inbox.wait(lambda t: bool(t.strip()), SETUP_S)  # the answer, or a request for proof
    if "后4位" in answer:  # scaled mode believes no unsigned claim: an anonymous visitor proves the order, as in the README
        since = len(customer.inbox.items)
        await customer.say(ORDER_PHONE_DIGITS)
        await customer.inbox.wait(lambda t: "快递单号" in t or "物流" in t, SETUP_S, since)
    since, sent = len(customer.inbox.items), time.perf_counter()
    await customer.say("转人工")
    at, text = await customer.inbox.wait(lambda t: "转接人工客服" in t or "工单" in t, SETUP_S, since)
    if "转接人工客服" not in text:
        raise RuntimeError(f"转人工 answered: {text[:40]}")
    record.took("queued", sent, at)
    return sent


async def converse(customer: Customer, agent: Agent, session_id: str, messages: int, record: Record,
                   think_s: float = THINK_S) -> None:
    """Alternate customer and agent messages; each is timed from sending to the other side's socket."""
    rng = random.Random(customer.number)
    for index in range(messages + WARMUP):
        measured, tag = index >= WARMUP, f"{customer.number:02d}-{index:02d}"
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        token = f"[c{tag}]"
        since, sent = len(agent.inbox.items), time.perf_counter()
        await customer.say(f"{CUSTOMER_LINES[index % len(CUSTOMER_LINES)]} {token}")
        try:
            at, _ = await agent.inbox.wait(lambda e, t=token: e.get("type") == "customer_message" and t in e.get("text", ""),
                                           STEP_S, since)
            record.took("c2a", sent, at, measured)
            record.relayed += 1
        except asyncio.TimeoutError:
            record.errors.append(f"timeout customer→agent {token}")
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        token = f"[a{tag}]"
        text = f"{AGENT_LINES[index % len(AGENT_LINES)]} {token}"
        since, agent_since, sent = len(customer.inbox.items), len(agent.inbox.items), time.perf_counter()
        command_id = await agent.send(type="reply", session_id=session_id, text=text)
        delivered, acked = await asyncio.gather(customer.inbox.wait(lambda t, t_=token: t_ in t, STEP_S, since),
                                                agent.answer(command_id, STEP_S, agent_since), return_exceptions=True)
        if isinstance(delivered, BaseException):
            record.errors.append(f"timeout agent→customer {token}")
        else:
            record.took("a2c", sent, delivered[0], measured)
            record.relayed += 1
        if isinstance(acked, BaseException):
            record.errors.append(f"timeout reply ack {token}")
        elif acked[1]["type"] != "ok":
            record.errors.append(f"reply refused {token}: {acked[1].get('error')}")
        else:
            record.took("ack", sent, acked[0], measured)


def budget_s(messages: int, think_s: float = THINK_S) -> float:
    """A safety net for one mode's measurement (every wait inside is bounded too), start-up excluded."""
    return 60 + (messages + WARMUP) * 2 * (1.5 * think_s + 2)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system, all threads) each process has used so far; empty where /proc is missing."""
    used = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


async def measure(rasa_url: str, agent_desk: str, usernames: list[str], handoffs: int, messages: int,
                  assign: str, pids: dict[str, int] | None = None, think_s: float = THINK_S) -> dict[str, Any]:
    record = Record()
    assigned: dict[str, asyncio.Future[tuple[Agent, str]]] = {}
    customers = [Customer(n) for n in range(handoffs)]
    agents: list[Agent] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SETUP_S)) as http:
        try:
            agents = list(await asyncio.gather(*(Agent.connect(http, agent_desk, u, assigned) for u in usernames)))
            if assign == "after-queue":
                await asyncio.gather(*(a.command(type="status", status="忙碌") for a in agents))
            queued = await asyncio.gather(*(queue_up(c, rasa_url, record) for c in customers), return_exceptions=True)
            ready = [(c, sent) for c, sent in zip(customers, queued, strict=True) if not isinstance(sent, BaseException)]
            record.errors += [f"setup: {type(e).__name__}: {e}" for e in queued if isinstance(e, BaseException)]
            if assign == "after-queue":
                online = time.perf_counter()
                await asyncio.gather(*(a.command(type="status", status="在线") for a in agents))
                ready = [(c, online) for c, _ in ready]
            joined = await asyncio.gather(*(join(c, since, assigned, record) for c, since in ready), return_exceptions=True)
            chats = [j for j in joined if not isinstance(j, BaseException)]
            record.errors += [f"join: {type(e).__name__}: {e}" for e in joined if isinstance(e, BaseException)]
            cpu_before, started = cpu_seconds(pids or {}), time.perf_counter()
            await asyncio.gather(*(converse(c, a, s, messages, record, think_s) for c, a, s in chats))
            elapsed = time.perf_counter() - started
            cpu_used = {name: round(used - cpu_before[name], 1) for name, used in cpu_seconds(pids or {}).items()}
        finally:
            await asyncio.gather(*(c.sio.disconnect() for c in customers), *(a.close() for a in agents),
                                 return_exceptions=True)
    c2a, a2c = summary(record.samples["c2a"]), summary(record.samples["a2c"])
    return {
        "handoffs_started": handoffs, "handoffs_assigned": len(chats),
        "customer_to_agent_ms": c2a, "agent_to_customer_ms": a2c,
        "agent_reply_ack_ms": summary(record.samples["ack"]),
        "setup_ms": {"said_转人工_to_queued": summary(record.samples["queued"]),
                     "to_agent_joined": summary(record.samples["joined"])},
        "relayed_messages": record.relayed, "conversation_s": round(elapsed, 1),
        "throughput_msgs_per_s": round(record.relayed / elapsed, 1) if elapsed else None,
        "cpu_s_during_conversation": cpu_used,
        "errors": len(record.errors), "timeouts": sum("timeout" in e.lower() for e in record.errors),
        "error_samples": record.errors[:8],
        "targets": {"customer_to_agent_p95_under_100ms": met(c2a), "agent_to_customer_p95_under_100ms": met(a2c)},
    }


async def join(customer: Customer, since: float, assigned: dict[str, asyncio.Future[tuple[Agent, str]]],
               record: Record) -> tuple[Customer, Agent, str]:
    """Wait until the customer is told an agent joined and that agent holds the session."""
    at, _ = await customer.inbox.wait(lambda t: "已接入" in t, SETUP_S)
    record.took("joined", since, at)
    future = assigned.setdefault(conversation_ref(customer.sender), asyncio.get_running_loop().create_future())
    agent, session_id = await asyncio.wait_for(future, STEP_S)
    return customer, agent, session_id


def add_agents(work: Path, count: int) -> list[str]:
    """Agents of 物流 with room for CAPACITY chats each, in the stack's staff table."""
    engine = make_engine(f"sqlite:///{work / 'xiaozhi.db'}")
    usernames = [f"bench{n}" for n in range(1, count + 1)]
    try:
        directory = StaffDirectory(engine)
        for n, username in enumerate(usernames, 1):
            directory.add(StaffMember(username, f"压测坐席{n}", Role.AGENT, "物流部"), PASSWORD)
        with engine.begin() as conn:
            conn.execute(update(staff).where(staff.c.username.in_(usernames)).values(skill_groups="物流", capacity=CAPACITY))
    finally:
        engine.dispose()
    return usernames


def delete_keys(prefix: str) -> int:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        keys = list(client.scan_iter(f"{prefix}*"))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def run_mode(mode: str, handoffs: int, messages: int, assign: str, think_s: float = THINK_S) -> dict[str, Any]:
    prefix = f"xiaozhi-bench-{uuid.uuid4().hex[:8]}" if mode == "redis" else ""
    result: dict[str, Any] = {"desks": 2, "queue": f"redis ({REDIS_URL}, prefix {prefix})"} if prefix else \
        {"desks": 1, "queue": "in-memory"}
    stack = None
    with tempfile.TemporaryDirectory(prefix=f"bench-handoff-{mode}-") as tmp:
        work = Path(tmp)
        env = {"XIAOZHI_TODAY": "2026-11-21", "HANDOFF_CONFIG": str(always_open_handoff(work)), "IDENTITY_SECRET": ""}
        try:
            if prefix:
                delete_keys(prefix)  # fails early, with its reason, when Redis is not there
                # Redis makes it the scaled mode, which wants the shop's signing secret: the bench customers' unsigned
                # claims are then not believed, so they are anonymous (their order question is asked to be proven).
                env |= {"REDIS_URL": REDIS_URL, "QUEUE_PREFIX": prefix, "IDENTITY_SECRET": secrets.token_urlsafe(32)}
            started = time.perf_counter()
            stack = start_stack(work, env, desks=2 if prefix else 1)
            result["startup_s"] = round(time.perf_counter() - started, 1)
            usernames = add_agents(work, math.ceil(handoffs / CAPACITY))
            agent_desk = stack.urls["desk1" if prefix else "desk"]
            pids = {name: process.pid for name, process in stack.processes.items()}
            result.update(asyncio.run(asyncio.wait_for(
                measure(stack.rasa_url, agent_desk, usernames, handoffs, messages, assign, pids, think_s),
                budget_s(messages, think_s))))
        except Exception as error:  # a benchmark reports what went wrong and goes on with the next mode
            result["error"] = f"{type(error).__name__}: {str(error)[-1500:]}"
        finally:
            if stack is not None:
                stack.stop()
            if prefix:
                try:
                    result["redis_keys_deleted"] = delete_keys(prefix)
                except redis.RedisError as error:
                    result["redis_cleanup_error"] = f"{type(error).__name__}: {error}"
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10, help="measured messages each way per handoff")
    parser.add_argument("--mode", choices=("embedded", "redis", "both"), default="both")
    parser.add_argument("--think-s", type=float, default=THINK_S,
                        help="mean pause before each message, ±50%% (people type slower: try 10)")
    parser.add_argument("--assign", choices=("after-queue", "on-arrival"), default="on-arrival",
                        help="agents are 在线 from the start (default), or go 在线 after everyone queued")
    args = parser.parse_args(argv)
    if not MODEL.exists():
        print(f"error: no trained model at {MODEL}; train one first (make train)", file=sys.stderr)
        return 2
    _engineio_websocket_compat()
    modes = ("embedded", "redis") if args.mode == "both" else (args.mode,)
    report: dict[str, Any] = {"handoffs": args.handoffs, "messages_each_way": args.messages, "warmup_each_way": WARMUP,
                              "think_s": f"{args.think_s} ±50%", "assign": args.assign,
                              "agents": f"{math.ceil(args.handoffs / CAPACITY)} × capacity {CAPACITY} (物流)",
                              "target_p95_ms": TARGET_P95_MS, "notes": NOTES}
    for mode in modes:
        report[mode] = run_mode(mode, args.handoffs, args.messages, args.assign, args.think_s)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
