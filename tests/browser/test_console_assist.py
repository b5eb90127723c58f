"""推荐答案 in the agents' console, headless Chromium against a real desk process (test_console.py's harness): in a
handed-off chat the card shows the knowledge base's top 3 for the customer's latest message, follows a new message,
and 「使用」 puts an answer into the reply box. The desk builds the real index (FAQ, docs/kb/, the encoder) on start:
until it is ready the card says so and asks again (GET /api/assist/status: no 503 in the browser's log).

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_assist.py
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from service.settings import DEFAULT_DEMO_PASSWORD
from tests.browser.test_console import (  # noqa: F401  (the harness's fixtures)
    SUMMARY,
    WAIT_MS,
    Desk,
    FakeRasa,
    desk,
    fake_rasa,
    handoff_request,
    page,
    screenshots,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = pytest.mark.browser
BUILD_MS = 90_000  # a fresh desk process loads jieba and the encoder and encodes every passage first
SOURCES = {"FAQ", "政策文档", "历史回复"}


def test_the_card_suggests_answers_and_use_fills_the_reply_box(  # noqa: F811
        desk: Desk, fake_rasa: FakeRasa, page: Page) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)

    page.goto(desk.url + "/console/")
    page.get_by_label("用户名").fill("agent2")
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).to_have_text("小李")
    page.get_by_role("radio", name="忙碌").check()
    card = page.locator("#assist-card")
    expect(card).to_be_hidden()  # no chat open

    status, started = desk.bot("/api/handoff/sessions", handoff_request())
    assert (status, started["group"]) == (201, "物流"), started
    session_id = started["session_id"]
    page.locator("#queue-list li", has_text=SUMMARY).get_by_role("button", name="接入").click()
    expect(page.locator("#chat-title")).to_contain_text("张伟")
    expect(card).to_be_visible()
    expect(card.locator(".card-title")).to_have_text("推荐答案")
    expect(card).to_contain_text("客户发来消息后显示推荐答案")  # no customer message since the handoff

    status, _ = desk.bot(f"/api/handoff/sessions/{session_id}/messages",
                         {"text": "快递三天都没动了 是不是丢件了啊", "intent": "query_logistics", "entities": []})
    assert status == 202
    items = card.locator(".assist-item")
    expect(items).to_have_count(3, timeout=BUILD_MS)
    expect(card.locator(".assist-query")).to_contain_text("是不是丢件了")
    for index in range(3):
        assert items.nth(index).locator(".assist-source").inner_text() in SOURCES
    lost = items.filter(has_text="物流停滞、丢件和破损")  # docs/kb/delivery.md, among the three
    expect(lost.locator(".assist-source")).to_have_text("政策文档")
    text = lost.locator(".assist-text").inner_text()
    assert "补发或全额退款" in text
    page.screenshot(path=str(screenshots() / "console-assist.png"))

    reply = page.get_by_label("回复内容", exact=True)
    lost.get_by_role("button", name="使用").click()
    expect(reply).to_have_value(text)
    expect(reply).to_be_focused()

    # a new message: the card follows it
    status, _ = desk.bot(f"/api/handoff/sessions/{session_id}/messages",
                         {"text": "那我要是拒收的话钱多久退回来", "intent": "refund_status", "entities": []})
    assert status == 202
    expect(card.locator(".assist-query")).to_contain_text("拒收", timeout=WAIT_MS)
    expect(items).to_have_count(3)
    expect(card).to_contain_text("1–3个工作日")
    page.screenshot(path=str(screenshots() / "console-assist-next.png"))
    assert problems == []
