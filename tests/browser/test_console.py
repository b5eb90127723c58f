"""The agents' web console (/console/) in headless Chromium, against a real desk process and a fake Rasa.

Needs the `playwright` Python package and Debian's Chromium at /usr/bin/chromium (never `playwright install`).
Run: .venv/bin/python -m pytest -m browser tests/browser
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from aiohttp import web

from handoff.bridge import AGENT_JOINED, AGENT_MESSAGE, HANDOFF_ENDED
from scripts.launch import ROOT, http, start_desk
from service.clock import CST
from service.desk_client import bot_token
from service.settings import DEFAULT_DEMO_PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402  (pinned in requirements.txt)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 10_000
SENDER = "web-browser-test"
SUMMARY = "客户询问订单E202611010001物流，机器人已告知在杭州转运中心，客户要求人工"


class FakeRasa:
    """Rasa's POST /conversations/{sender}/trigger_intent on a free loopback port, in its own thread: records calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.url = ""
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="fake-rasa", daemon=True)

    async def _trigger(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.calls.append({"sender": request.match_info["sender"], "intent": body.get("name"),
                               "entities": body.get("entities") or {}})
        return web.json_response({"tracker": {}, "messages": []})

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/conversations/{sender}/trigger_intent", self._trigger)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(5), "the fake Rasa did not start"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def wait_for(self, intent: str, timeout_s: float = WAIT_MS / 1000) -> list[dict[str, Any]]:
        """The calls with `intent`, once there is at least one (bounded wait)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                found = [c for c in self.calls if c["intent"] == intent]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@dataclass
class Desk:
    url: str
    secret: str

    def bot(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """A call of the bot's handoff API, as the action server makes it."""
        return http("POST", self.url + path, body, timeout=10,
                    headers={"Authorization": f"Bearer {bot_token(self.secret)}"})


def screenshots() -> Path:
    """results/screenshots/, where screenshots are kept."""
    folder = ROOT / "results" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_out_the_last_minute(now: datetime | None = None) -> None:
    """The test's handoff.yml works 00:00–23:59 (CST): in the day's last minute, wait for the next day."""
    now = now or datetime.now(CST)
    if now.hour == 23 and now.minute == 59:
        time.sleep((timedelta(minutes=1) - timedelta(seconds=now.second, microseconds=now.microsecond)).total_seconds() + 1)


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture
def desk(tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Desk]:
    """`python -m desk` on a free port: temporary SQLite, handoff open all day, Rasa faked."""
    config = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    config["working_hours"] = {"start": "00:00", "end": "23:59"}
    config.pop("group_hours", None)  # every group keeps working_hours: open all day (handoff/schedules.py)
    config.pop("holidays", None)
    handoff_yml = tmp_path / "handoff.yml"
    handoff_yml.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    secret = secrets.token_urlsafe(48)
    wait_out_the_last_minute()
    stack = start_desk(tmp_path / "desk", {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}", "RASA_URL": fake_rasa.url, "RASA_TOKEN": "",
        "DESK_SECRET": secret, "DESK_DEMO_PASSWORD": DEFAULT_DEMO_PASSWORD, "HANDOFF_CONFIG": str(handoff_yml),
        "REDIS_URL": "", "LOG_LEVEL": "WARNING"}, timeout_s=30)
    try:
        yield Desk(stack.desk_url, secret)
    finally:
        stack.stop()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's Chromium at /usr/bin/chromium: run `make chromium` (apt-get install -y chromium)")
    with playwright.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1366, "height": 820}, locale="zh-CN", timeout=WAIT_MS)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            context.close()


def staff_call(running: Desk, method: str, path: str, token: str, body: object = None) -> object:
    """A staff API call that must answer 200: its JSON."""
    status, answer = http(method, running.url + path, body, timeout=10, headers={"Authorization": f"Bearer {token}"})
    assert status == 200, (path, status, answer)
    return answer


def handoff_request() -> dict[str, Any]:
    """What actions/handoff.py sends when 张伟 asks for a person after a logistics question."""
    return {
        "sender_id": SENDER, "channel": "rest", "reason": "request_human", "intent": "query_logistics",
        "summary": SUMMARY, "customer_id": "C001", "customer_vip": True,
        "context": {
            "sender_id": SENDER, "channel": "rest", "reason": "request_human", "summary": SUMMARY,
            "customer": {"id": "C001", "name": "张伟", "phone": "13800138000", "tier": "金卡会员", "vip": True,
                         "tags": ["数码爱好者"], "points": 12800},
            "transcript": [
                {"speaker": "user", "text": "查一下E202611010001的物流", "intent": "query_logistics",
                 "entities": [["order_id", "E202611010001"]]},
                {"speaker": "bot", "text": "订单 E202611010001 由顺丰速运配送。最新物流：快件已到达【杭州转运中心】",
                 "intent": "", "entities": []},
                {"speaker": "user", "text": "转人工", "intent": "request_human", "entities": []},
            ],
            "slots": {"order_id": "E202611010001", "customer_id": "C001", "handoff_active": None},
            "recent_orders": [{"order_id": "E202611010001", "summary": "蓝牙耳机 X1", "status": "已发货",
                               "created_at": "2026-11-01T09:30:00"}],
            "open_tickets": [],
        },
    }


def test_agent_picks_answers_and_ends_a_handed_off_chat(desk: Desk, fake_rasa: FakeRasa, page: Page,
                                                        tmp_path: Path) -> None:
    expect = playwright.expect
    problems: list[str] = []
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text} {message.location['url']}")
            if message.type == "error" else None)

    # Log in as agent2 (物流部: 物流, 售前咨询) and go 忙碌 so nothing is assigned automatically.
    page.goto(desk.url + "/console/")
    page.get_by_label("用户名").fill("agent2")
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    expect(page.locator("#me-name")).to_have_text("小李")
    assert sockets and all(url.endswith("/ws/agent") for url in sockets)  # the token goes in the first frame
    page.get_by_role("radio", name="忙碌").check()
    expect(page.locator("#status-switch")).to_have_attribute("data-status", "忙碌")

    # The bot queues 张伟; the console shows them waiting, and agent2 takes them.
    status, started = desk.bot("/api/handoff/sessions", handoff_request())
    assert (status, started["status"], started["group"]) == (201, "queued", "物流"), started
    session_id = started["session_id"]
    waiting = page.locator("#queue-list li", has_text=SUMMARY)
    expect(waiting).to_contain_text("物流")
    expect(waiting).to_contain_text("优先")  # a VIP
    waiting.get_by_role("button", name="接入").click()

    expect(page.locator("#chat-list li", has_text="张伟")).to_have_count(1)
    expect(page.locator("#queue-list li")).to_have_count(0)
    expect(page.locator("#chat-title")).to_contain_text("张伟")
    context = page.locator("#context-panel")
    expect(context.locator("#ctx-summary")).to_have_text(SUMMARY)
    expect(context).to_contain_text("客户要求人工")
    expect(context).to_contain_text("金卡会员")
    expect(context.locator("#ctx-vip")).to_be_visible()
    expect(context.locator("#ctx-profile")).to_contain_text("138****8000")
    expect(context.locator("#ctx-slots")).to_contain_text("E202611010001")
    expect(context).not_to_contain_text("13800138000")
    transcript = page.locator("#transcript")
    expect(transcript.locator(".msg-bot")).to_contain_text("杭州转运中心")  # the bot's part, before the handoff
    assert fake_rasa.wait_for(AGENT_JOINED)[0]["entities"] == {"agent_name": "小李", "handoff_id": session_id}

    # The customer writes (relayed by the bot with its NLU): the message shows its intent and entities, as text.
    text = "快递到哪了？<b>急</b>"
    status, _ = desk.bot(f"/api/handoff/sessions/{session_id}/messages",
                         {"text": text, "intent": "query_logistics", "entities": [["order_id", "E202611010001"]]})
    assert status == 202
    customer = transcript.locator(".msg-customer").last
    expect(customer.locator(".bubble")).to_have_text(text)
    expect(customer.locator(".tag-intent")).to_contain_text("query_logistics")
    expect(customer.locator(".tag-entity")).to_contain_text("E202611010001")
    expect(transcript.locator("b")).to_have_count(0)

    # The agent answers: Shift+Enter is a new line, Enter sends; the reply reaches Rasa as EXTERNAL_agent_message.
    box = page.get_by_label("回复内容")
    box.fill("您好，")
    box.press("Shift+Enter")
    box.press_sequentially("快件已在派送途中。")
    reply = "您好，\n快件已在派送途中。"
    expect(box).to_have_value(reply)
    box.press("Enter")
    expect(box).to_have_value("")
    expect(transcript.locator(".msg-agent .bubble").last).to_have_text(reply)
    [sent] = fake_rasa.wait_for(AGENT_MESSAGE)
    assert (sent["sender"], sent["entities"]) == (SENDER, {"agent_text": reply, "agent_name": "小李"})
    page.screenshot(path=str(tmp_path / "console-chat.png"))

    # Ending the chat asks for a 服务小结, prefilled from the chat and required; it reaches the customer before the
    # rating question, the chat leaves 我的会话 and the bot is told.
    page.locator("#end-button").click()
    summary = page.get_by_label("服务小结")
    expect(summary).to_have_value("客户要求人工；问题：查物流；订单 E202611010001；已答复：您好， 快件已在派送途中。")
    summary.fill("")
    page.locator("#end-confirm").click()
    expect(page.locator("#end-dialog")).to_be_visible()  # an empty summary does not end the chat
    summary.fill("已告知快件在派送途中")
    page.screenshot(path=str(screenshots() / "console-end-summary.png"))
    page.locator("#end-confirm").click()
    expect(page.locator("#chat-list li")).to_have_count(0)
    expect(page.locator("#chat-banner")).to_contain_text("会话已结束")
    [ended] = fake_rasa.wait_for(HANDOFF_ENDED)
    assert (ended["sender"], ended["entities"]) == (SENDER, {"handoff_id": session_id})
    told = [c for c in fake_rasa.calls if c["intent"] in (AGENT_MESSAGE, HANDOFF_ENDED)][-2:]
    assert [c["intent"] for c in told] == [AGENT_MESSAGE, HANDOFF_ENDED]
    assert told[0]["entities"] == {"agent_text": "服务小结：已告知快件在派送途中", "agent_name": "小李"}
    page.screenshot(path=str(tmp_path / "console.png"))

    # 退出登录 revokes the token on the desk, not only in the page.
    token = page.evaluate("JSON.parse(sessionStorage.getItem('xiaozhi.console.auth')).token")
    assert http("GET", desk.url + "/api/me", headers={"Authorization": f"Bearer {token}"})[0] == 200
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#login-view")).to_be_visible()
    deadline = time.monotonic() + WAIT_MS / 1000
    while http("GET", desk.url + "/api/me", headers={"Authorization": f"Bearer {token}"})[0] != 401:
        assert time.monotonic() < deadline, "the token still works after 退出登录"
        time.sleep(0.1)
    assert problems == []
