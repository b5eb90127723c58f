"""补写服务小结 in the agents' console, headless Chromium against a real desk process (test_console.py's harness): a chat
that ended without the agent's summary (the customer left) stays in 我的会话 marked 待补写小结, also after a reload;
the agent adds the summary there, it is kept on the record and nothing is sent to the customer.

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_summary.py
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from handoff.bridge import AGENT_MESSAGE
from handoff.records import HandoffRecords
from scripts.launch import http
from service.clock import Clock
from service.db import make_engine
from service.settings import DEFAULT_DEMO_PASSWORD
from tests.browser.test_console import (  # noqa: F401  (desk, fake_rasa and page: the harness's fixtures)
    WAIT_MS,
    Desk,
    FakeRasa,
    desk,
    fake_rasa,
    handoff_request,
    page,
    screenshots,
    staff_call,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = pytest.mark.browser


def token_of(running: Desk, username: str) -> str:
    status, login = http("POST", running.url + "/api/auth/token",
                         {"username": username, "password": DEFAULT_DEMO_PASSWORD}, timeout=10)
    assert status == 200, login
    return str(login["token"])


def chat_the_customer_left(running: Desk, database: Path) -> str:
    """agent2 takes 张伟 and answers; then 张伟 leaves the chat (the record ends as customer_left): its session id.

    Over HTTP the bot only leaves the queue (不等了 in a chat is relayed to the agent), so the end is written to
    the desk's database the way the bridge's leave writes it; the console hears of it when it loads."""
    token = token_of(running, "agent2")
    staff_call(running, "PUT", "/api/agents/me/status", token, {"status": "忙碌"})
    status, started = running.bot("/api/handoff/sessions", handoff_request())
    assert status == 201, started
    session_id = str(started["session_id"])
    staff_call(running, "POST", f"/api/handoff/sessions/{session_id}/pick", token)
    staff_call(running, "POST", f"/api/handoff/sessions/{session_id}/reply", token, {"text": "快件在派送途中"})
    engine = make_engine(f"sqlite:///{database}")
    try:
        HandoffRecords(engine, Clock()).close(session_id, "ended", "customer_left")
    finally:
        engine.dispose()
    return session_id


def log_in(page: Page, running: Desk, username: str) -> None:  # noqa: F811
    page.goto(running.url + "/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT_MS)


def test_the_agent_adds_the_summary_of_a_chat_the_customer_left(desk: Desk, fake_rasa: FakeRasa,  # noqa: F811
                                                                 page: Page, tmp_path: Path) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    session_id = chat_the_customer_left(desk, tmp_path / "desk.db")
    told_before = len(fake_rasa.calls)

    log_in(page, desk, "agent2")
    waiting = page.locator("#chat-list li", has_text="张伟")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("待补写小结")
    waiting.get_by_role("button").click()
    banner = page.locator("#chat-banner")
    expect(banner).to_contain_text("客户已离开会话，请补写服务小结")
    expect(page.get_by_label("回复内容")).to_be_disabled()  # the chat is over: no reply, only the summary
    expect(page.locator("#transcript")).to_contain_text("快件在派送途中")

    banner.get_by_role("button", name="补写服务小结").click()
    dialog = page.locator("#end-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("补写服务小结")
    expect(dialog).to_contain_text("不会发送给客户")
    summary = dialog.get_by_role("textbox", name="服务小结")
    expect(summary).to_have_value("客户要求人工；问题：查物流；订单 E202611010001；已答复：快件在派送途中")
    summary.fill("")
    dialog.get_by_role("button", name="保存小结").click()
    expect(dialog).to_be_visible()  # an empty summary is not saved
    summary.fill("客户离开前已告知快件在派送途中")
    page.screenshot(path=str(screenshots() / "console-late-summary.png"))
    dialog.get_by_role("button", name="保存小结").click()

    expect(page.locator("#toasts")).to_contain_text("服务小结已保存")
    expect(banner).to_contain_text("服务小结已补写")
    expect(banner.get_by_role("button", name="补写服务小结")).to_be_hidden()
    expect(page.locator("#chat-list li")).to_have_count(0)
    view = staff_call(desk, "GET", f"/api/handoff/sessions/{session_id}", token_of(desk, "supervisor"))
    assert isinstance(view, dict) and view["closing_summary"] == "客户离开前已告知快件在派送途中"
    assert [c for c in fake_rasa.calls[told_before:] if c["intent"] == AGENT_MESSAGE] == []  # the customer has gone

    page.reload()  # kept on the record: nothing waits for a summary any more
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    expect(page.locator("#chats-empty")).to_be_visible()
    assert problems == []


def test_another_agent_is_not_offered_the_chat(desk: Desk, page: Page, tmp_path: Path) -> None:  # noqa: F811
    chat_the_customer_left(desk, tmp_path / "desk.db")
    log_in(page, desk, "agent1")
    playwright.expect(page.locator("#chats-empty")).to_be_visible()
    playwright.expect(page.locator("#chat-list li")).to_have_count(0)
