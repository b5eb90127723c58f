"""Property-based tests of the customer channels (REST, socket.io, WeChat, the mobile app) on a real Sanic server.

Hypothesis generates malformed, oversized and deeply nested JSON and XML, invalid UTF-8, lone surrogates, DTD and
entity attacks, script and SQL strings, forged, stale or duplicated signatures, and forged, expired, unsigned or
misplaced tokens; about 1,000 requests per channel, with fixed seeds. The channels must never answer 5xx or log a
traceback: a clear 4xx with a reason, a polite reply, or a dropped event or closed socket. Where it can tell, no
message is lost or handed to the bot twice. Behind the channels sits a stand-in for Rasa's agent (and for WeChat,
tests/fake_wechat.py), so this runs in about a minute; the harness is tests/fuzz_channels.py.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import register
from yarl import URL

from connectors.app import AppChannel
from connectors.gate import AS_TEXT, LONE_SURROGATE, MessageGate
from connectors.rest_channel import RestChannel
from connectors.socketio_channel import SocketIOChannel
from connectors.wechat import WeChatChannel
from connectors.wechat_menu import menu_intents
from service.identity import signed_metadata
from service.settings import load_settings
from tests.fake_wechat import FakeWeChat
from tests.fuzz_channels import (
    ANSWER,
    APP_MIX,
    APP_SECRET,
    HEAD_ROOM,
    REQUEST_TIMEOUT,
    RESPONSES,
    WECHAT_AES_KEY,
    WECHAT_APP_ID,
    WECHAT_MIX,
    WECHAT_SECRET,
    WECHAT_TOKEN,
    WS_OVERSIZE,
    Answer,
    AppCall,
    AppForge,
    Group,
    HostileQuery,
    RecordingAgent,
    StandInAgent,
    TextPush,
    WeChatForge,
    Wire,
    WsSession,
    channel_app,
    gathered,
    hostile_text,
    json_values,
    mixed,
    send_wechat,
    serving_in_thread,
    tracebacks_in,
    wechat_read,
    ws_run,
    ws_sessions,
)
from tests.widget_socket import widget_socket

SECRET = "the-shops-identity-secret-for-fuzzing-01"
EXAMPLES = 1000
WS_SESSIONS = 220
POLITE = {variations[0]["text"] for variations in RESPONSES.values()}
TOO_LONG = RESPONSES["utter_message_too_long"][0]["text"]


def report(failures: list[Any]) -> str:
    """The failures, one a line, whole (pytest would cut a long repr short)."""
    return "\n" + "\n".join(repr(failure)[:3000] for failure in failures)


@dataclass
class Channels:
    url: str
    agent: StandInAgent


@contextmanager
def running_channels(where: Path) -> Iterator[Channels]:
    app = channel_app("channels")
    agent = StandInAgent()
    app.ctx.agent = agent
    gate_settings = load_settings({"IDENTITY_SECRET": SECRET, "CHANNEL_RATE_PER_MINUTE": "1000000",
                                   "XIAOZHI_VAR_DIR": str(where), "DATABASE_URL": f"sqlite:///{where / 'bot.db'}"})
    rest, socket = RestChannel(MessageGate(gate_settings)), SocketIOChannel.from_credentials(
        {"session_persistence": True, "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered"})
    socket.gate = MessageGate(gate_settings)
    register([rest, socket], app, route="/webhooks/")
    with serving_in_thread(app) as url:
        yield Channels(url, agent)


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channels]:
    with running_channels(tmp_path_factory.mktemp("channels")) as running:
        yield running


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


# --- what a hostile client sends -------------------------------------------------------------------
identity_claims = st.one_of(
    st.none(),
    json_values,
    st.builds(lambda ttl, who: signed_metadata(SECRET, ttl_s=ttl, customer_id=who), st.integers(-10 ** 6, 10 ** 8),
              st.sampled_from(["C001", "C002", "C999", ""])),
    st.builds(lambda forged: {"customer_id": "C001", "identity_expires": int(time.time()) + 600, "identity_hash": forged},
              st.text(max_size=70)),
    st.just({"identity": {"proof": "otp", "customer_id": "C001", "ref": "forged"}}),
)
bodies = st.one_of(
    st.fixed_dictionaries({"sender": st.one_of(st.text(max_size=210), json_values), "message": hostile_text},
                          optional={"metadata": identity_claims, "input_channel": json_values}).map(
        lambda b: json.dumps(b).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),  # invalid UTF-8, not JSON at all
    st.integers(200, 5000).map(lambda depth: ("[" * depth + "]" * depth).encode()),  # deeply nested
    st.integers(65_000, 70_000).map(lambda n: json.dumps({"sender": "s", "message": "长" * (n // 3)}).encode()),
)


@seed(7)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=bodies)
def test_the_rest_channel_never_answers_5xx(channels: Channels, body: bytes) -> None:
    status, answer = post(f"{channels.url}/webhooks/rest/webhook", body)
    assert status in (200, 400, 413), (status, answer)
    if status == 200:
        assert isinstance(answer, list) and all(isinstance(m.get("text"), str) for m in answer)
    else:
        assert answer["reason"]


frames = st.one_of(
    st.builds(lambda event, data: "42" + json.dumps([event, data]),
              st.sampled_from(["user_uttered", "session_request", "disconnect", "connect", "bot_uttered", "x"]),
              st.one_of(json_values, st.fixed_dictionaries({"message": hostile_text}, optional={
                  "session_id": st.one_of(st.text(max_size=70), json_values), "metadata": identity_claims}))),
    st.text(max_size=200).map(lambda t: "42" + t),  # not JSON
    st.binary(max_size=100),  # binary frames, invalid UTF-8
    st.sampled_from(["40", "41", "2", "3", "4", "44{}", "42[]", '42["user_uttered"]']),
)


def test_the_socketio_channel_drops_malformed_events_without_a_traceback(channels: Channels,
                                                                        caplog: pytest.LogCaptureFixture) -> None:

    async def fuzz(data: list[Any]) -> None:
        url = channels.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http:
            for offset in range(0, len(data), 100):  # a fresh socket now and then: frames may close it
                async with http.ws_connect(url) as ws:
                    await ws.receive(timeout=5)  # the engine.io open packet
                    await ws.send_str("40")
                    for frame in data[offset:offset + 100]:
                        if ws.closed:
                            break
                        await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
                    await asyncio.sleep(0.05)

    async def a_real_customer() -> list[dict[str, Any]]:
        session = uuid.uuid4().hex
        async with widget_socket(channels.url, session) as socket:
            await socket.emit("user_uttered", {"session_id": session, "message": "你好"})
            return await socket.bot_messages(until_quiet_s=1.0, timeout_s=10.0)

    collected = gathered(frames, EXAMPLES, 11)
    with caplog.at_level(logging.WARNING):
        asyncio.run(fuzz(collected))
    received = asyncio.run(a_real_customer())
    assert [m.get("text") for m in received] == [ANSWER], "a real message after the fuzz still gets its answer"
    assert not tracebacks_in(caplog.records), tracebacks_in(caplog.records)[:8]


# --- WeChat: pushes as WeChat's servers sign them, and everything a hostile sender makes of them -------------------

WECHAT_STATUSES = (200, 400, 403, 404, 405, 413)


def wechat_answer_problem(wire: Wire, answer: Answer) -> str | None:
    """What is wrong with the answer to one request, or None."""
    if answer.status not in WECHAT_STATUSES:
        return f"status {answer.status}"
    if wire.expect is not None and answer.status != wire.expect:
        return f"expected {wire.expect}, got {answer.status}"
    if answer.status == 200:
        if wire.echostr is not None:
            return None if answer.text == wire.echostr else "the URL check did not echo echostr"
        if answer.text == "success" or (answer.text.startswith("<xml>") and "xml" in answer.content_type):
            return None
        body = answer.json()
        return None if isinstance(body, dict) and "status" in body else "200 without XML, success or JSON"
    body = answer.json()
    if isinstance(body, dict) and body.get("reason"):
        return None
    if answer.status in (404, 405) and "text/html" in answer.content_type:
        return None  # Sanic's own page, for a path or method no channel serves (Rasa's app keeps Sanic's format)
    return f"{answer.status} without a JSON reason"


def passive_text(forge: WeChatForge, wire: Wire, answer: Answer) -> str | None:
    """The text a passive XML reply shows the user (opened and its signature checked in safe mode)."""
    if answer.status != 200 or not answer.text.startswith("<xml>"):
        return None
    return forge.pusher.reply_text(answer.body, wire.query)


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
def test_the_wechat_channel_never_answers_5xx_and_hands_each_push_to_the_bot_once(
        safe: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plans = mixed(WECHAT_MIX, 130 + 10 * safe)
    with FakeWeChat(app_id=WECHAT_APP_ID, secret=WECHAT_SECRET) as fake:
        env = {"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
               "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APP_ID": WECHAT_APP_ID, "WECHAT_APP_SECRET": WECHAT_SECRET,
               "WECHAT_API_BASE": fake.base_url, "CHANNEL_RATE_PER_MINUTE": "1000000"}
        if safe:
            env["WECHAT_AES_KEY"] = WECHAT_AES_KEY
        wechat_settings = load_settings(env)
        menu = frozenset("/" + intent for intent in menu_intents(wechat_settings.wechat_menu).values())
        agent = StandInAgent(trusted=menu)
        app = channel_app("wechat")
        app.ctx.agent = agent
        register([WeChatChannel(wechat_settings)], app, route="/webhooks/")
        forge = WeChatForge(safe)
        with caplog.at_level(logging.WARNING), serving_in_thread(app) as url:
            results = asyncio.run(send_wechat(url, forge, plans))
        # the server has stopped: answers still being worked on have been sent through the fake API
        sent_later = {openid: fake.texts_to(openid) for openid in {group.openid for group, _ in results} if openid}

    failures: list[Any] = []  # everything found, reported at once
    bad = [(problem, type(group.plan).__name__, wire.method, wire.target[:150], wire.body[:150], answer.body[:150])
           for group, answers in results for wire, answer in zip(group.wires, answers, strict=True)
           if (problem := wechat_answer_problem(wire, answer))]
    if bad:
        failures.append(("answers", len(bad), Counter(problem[:2] for problem in bad), bad[:5]))
    handled = Counter(message.message_id for message in agent.handled)
    texts = {message.message_id: message.text for message in agent.handled}
    once = [(problem, group.plan) for group, answers in results
            if (problem := handed_over_problem(forge, group, answers, handled, texts, sent_later))]
    if once:
        failures.append(("handed to the bot", len(once), once[:5]))
    logged = tracebacks_in(caplog.records)
    if logged:
        failures.append(("logged", len(logged), Counter(name for name, _, _ in logged), logged[:5]))
    assert not failures, report(failures)
    sent = sum(len(group.wires) for group, _ in results)
    assert sent >= 600 and sum(isinstance(group.plan, TextPush) for group, _ in results) >= 100


def handed_over_problem(forge: WeChatForge, group: Group, answers: list[Answer], handled: Counter[str | None],
                        texts: dict[str | None, str], sent_later: dict[str, list[str]]) -> str | None:
    """What is wrong with what the bot got of a push whose MsgId the test chose, and with the user's answer."""
    key = f"wechat-{group.msg_id}"
    if isinstance(group.plan, HostileQuery):
        accepted = answers[0].status == 200
        return None if handled[key] == int(accepted) else f"handed over {handled[key]} times (status {answers[0].status})"
    if not isinstance(group.plan, TextPush):
        return None
    if handled[key] != (1 if group.expected_text else 0):
        return f"handed over {handled[key]} times, answers {[answer.status for answer in answers]}"
    if group.expected_text and texts[key] != group.expected_text:
        return f"handed over as {texts[key][:60]!r}"
    if any(answer.status != 200 for answer in answers):
        return f"answered {[answer.status for answer in answers]}"
    replies = [text for wire, answer in zip(group.wires, answers, strict=True) if (text := passive_text(forge, wire, answer))]
    answered = replies + sent_later.get(group.openid or "", [])  # a passive reply, or later through the API
    expected = ANSWER if group.expected_text else TOO_LONG if wechat_read(group.plan.content) else None
    if len(replies) > 1 or answered != ([expected] if expected else []):
        return f"the user got {answered} (passive replies: {len(replies)}), expected {expected}"
    return None


# --- the mobile app: the shop's tokens, forged and misplaced; bodies and first frames, hostile ---------------------

@dataclass
class AppServer:
    url: str
    agent: RecordingAgent


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app channel with the real gate and router (on a fresh SQLite file) before a recording stand-in Rasa."""
    where = tmp_path_factory.mktemp("app")
    app_settings = load_settings({"APP_TOKEN_SECRET": APP_SECRET, "XIAOZHI_VAR_DIR": str(where),
                                  "DATABASE_URL": f"sqlite:///{where / 'bot.db'}", "CHANNEL_RATE_PER_MINUTE": "1000000"})
    app = channel_app("app")
    app.ctx.agent = agent = RecordingAgent()
    register([AppChannel(settings=app_settings, auth_timeout_s=3.0)], app, route="/webhooks/")
    with serving_in_thread(app) as url:
        yield AppServer(url, agent)


HEAD_CLOSED = 0  # no status: Sanic closed the connection on a head over its limit before its 413 was read


def app_answer_problem(call: AppCall, expect: int | None, status: int, body: Any, headers: Any) -> str | None:
    if status >= 500:
        return f"status {status}"
    if expect is not None and status != expect:
        return f"expected {expect}, got {status}"
    if status == 401:
        if not (isinstance(body, dict) and body.get("error") == "unauthorized" and body.get("code") and body.get("reason")):
            return "401 without a JSON reason"
        return None if headers.get("WWW-Authenticate", "").startswith("Bearer") else "401 without WWW-Authenticate"
    if status == 200:
        if not isinstance(body, list) or not all(isinstance(entry, dict) for entry in body):
            return "200 without a JSON list"
        kinds = {"bot"} if call.path == "/webhook" else {"bot", "user"}
        return None if all(entry.get("type") in kinds for entry in body) else "an entry of an unknown type"
    if isinstance(body, dict) and body.get("reason"):
        return None
    if status == 413 and expect is None and b"Request header exceeds" in (body if isinstance(body, bytes) else b""):
        return None  # Sanic's own answer to a request line over its limit (a long token in the URL)
    if status == HEAD_CLOSED and expect is None:
        return None  # the same refusal, the connection closed before the client read the 413 (a timing race)
    return f"{status} without a JSON reason"


def test_the_app_channel_refuses_hostile_requests_with_a_reason_and_answers_each_message_once(
        app_server: AppServer, caplog: pytest.LogCaptureFixture) -> None:
    calls = mixed(APP_MIX, 190)
    forge = AppForge()

    async def send() -> list[tuple[AppCall, int | None, int, Any, Any]]:
        lanes = asyncio.Semaphore(4)
        async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as http:
            async def one(call: AppCall) -> tuple[AppCall, int | None, int, Any, Any]:
                async with lanes:
                    method, target, headers, body, expect = forge.wire(call, time.time())
                    try:
                        async with http.request(method, URL(app_server.url + target, encoded=True), data=body,
                                                headers=headers) as answer:
                            raw = await answer.read()
                            try:
                                decoded: Any = json.loads(raw)
                            except ValueError:
                                decoded = raw[:200]
                            return call, expect, answer.status, decoded, answer.headers
                    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                        if len(target) + len(headers.get("Authorization", "")) <= HEAD_ROOM:
                            raise  # only a head over Sanic's limit may be refused by closing the connection
                        return call, expect, HEAD_CLOSED, b"", {}

            return list(await asyncio.gather(*(one(call) for call in calls)))

    with caplog.at_level(logging.WARNING):
        results = asyncio.run(send())
    failures: list[Any] = []  # everything found, reported at once
    bad = [(problem, call.path, call.token.kind, call.header, call.url_key, call.body[:100], str(body)[:200])
           for call, expect, status, body, headers in results
           if (problem := app_answer_problem(call, expect, status, body, headers))]
    if bad:
        failures.append(("answers", len(bad), Counter(problem[:2] for problem in bad), bad[:5]))
    # every message handed to the bot was answered to exactly the request that sent it, and none twice
    answered: dict[int, str | None] = {}
    for call, _, status, body, _ in results:
        if call.path != "/webhook" or status != 200:
            continue
        for frame in body:
            seen = (frame.get("custom") or {}).get("seen")
            if seen is None and frame.get("text") not in POLITE:
                failures.append(("a frame neither the bot's nor the gate's", frame))
            elif seen is not None and (seen in answered or frame.get("text") != ANSWER):
                failures.append(("an answer twice, or altered", seen, frame))
            elif seen is not None:
                answered[seen] = call.message  # None: a body meant as malformed that the JSON parser took
    handled = app_server.agent.handled
    if sorted(answered) != list(range(1, len(handled) + 1)):
        failures.append(("handed to the bot but not answered", sorted(set(range(1, len(handled) + 1)) - set(answered))))
    for seen, message in answered.items():
        if message is None:
            continue
        # Rasa's UserMessage strips the text; the gate turns a lone surrogate (no UTF-8 holds one) into U+FFFD
        read = LONE_SURROGATE.sub("\ufffd", message).strip()
        if handled[seen - 1].text not in (read, AS_TEXT + read):
            failures.append(("handed to the bot altered", message[:60], (handled[seen - 1].text or "")[:60]))
    logged = tracebacks_in(caplog.records)
    if logged:
        failures.append(("logged", len(logged), Counter(name for name, _, _ in logged), logged[:5]))
    assert not failures, report(failures)
    assert len(answered) >= 200 and sum(status == 401 for _, _, status, _, _ in results) >= 200


def test_the_app_socket_is_closed_with_4401_unless_its_first_frame_authenticates(
        app_server: AppServer, caplog: pytest.LogCaptureFixture) -> None:
    sessions = gathered(ws_sessions, WS_SESSIONS, 23)

    async def play() -> list[tuple[WsSession | None, Any, tuple[str, Any]]]:
        lanes = asyncio.Semaphore(4)

        async def one(session: WsSession | None, first: Any = None) -> tuple[WsSession | None, Any, tuple[str, Any]]:
            async with lanes:
                return session, first, await ws_run(app_server.url, session, first)

        extra = [one(None, None) for _ in range(3)]  # silent: closed when the auth timeout passes
        extra += [one(None, json.dumps({"type": "auth", "token": "e" * WS_OVERSIZE})) for _ in range(2)]
        return list(await asyncio.gather(*(one(session) for session in sessions), *extra))

    with caplog.at_level(logging.WARNING):
        results = asyncio.run(play())
        gc.collect()  # Sanic's orphaned WebSocket tasks are logged here, not in some later test
    problems = []
    for session, first, (outcome, detail) in results:
        if session is not None and session.authenticates:
            ok = outcome == "kept" and detail[0]["type"] == "ready"
        elif session is not None and session.first == "auth" and session.token.kind == "claims":
            ok = outcome == "kept" or detail[0] == 4401  # hostile claims, signed with our secret: may hold
        elif first is not None and len(first) > WS_OVERSIZE:  # over Sanic's WEBSOCKET_MAX_SIZE
            ok = outcome == "closed" and detail[0] in (4401, 1009)
        else:
            code, frames = detail if outcome == "closed" else (None, detail)
            ok = outcome == "closed" and code == 4401 and bool(frames) and frames[0].get("type") == "error" \
                and bool(frames[0].get("error")) and bool(frames[0].get("reason"))
        if not ok:
            problems.append((session, str(first)[:80], outcome, str(detail)[:300]))
    logged = tracebacks_in(caplog.records)
    assert not problems and not logged, report([("sockets", len(problems), problems[:6]), ("logged", logged[:6])])
    assert sum(outcome == "kept" for _, _, (outcome, _) in results) >= 60
