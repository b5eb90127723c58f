"""An asyncio load driver: N concurrent customers × T turns over the web widget's socket.io channel.

Each customer is what the widget is (web/widget.js, connectors/socketio_channel.py): a socket.io connection
over a WebSocket (through nginx in scaled mode), `session_request` with its own random session id, the
`history_request` the widget makes once joined, then one `user_uttered` at a time, the next only once the
bot's turn is over. A turn is over when the channel sends `typing` {on: false} (it does so after every
turn, also a failed one); the reply time is that of the turn's first `bot_uttered`. Every wait has a
timeout, and the whole run a deadline.

When the connection drops (a Rasa server killed behind nginx), the customer reconnects as socket.io-client
does, with a bounded back-off, and joins its session again; the turn that was under way counts as an error.

python-socketio's own AsyncClient needs aiohttp >= 3.11 (aiohttp.ClientWSTimeout), and Rasa 3.6 pins 3.9, so
the socket.io framing is tests/widget_socket.py's (Engine.IO v4 over aiohttp's WebSocket).

    from bench.load_driver import Customer, run_load, conversation_scripts
    result = asyncio.run(run_load("http://127.0.0.1:8080", [Customer(n, script) for n ...]))
    result.summary()  # turns/s, p50/p95/p99 of the reply time, errors by kind
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import aiohttp

from service.identity import signed_metadata
from tests.widget_socket import WidgetSocket

TURN_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
RECONNECT_WITHIN_S = 30.0
RUN_TIMEOUT_S = 300.0
APOLOGY = "系统查询暂时有点慢"  # utter_backend_error: the bot answered, but without what was asked

# Conversations of the demo data (../shared/design.md). The anonymous ones prove one order with its number and
# the phone's last 4 digits; "signed" ones are sent as a customer whom the shop's page signed (IDENTITY_SECRET).
ANONYMOUS_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("你好", "查一下E202611010001的物流", "8000", "运费怎么算", "谢谢"),
    ("你好", "蓝牙耳机X1有货吗", "支持货到付款吗", "你是机器人吗", "再见"),
    ("你好", "E202611120004退款到哪了", "9000", "怎么开发票", "好的谢谢"),
    ("你好", "我的订单发货了吗", "E202611150002", "8000", "谢谢"),
)
SIGNED_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("你好", "我是什么会员", "我的订单到哪了", "运费怎么算", "谢谢"),
)


class Status(str, Enum):
    ANSWERED = "answered"
    TIMEOUT = "timeout"  # no end of turn within the turn timeout
    ERROR = "error"  # the connection dropped, could not be opened, or the turn ended without a reply


@dataclass(frozen=True)
class TurnRecord:
    """One customer message and what came back; times in seconds since the run started."""

    customer: int
    session_id: str
    index: int
    text: str
    sent_s: float
    replied_s: float | None  # the turn's first bot message
    done_s: float | None  # the channel said the turn is over (typing off)
    status: Status
    replies: tuple[str, ...] = ()
    error: str = ""

    @property
    def latency_ms(self) -> float | None:
        return None if self.replied_s is None else (self.replied_s - self.sent_s) * 1000


@dataclass(frozen=True)
class Customer:
    """A simulated customer: its number, the texts it sends in order, and who it is (None: anonymous)."""

    number: int
    texts: tuple[str, ...]
    customer_id: str | None = None
    identity_secret: str | None = field(default=None, repr=False)
    turns_per_session: int = 0  # > 0: a new session (a new conversation) every so many turns
    source: str | None = None  # the loopback address to connect from (None: the system's choice)

    def metadata(self) -> dict[str, Any]:
        if self.customer_id and self.identity_secret:
            return signed_metadata(self.identity_secret, customer_id=self.customer_id)
        return {}


def percentile(samples: Sequence[float], q: float) -> float | None:
    ordered = sorted(samples)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class LoadResult:
    customers: int
    turns: tuple[TurnRecord, ...]
    elapsed_s: float
    reconnects: int = 0
    connect_errors: int = 0

    @property
    def answered(self) -> tuple[TurnRecord, ...]:
        return tuple(t for t in self.turns if t.status is Status.ANSWERED)

    @property
    def errors(self) -> tuple[TurnRecord, ...]:
        return tuple(t for t in self.turns if t.status is not Status.ANSWERED)

    def latencies_ms(self) -> list[float]:
        return [t.latency_ms for t in self.answered if t.latency_ms is not None]

    def p(self, q: float) -> float | None:
        return percentile(self.latencies_ms(), q)

    @property
    def turns_per_s(self) -> float:
        return len(self.answered) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def sessions(self) -> dict[str, list[TurnRecord]]:
        """Turns by session id, in the order they were sent."""
        by_session: dict[str, list[TurnRecord]] = {}
        for turn in sorted(self.turns, key=lambda t: (t.customer, t.index)):
            by_session.setdefault(turn.session_id, []).append(turn)
        return by_session

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for turn in self.errors:
            key = f"{turn.status.value}: {turn.error}" if turn.error else turn.status.value
            kinds[key] = kinds.get(key, 0) + 1
        rounded = {name: (round(v, 1) if v is not None else None)
                   for name, v in (("p50_ms", self.p(0.50)), ("p95_ms", self.p(0.95)), ("p99_ms", self.p(0.99)))}
        return {"customers": self.customers, "turns": len(self.turns), "answered": len(self.answered),
                "errors": len(self.errors) + self.connect_errors, "error_kinds": kinds,
                "turns_per_s": round(self.turns_per_s, 2), **rounded, "reconnects": self.reconnects,
                "elapsed_s": round(self.elapsed_s, 1)}


class Disconnected(Exception):
    """The socket closed under the customer."""


class CustomerSocket:
    """One widget connection: frames read in the background into a queue; ping answered; reconnects on demand."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, session_id: str,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self._http = http
        self._url = base_url.rstrip("/").replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.session_id = session_id
        self._connect_timeout_s = connect_timeout_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._socket: WidgetSocket | None = None
        self._events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._outstanding = 0  # turns sent on this connection whose end has not come (one that timed out may end late)

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                if frame.data == "2":  # Engine.IO ping
                    await ws.send_str("3")
                elif frame.data.startswith("42"):
                    name, *args = json.loads(frame.data[2:])
                    self._events.put_nowait((name, args[0] if args else None))
                elif frame.data.startswith("41"):  # the server left the namespace
                    break
        except (aiohttp.ClientError, ValueError, ConnectionError):
            pass
        finally:
            self._events.put_nowait(("__closed__", None))

    async def _next(self, timeout_s: float) -> tuple[str, Any]:
        name, data = await asyncio.wait_for(self._events.get(), timeout_s)
        if name == "__closed__":
            raise Disconnected()
        return name, data

    async def _wait_for(self, event: str, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            name, data = await self._next(max(0.01, deadline - time.monotonic()))
            if name == event:
                return data

    async def connect(self) -> None:
        """Open the socket and join the session as the widget does (session_request, then history_request)."""
        await self.close()
        self._events = asyncio.Queue()
        ws = await self._http.ws_connect(self._url, timeout=self._connect_timeout_s, heartbeat=None)
        try:
            opening = await ws.receive(timeout=self._connect_timeout_s)
            if opening.type != aiohttp.WSMsgType.TEXT or not opening.data.startswith("0"):
                raise Disconnected()
            await ws.send_str("40")
            joined = await ws.receive(timeout=self._connect_timeout_s)
            if joined.type != aiohttp.WSMsgType.TEXT or not joined.data.startswith("40"):
                raise Disconnected()
        except BaseException:
            await ws.close()
            raise
        self._ws, self._socket = ws, WidgetSocket(ws)
        self._outstanding = 0
        self._reader = asyncio.create_task(self._read(ws))
        await self._socket.emit("session_request", {"session_id": self.session_id})
        confirmed = await self._wait_for("session_confirm", self._connect_timeout_s)
        if confirmed != self.session_id:
            self.session_id = str(confirmed)
        await self._socket.emit("history_request", {"session_id": self.session_id})
        await self._wait_for("history", self._connect_timeout_s)

    async def reconnect(self, within_s: float = RECONNECT_WITHIN_S) -> bool:
        """Connect again with a growing pause (0.2 s … 2 s), for at most `within_s`; whether it worked."""
        deadline = time.monotonic() + within_s
        for attempt in itertools.count():
            try:
                await self.connect()
                return True
            except (aiohttp.ClientError, asyncio.TimeoutError, Disconnected, ConnectionError, OSError):
                pass
            pause = min(2.0, 0.2 * 2 ** attempt)
            if time.monotonic() + pause > deadline:
                return False
            await asyncio.sleep(pause)
        return False

    async def turn(self, text: str, metadata: dict[str, Any], timeout_s: float,
                   clock: Callable[[], float]) -> tuple[float, float | None, float | None, list[str], str]:
        """Send one message and wait for the end of the bot's turn: sent, first reply, end, replies, error.

        What an earlier turn that timed out says when it ends after all is not this turn's: this turn's replies
        are those after every earlier turn of the connection has ended."""
        if self._socket is None or not self.connected:
            raise Disconnected()
        sent = clock()
        await self._socket.emit("user_uttered", {"message": text, "session_id": self.session_id, "metadata": metadata})
        self._outstanding += 1
        replied: float | None = None
        replies: list[str] = []
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return sent, replied, None, replies, "no end of turn"
            try:
                name, data = await self._next(left)
            except asyncio.TimeoutError:
                return sent, replied, None, replies, "no end of turn"
            ours = self._outstanding == 1  # the earlier turns are over: what comes now is this turn's
            if name == "bot_uttered" and ours:
                if replied is None:
                    replied = clock()
                data = data if isinstance(data, dict) else {}
                replies.append(str(data.get("text") or json.dumps(data.get("custom") or {}, ensure_ascii=False)))
            elif name == "typing" and isinstance(data, dict) and data.get("on") is False:
                self._outstanding = max(0, self._outstanding - 1)
                if ours:
                    return sent, replied, clock(), replies, ""

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        self._ws = self._reader = self._socket = None


def new_session_id() -> str:
    return uuid.uuid4().hex  # what the widget makes: 32 hex characters


@dataclass
class _Run:
    started: float
    deadline: float
    records: list[TurnRecord] = field(default_factory=list)
    reconnects: int = 0
    connect_errors: int = 0
    ready: int = 0  # customers connected and waiting for the start

    def clock(self) -> float:
        return time.monotonic() - self.started


async def _customer(http: aiohttp.ClientSession, url: str, customer: Customer, run: _Run, start: asyncio.Event,
                    turn_timeout_s: float, think_s: float, on_turn: Callable[[TurnRecord], Any] | None) -> None:
    rng = random.Random(customer.number)
    own: aiohttp.ClientSession | None = None
    if customer.source:
        own = http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(customer.source, 0)))
    socket = CustomerSocket(http, url, new_session_id())
    try:
        if not await socket.reconnect(within_s=CONNECT_TIMEOUT_S * 2):
            run.connect_errors += 1
            return
        run.ready += 1
        await start.wait()
        for index, text in enumerate(customer.texts):
            if time.monotonic() >= run.deadline:
                break
            if index and customer.turns_per_session and index % customer.turns_per_session == 0:
                socket.session_id = new_session_id()  # the next conversation: a new customer on the page
                if not await socket.reconnect():
                    run.connect_errors += 1
                    return
            if think_s > 0 and index:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
            if not socket.connected:
                run.reconnects += 1
                if not await socket.reconnect():
                    run.connect_errors += 1
                    return
            session = socket.session_id
            try:
                sent, replied, done, replies, error = await socket.turn(text, customer.metadata(), turn_timeout_s,
                                                                        run.clock)
            except (Disconnected, ConnectionError, aiohttp.ClientError) as exc:
                record = TurnRecord(customer.number, session, index, text, run.clock(), None, None, Status.ERROR,
                                    error=f"disconnected ({type(exc).__name__})")
            else:
                if done is None:
                    status = Status.TIMEOUT
                elif not replies:
                    status, error = Status.ERROR, "turn ended without a reply"
                else:
                    status = Status.ANSWERED
                record = TurnRecord(customer.number, session, index, text, sent, replied, done, status,
                                    tuple(replies), error)
            run.records.append(record)
            if on_turn is not None:
                on_turn(record)
    finally:
        await socket.close()
        if own is not None:
            await own.close()


async def run_load(url: str, customers: Sequence[Customer], turn_timeout_s: float = TURN_TIMEOUT_S,
                   think_s: float = 0.0, run_timeout_s: float = RUN_TIMEOUT_S,
                   on_turn: Callable[[TurnRecord], Any] | None = None) -> LoadResult:
    """Connect every customer, then let them all talk at once; stops at `run_timeout_s` whatever is left.

    `think_s`: a customer's mean pause before each message after the first (±50%, seeded); 0 = back to back.
    `on_turn`: called with each record as it is made (a test kills a process after so many turns)."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
        now = time.monotonic()
        run = _Run(started=now, deadline=now + run_timeout_s)
        start = asyncio.Event()
        tasks = [asyncio.create_task(_customer(http, url, c, run, start, turn_timeout_s, think_s, on_turn))
                 for c in customers]
        connect_deadline = time.monotonic() + CONNECT_TIMEOUT_S * 2 + 1
        while time.monotonic() < connect_deadline and run.ready + run.connect_errors < len(customers):
            await asyncio.sleep(0.05)
        run.started = time.monotonic()  # the clock starts when everybody is connected
        start.set()
        grace = turn_timeout_s + RECONNECT_WITHIN_S + 5
        done, pending = await asyncio.wait(tasks, timeout=max(1.0, run.deadline - time.monotonic()) + grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                run.connect_errors += 1
        elapsed = time.monotonic() - run.started
    return LoadResult(len(customers), tuple(run.records), elapsed, run.reconnects, run.connect_errors)


def spread_source(number: int) -> str:
    """A loopback address of its own /24 for customer `number`: nginx's ip_hash (deploy/nginx.conf) hashes the
    first three bytes of the client's address, so customers all on 127.0.0.1 would all land on one Rasa server."""
    return f"127.0.{number % 250 + 1}.1"


def scripted_customers(count: int, turns: int, first: int = 0, identity_secret: str | None = None,
                       signed_every: int = 0, customer_ids: Sequence[str] = (),
                       turns_per_session: int = 0, spread: bool = True) -> list[Customer]:
    """`count` customers of `turns` turns each, cycling through the scripts (each conversation opens with 你好).

    `signed_every` > 0 (with `identity_secret` and `customer_ids`): every so many customers is a signed
    customer of the demo data, each with its own id (two customers signed as one would share a conversation).
    `spread`: each customer connects from its own loopback /24 (spread_source), as customers come from many
    addresses."""
    made: list[Customer] = []
    ids = iter(customer_ids)
    for number in range(first, first + count):
        signed = bool(signed_every and identity_secret and number % signed_every == 0)
        customer_id = next(ids, None) if signed else None
        scripts = SIGNED_SCRIPTS if customer_id else ANONYMOUS_SCRIPTS
        texts = tuple(itertools.islice(itertools.cycle(scripts[number % len(scripts)]), turns))
        made.append(Customer(number, texts, customer_id, identity_secret if customer_id else None, turns_per_session,
                             spread_source(number) if spread else None))
    return made
