"""Load and faults on the scaled topology (scripts/scaled.py), as customers on the web widget notice them.

One topology for the module, on free ports, with a database, Redis prefix and RabbitMQ queue of its own (removed
afterwards). Customers are bench/load_driver.py's: the widget's socket.io channel through nginx, each from a
loopback address of its own (nginx hashes the client address to pick a Rasa server). What is checked is what
a customer sees and what the tracker store (PostgreSQL, events encrypted) keeps of it; no timing is asserted,
every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from bench.load_driver import (
    CustomerSocket,
    LoadResult,
    Status,
    TurnRecord,
    new_session_id,
    run_load,
    scripted_customers,
)
from scripts.scaled import Topology
from service.event_cipher import EventCipher
from tests.scaled.conftest import Relays

pytestmark = pytest.mark.scaled
STEP_S = 20.0
TICKET = re.compile(r"T\d{6,}")
RESTART_S = 3.0  # how long the service is away, as a restart takes


# --- what the tracker store kept ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One event of a conversation as stored: its row id, type, and what the customer or the bot said."""

    row: int
    kind: str  # user | bot | other
    text: str
    timestamp: float


def conversation_of(topology: Topology, session_id: str) -> str | None:
    engine = create_engine(topology.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT conversation FROM channel_users WHERE channel = 'socketio' "
                                     "AND user_key = :u"), {"u": session_id}).scalar()
    finally:
        engine.dispose()


def stored_events(topology: Topology, conversation: str) -> list[Stored]:
    """The conversation's events in the order the store wrote them, decrypted with the topology's key."""
    cipher = EventCipher.from_setting(topology.env["TRACKER_ENCRYPTION_KEY"])
    engine = create_engine(topology.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, data FROM events WHERE sender_id = :s ORDER BY id"),
                                {"s": conversation}).all()
    finally:
        engine.dispose()
    found: list[Stored] = []
    for row_id, data in rows:
        event = json.loads(cipher.decrypt(data))
        kind = event.get("event")
        said = str(event.get("text") or "")
        if kind == "user" and (said.startswith("EXTERNAL_") or (event.get("metadata") or {}).get("is_external")):
            kind = "other"
        found.append(Stored(int(row_id), kind if kind in ("user", "bot") else "other", said,
                            float(event.get("timestamp") or 0)))
    return found


def exchanges(events: Sequence[Stored]) -> list[tuple[str, list[str]]]:
    """Each customer message with the bot's messages that follow it before the next one."""
    pairs: list[tuple[str, list[str]]] = []
    for event in events:
        if event.kind == "user":
            pairs.append((event.text, []))
        elif event.kind == "bot" and pairs:
            pairs[-1][1].append(event.text)
    return pairs


def problems_of(topology: Topology, session_id: str, turns: Sequence[TurnRecord], all_sent: bool) -> list[str]:
    """What is wrong with a session's stored conversation against what its customer sent and saw.

    Every answered message must be stored, in the order sent, followed by the bot's answer (the texts the customer
    saw among them); no event stored twice. `all_sent`: every message sent must be stored, nothing else."""
    conversation = conversation_of(topology, session_id)
    if conversation is None:
        return [f"{session_id}: no conversation"]
    events = stored_events(topology, conversation)
    problems: list[str] = []
    stamps = [e.timestamp for e in events if e.kind != "other"]
    if stamps != sorted(stamps):
        problems.append(f"{conversation}: events out of order")
    keys = [(e.kind, e.text, e.timestamp) for e in events if e.kind != "other"]
    if len(keys) != len(set(keys)):
        problems.append(f"{conversation}: an event stored twice")
    pairs = exchanges(events)
    stored_texts = [said for said, _ in pairs]
    if all_sent and stored_texts != [t.text for t in turns]:
        problems.append(f"{conversation}: stored {stored_texts}, sent {[t.text for t in turns]}")
    position = 0
    for turn in (t for t in turns if t.status is Status.ANSWERED):
        while position < len(pairs) and pairs[position][0] != turn.text:
            position += 1
        if position == len(pairs):
            problems.append(f"{conversation}: answered turn {turn.index} {turn.text!r} not stored (in order)")
            break
        answers = " ".join(pairs[position][1])
        if not pairs[position][1]:
            problems.append(f"{conversation}: {turn.text!r} stored without the bot's answer")
        for seen in turn.replies:
            if not seen.startswith("{") and seen not in answers:
                problems.append(f"{conversation}: the customer saw {seen!r}, not stored after {turn.text!r}")
        position += 1
    return problems


def conversation_problems(topology: Topology, result: LoadResult, all_sent: bool) -> list[str]:
    problems: list[str] = []
    for session_id, turns in result.sessions().items():
        problems += problems_of(topology, session_id, turns, all_sent)
    return problems


# --- one customer, step by step --------------------------------------------------------------------------------


async def say(socket: CustomerSocket, message: str, timeout_s: float = STEP_S) -> list[str]:
    """Send one message and return what the bot answered in that turn (bounded)."""
    loop = asyncio.get_running_loop()
    _, _, done, replies, error = await socket.turn(message, {}, timeout_s, loop.time)
    assert done is not None, f"{message!r}: the turn did not end within {timeout_s} s ({error}); got {replies}"
    return replies


async def one_customer(url: str, messages: Sequence[str]) -> list[list[str]]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        socket = CustomerSocket(http, url, new_session_id())
        try:
            assert await socket.reconnect(within_s=STEP_S), f"cannot connect to {url}"
            return [await say(socket, m) for m in messages]
        finally:
            await socket.close()


def errors_of(result: LoadResult) -> list[str]:
    return [f"{t.session_id}#{t.index} {t.text!r}: {t.status.value} {t.error}" for t in result.errors]


# --- the tests -------------------------------------------------------------------------------------------------


async def test_fifty_customers_twenty_turns_each_every_conversation_is_stored_whole(topology: Topology) -> None:
    result = await run_load(topology.url, scripted_customers(50, 20), turn_timeout_s=30, run_timeout_s=150)
    assert result.connect_errors == 0
    assert len(result.turns) == 1000, result.summary()
    assert not result.errors, errors_of(result)[:10]
    assert conversation_problems(topology, result, all_sent=True) == []


async def test_a_rasa_server_killed_mid_run_the_other_serves_and_it_rejoins(topology: Topology) -> None:
    loop = asyncio.get_running_loop()
    answered: list[TurnRecord] = []
    killed: list[asyncio.Future[None]] = []

    def on_turn(record: TurnRecord) -> None:  # kill rasa1 once 30 turns were answered
        if record.status is Status.ANSWERED:
            answered.append(record)
        if not killed and len(answered) >= 30:
            killed.append(loop.run_in_executor(None, topology.kill, "rasa1"))

    customers = scripted_customers(16, 12)
    try:
        result = await run_load(topology.url, customers, turn_timeout_s=15, think_s=0.4, run_timeout_s=90,
                                on_turn=on_turn)
        assert killed, "rasa1 was never killed: too few turns answered"
        await asyncio.wait_for(killed[0], 20)
        assert result.reconnects > 0, "no customer was on rasa1 (nginx sent everybody to rasa2)"
        # Every customer is answered again after the kill: its last turns are.
        for session_id, turns in result.sessions().items():
            assert turns[-1].status is Status.ANSWERED, (session_id, [(t.text, t.status.value, t.error) for t in turns])
        assert conversation_problems(topology, result, all_sent=False) == []
    finally:
        if not topology.running("rasa1"):
            await asyncio.to_thread(topology.start, "rasa1", 240)
    # rasa1 is back: a customer connected to it directly is answered.
    replies = await one_customer(topology.rasa_urls[0], ["你好"])
    assert replies and replies[0]


async def while_actions_are_down(topology: Topology, socket: CustomerSocket) -> list[str]:
    """What the bot says to an order question while the action server is down (restarted afterwards)."""
    await asyncio.to_thread(topology.kill, "actions")
    try:
        return await say(socket, "查一下E202611010001的物流") + await say(socket, "8000")
    finally:
        await asyncio.to_thread(topology.start, "actions", 120)


async def test_the_action_server_down_then_back_the_same_conversation_is_served_without_restarting_rasa(
        topology: Topology) -> None:
    import aiohttp

    rasa = topology.status()
    async with aiohttp.ClientSession() as http:
        socket = CustomerSocket(http, topology.url, new_session_id())
        try:
            assert await socket.reconnect(within_s=STEP_S)
            await say(socket, "你好")
            await while_actions_are_down(topology, socket)
            again = await say(socket, "查一下E202611010001的物流")
            if not any("SF1234567890" in said for said in again):
                again += await say(socket, "8000")  # the anonymous customer proves the order
            assert any("SF1234567890" in said for said in again), again
        finally:
            await socket.close()
    assert {n: topology.status()[n] for n in ("rasa1", "rasa2")} == {n: rasa[n] for n in ("rasa1", "rasa2")}


async def test_while_the_action_server_is_down_an_order_question_gets_a_polite_apology(topology: Topology) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        socket = CustomerSocket(http, topology.url, new_session_id())
        try:
            assert await socket.reconnect(within_s=STEP_S)
            await say(socket, "你好")
            meanwhile = await while_actions_are_down(topology, socket)
        finally:
            await socket.close()
    assert any("抱歉" in said for said in meanwhile), meanwhile


async def test_both_desks_down_a_request_for_a_person_becomes_a_ticket(topology: Topology) -> None:
    await asyncio.to_thread(topology.kill, "desk1")
    await asyncio.to_thread(topology.kill, "desk2")
    try:
        replies = await one_customer(topology.url, ["你好", "转人工"])
    finally:
        for desk in ("desk1", "desk2"):
            if not topology.running(desk):
                await asyncio.to_thread(topology.start, desk, 120)
    said = " ".join(replies[-1])
    number = TICKET.search(said)
    assert number, replies[-1]
    engine = create_engine(topology.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM tickets WHERE number = :n"),
                                {"n": number.group(0)}).scalar() == 1
    finally:
        engine.dispose()



@pytest.mark.parametrize("service", ["redis", "postgres"])
async def test_after_a_restart_of_redis_or_postgresql_customers_are_served_again(topology: Topology, relays: Relays,
                                                                                 service: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        socket = CustomerSocket(http, topology.url, new_session_id())
        try:
            assert await socket.reconnect(within_s=STEP_S)
            assert await say(socket, "你好")
            getattr(relays, service).cut(RESTART_S)  # every connection reset; refused for RESTART_S
            await asyncio.sleep(RESTART_S + 0.5)
            # Back by itself: within a few tries (a connection found dead may cost one answer), the same customer,
            # still connected, gets real answers again, and so does a new one.
            answers: list[list[str]] = []
            for _ in range(4):
                if not socket.connected:
                    assert await socket.reconnect(within_s=STEP_S)
                answers.append(await say(socket, "运费怎么算"))
                if any("运费" in said for said in answers[-1]):
                    break
                await asyncio.sleep(2)
            assert any("运费" in said for said in answers[-1]), answers
        finally:
            await socket.close()
    new = await one_customer(topology.url, ["运费怎么算"])
    assert any("运费" in said for said in new[0]), new
