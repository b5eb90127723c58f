"""The customers' chat widget in Chromium against the whole running stack (socket.io, socket.io-client from npm).

Needs a trained model (models/xiaozhi.tar.gz), node_modules from `make web-deps`, and Debian's Chromium.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import playwright.sync_api as playwright
import pytest

from scripts.launch import Stack, StackError, always_open_handoff, http, start_stack
from service.settings import DEFAULT_DEMO_PASSWORD
from tests.browser.test_console import CHROMIUM, CHROMIUM_ARGS, WAIT_MS

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
SOCKET_IO_CLIENT = Path(__file__).resolve().parents[2] / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
TRACE = "查一下E202611010001的物流"
BOT_WAIT_MS = 30_000  # a turn of the real bot on a small machine, with the action server and the desk behind it


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not SOCKET_IO_CLIENT.exists():
        pytest.fail("needs socket.io-client in node_modules: run `make web-deps`")
    work = tmp_path_factory.mktemp("widget")
    try:
        # the page is served by the desk; Rasa's socket.io must accept that origin
        running = start_stack(work, {"XIAOZHI_TODAY": "2026-11-21", "IDENTITY_SECRET": "",
                                     "HANDOFF_CONFIG": str(always_open_handoff(work))}, desks=1)
    except StackError as error:
        pytest.fail(str(error))
    yield running
    running.stop()


@pytest.fixture
def context() -> Iterator[BrowserContext]:
    """A fresh browser profile (its own localStorage); tabs of it share the widget's session."""
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's Chromium at /usr/bin/chromium: run `make chromium`")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale="zh-CN")
            context.set_default_timeout(WAIT_MS)
            yield context
        finally:
            browser.close()


def open_widget(context: BrowserContext, stack: Stack, errors: list[str]) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    rasa_port = stack.rasa_url.rsplit(":", 1)[1]
    page.goto(f"{stack.urls['desk']}/chat/?rasa=http://127.0.0.1:{rasa_port}")
    return page


def say(page: Page, text: str) -> None:
    page.get_by_label("输入消息").fill(text)
    page.keyboard.press("Enter")


def bot(page: Page, text: str) -> Any:
    return page.locator(".msg.bot").filter(has_text=text)


def test_a_customer_chats_in_the_widget(stack: Stack, context: BrowserContext, tmp_path: Path) -> None:
    errors: list[str] = []
    page = open_widget(context, stack, errors)
    page.get_by_role("button", name="在线客服").click()
    greeting = page.locator(".msg.bot").first
    playwright.expect(greeting).to_contain_text("金卡会员", timeout=BOT_WAIT_MS)  # the demo page signs in as 张伟 (C001)
    say(page, TRACE)
    playwright.expect(bot(page, "SF1234567890")).to_be_visible(timeout=BOT_WAIT_MS)
    playwright.expect(bot(page, "杭州转运中心")).to_be_visible()
    page.screenshot(path=str(tmp_path / "widget.png"))
    assert errors == []


def test_an_order_card_and_its_button(stack: Stack, context: BrowserContext, tmp_path: Path) -> None:
    errors: list[str] = []
    page = open_widget(context, stack, errors)
    page.get_by_role("button", name="在线客服").click()
    playwright.expect(page.locator(".msg.bot").first).to_contain_text("金卡会员", timeout=BOT_WAIT_MS)
    say(page, TRACE)
    card = page.get_by_role("article", name="订单 E202611010001")
    playwright.expect(card).to_be_visible(timeout=BOT_WAIT_MS)
    playwright.expect(card).to_contain_text("蓝牙耳机 X1")
    playwright.expect(card).to_contain_text("已发货")
    playwright.expect(card).to_contain_text("¥399")
    playwright.expect(card).to_contain_text("顺丰速运 SF1234567890")
    card.get_by_role("button", name="查物流").click()
    playwright.expect(page.locator(".msg.user").filter(has_text=TRACE)).to_have_count(2)  # the card asked again
    playwright.expect(bot(page, "SF1234567890")).to_have_count(2, timeout=BOT_WAIT_MS)
    page.screenshot(path=str(tmp_path / "order-card.png"))
    assert errors == []


def test_a_reload_and_a_second_tab_keep_the_conversation(stack: Stack, context: BrowserContext) -> None:
    errors: list[str] = []
    page = open_widget(context, stack, errors)
    page.get_by_role("button", name="在线客服").click()
    playwright.expect(page.locator(".msg.bot").first).to_contain_text("金卡会员", timeout=BOT_WAIT_MS)
    say(page, TRACE)
    playwright.expect(bot(page, "杭州转运中心")).to_be_visible(timeout=BOT_WAIT_MS)
    playwright.expect(page.get_by_role("article", name="订单 E202611010001")).to_be_visible()

    page.reload()  # the chat opens again by itself, with what was said, and no second greeting
    playwright.expect(bot(page, "杭州转运中心")).to_be_visible()
    playwright.expect(page.locator(".msg.user").filter(has_text=TRACE)).to_have_count(1)
    playwright.expect(page.get_by_role("article", name="订单 E202611010001")).to_be_visible()
    playwright.expect(bot(page, "金卡会员")).to_have_count(1)
    assert page.locator(".msg.user").filter(has_text="你好").count() == 0  # the widget's own greeting stays unseen

    second = open_widget(context, stack, errors)  # another tab of the same session
    playwright.expect(bot(second, "杭州转运中心")).to_be_visible()
    say(page, TRACE)
    playwright.expect(bot(second, "杭州转运中心")).to_have_count(2, timeout=BOT_WAIT_MS)  # live in the other tab
    playwright.expect(bot(page, "金卡会员")).to_have_count(1)
    assert errors == []


def agent_call(stack: Stack, method: str, path: str, token: str, body: Any = None) -> Any:
    status, answer = http(method, stack.urls["desk"] + path, body, timeout=15,
                          headers={"Authorization": f"Bearer {token}"})
    assert status in (200, 201), (path, status, answer)
    return answer


def waiting_session(stack: Stack, token: str, timeout_s: float = BOT_WAIT_MS / 1000) -> str:
    """The one customer waiting in the desk's queue (bounded wait: the bot queues them during its turn)."""
    deadline = time.monotonic() + timeout_s
    while True:
        waiting = agent_call(stack, "GET", "/api/handoff/queue", token)["waiting"]
        if waiting:
            return str(waiting[0]["session_id"])
        assert time.monotonic() < deadline, "nobody was queued"
        time.sleep(0.2)


def test_an_agent_reply_arrives_in_the_open_widget(stack: Stack, context: BrowserContext, tmp_path: Path) -> None:
    # agent2 (小李, 物流) logs in through the desk API and is busy, so the customer waits in the queue
    status, login = http("POST", stack.urls["desk"] + "/api/auth/token",
                         {"username": "agent2", "password": DEFAULT_DEMO_PASSWORD})
    assert status == 200, login
    token = login["token"]
    agent_call(stack, "PUT", "/api/agents/me/status", token, {"status": "忙碌"})

    errors: list[str] = []
    page = open_widget(context, stack, errors)
    page.get_by_role("button", name="在线客服").click()
    playwright.expect(page.locator(".msg.bot").first).to_contain_text("金卡会员", timeout=BOT_WAIT_MS)
    say(page, TRACE)
    playwright.expect(bot(page, "杭州转运中心")).to_be_visible(timeout=BOT_WAIT_MS)
    say(page, "转人工")
    playwright.expect(bot(page, "正在为您转接人工客服")).to_be_visible(timeout=BOT_WAIT_MS)
    line = page.locator("#handoff")
    playwright.expect(line).to_contain_text("排队中")
    playwright.expect(line).to_contain_text("分钟")

    session_id = waiting_session(stack, token)
    agent_call(stack, "POST", f"/api/handoff/sessions/{session_id}/pick", token)
    playwright.expect(bot(page, "人工客服小李已接入")).to_be_visible(timeout=BOT_WAIT_MS)
    playwright.expect(line).to_have_text("人工客服 小李 为您服务")

    say(page, "我的快递怎么还没到")
    playwright.expect(page.locator("#typing")).to_have_text("客服正在输入…", timeout=BOT_WAIT_MS)
    agent_call(stack, "POST", f"/api/handoff/sessions/{session_id}/reply", token, {"text": "您好，我帮您催一下顺丰"})
    reply = bot(page, "您好，我帮您催一下顺丰")
    playwright.expect(reply).to_be_visible(timeout=BOT_WAIT_MS)  # pushed while the widget is open
    playwright.expect(reply).to_have_class("msg bot agent")
    playwright.expect(page.locator("#typing")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "widget-agent.png"))

    agent_call(stack, "POST", f"/api/handoff/sessions/{session_id}/end", token, {"summary": "已告知物流进度"})
    playwright.expect(bot(page, "人工客服已结束本次会话")).to_be_visible(timeout=BOT_WAIT_MS)
    playwright.expect(line).to_be_hidden()
    assert errors == []
