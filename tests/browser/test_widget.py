"""The customers' chat widget in Chromium against the whole running stack (socket.io)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright
import pytest

from scripts.launch import Stack, StackError, start_stack
from tests.browser.test_console import CHROMIUM, CHROMIUM_ARGS, WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("widget")
    try:
        # the page is served by the desk; Rasa's socket.io must accept that origin
        running = start_stack(work, {"XIAOZHI_TODAY": "2026-11-21", "IDENTITY_SECRET": ""}, desks=1)
    except StackError as error:
        pytest.fail(str(error))
    yield running
    running.stop()


def test_a_customer_chats_in_the_widget(stack: Stack, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("needs Debian's Chromium at /usr/bin/chromium: run `make chromium`")
    desk = stack.urls["desk"]
    rasa_port = stack.rasa_url.rsplit(":", 1)[1]
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(locale="zh-CN")
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{desk}/chat/?rasa=http://127.0.0.1:{rasa_port}")
        page.get_by_role("button", name="在线客服").click()
        greeting = page.locator(".msg.bot").first
        playwright.expect(greeting).to_contain_text("金卡会员")  # the demo page signs in as 张伟 (C001)
        page.get_by_label("输入消息").fill("查一下E202611010001的物流")
        page.keyboard.press("Enter")
        playwright.expect(page.locator(".msg.bot").filter(has_text="SF1234567890")).to_be_visible()
        playwright.expect(page.locator(".msg.bot").filter(has_text="杭州转运中心")).to_be_visible()
        page.screenshot(path=str(tmp_path / "widget.png"))
        browser.close()
    assert errors == []
