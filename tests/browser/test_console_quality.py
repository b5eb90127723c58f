"""质检 in the agents' console, headless Chromium against a real desk process (test_console.py's harness): a chat
with a forbidden phrase and an angry customer is flagged when it ends; a 主管 finds it under 会话审阅 → 质检 and
reviews it; agents do not see the tab.

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_quality.py
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scripts.launch import http
from service.settings import DEFAULT_DEMO_PASSWORD
from tests.browser.test_console import (  # noqa: F401  (desk, fake_rasa and page: the harness's fixtures)
    WAIT_MS,
    Desk,
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


def flagged_chat(desk: Desk) -> str:  # noqa: F811
    """agent2 takes 张伟, says 不知道, the customer answers 什么态度!!!, agent2 ends the chat: its session id."""
    status, login = http("POST", desk.url + "/api/auth/token", {"username": "agent2", "password": DEFAULT_DEMO_PASSWORD},
                         timeout=10)
    assert status == 200, login
    token = login["token"]
    staff_call(desk, "PUT", "/api/agents/me/status", token, {"status": "忙碌"})
    status, started = desk.bot("/api/handoff/sessions", handoff_request())
    assert status == 201, started
    session_id = started["session_id"]
    staff_call(desk, "POST", f"/api/handoff/sessions/{session_id}/pick", token)
    staff_call(desk, "POST", f"/api/handoff/sessions/{session_id}/reply", token, {"text": "这个我也不知道"})
    assert desk.bot(f"/api/handoff/sessions/{session_id}/messages", {"text": "什么态度!!!", "intent": "complaint"})[0] == 202
    staff_call(desk, "POST", f"/api/handoff/sessions/{session_id}/end", token, {"summary": "已登记，稍后回电"})
    return session_id


def log_in(page: Page, desk: Desk, username: str) -> None:  # noqa: F811
    page.goto(desk.url + "/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT_MS)


def test_a_supervisor_reviews_the_flags_of_a_finished_chat(desk: Desk, page: Page) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    session_id = flagged_chat(desk)

    log_in(page, desk, "supervisor")
    page.locator("#view-tabs [data-view=review]").click()
    page.locator("#review-tab-quality").click()
    rows = page.locator("#qa-results tbody tr")
    expect(rows).to_have_count(2)
    forbidden = rows.filter(has_text="服务禁语")
    expect(forbidden).to_contain_text("用了服务禁语「不知道」：这个我也不知道")
    expect(forbidden).to_contain_text("agent2")
    expect(forbidden).to_contain_text(f"会话 {session_id[:8]}")
    expect(rows.filter(has_text="客户不满")).to_contain_text("坐席回复后客户不满（意图 complaint）：什么态度!!!")
    expect(page.locator("#qa-pager")).to_contain_text("共 2 条")
    page.screenshot(path=str(screenshots() / "console-quality.png"))

    forbidden.get_by_role("button", name="复核").click()
    forbidden.get_by_label("复核备注").fill("已提醒坐席注意用语")
    forbidden.get_by_role("button", name="确认复核").click()
    expect(rows).to_have_count(1)  # the list shows 待复核 ones
    expect(rows.first).to_contain_text("客户不满")

    page.locator("#qa-status").select_option("reviewed")
    page.locator("#qa-filter").get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("已提醒坐席注意用语")
    expect(rows.first).to_contain_text("已复核")
    page.screenshot(path=str(screenshots() / "console-quality-reviewed.png"))
    assert problems == []


def test_agents_have_no_quality_tab(desk: Desk, page: Page) -> None:  # noqa: F811
    log_in(page, desk, "agent1")
    page.locator("#view-tabs [data-view=review]").click()
    playwright.expect(page.locator("#review-tab-quality")).to_be_hidden()
