"""The supervisors' 现场管理 and 报表 views of the console in headless Chromium, against a real desk process.

Reuses tests/browser/test_console.py's harness (a desk on a free port, a fake Rasa, Chromium). Screenshots go to
results/screenshots/. Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_reports.py
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scripts.launch import ROOT, http
from service.settings import DEFAULT_DEMO_PASSWORD
from tests.browser.test_console import WAIT_MS, Desk, desk, fake_rasa, handoff_request, page  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = pytest.mark.browser
SCREENSHOTS = ROOT / "results" / "screenshots"
BOM = b"\xef\xbb\xbf"


def login(page: Page, url: str, username: str) -> None:  # noqa: F811
    page.goto(url + "/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT_MS)


def test_supervisor_watches_the_board_and_exports_a_report(desk: Desk, page: Page, tmp_path: Path) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # 周主管 logs in and goes 忙碌: at work (so customers may queue) but given no chat automatically.
    login(page, desk.url, "supervisor")
    page.get_by_role("radio", name="忙碌").check()
    expect(page.locator("#status-switch")).to_have_attribute("data-status", "忙碌")

    # 现场: nobody waits yet.
    page.get_by_role("tab", name="现场").click()
    board = page.locator("#view-board")
    expect(board).to_be_visible()
    expect(board.locator('[data-kpi="排队人数"] .board-card-value')).to_have_text("0")
    expect(board.locator('[data-group="物流"]')).to_have_attribute("data-waiting", "0")

    # The bot queues 张伟 (物流): the board shows it without a reload (desk event or the 5 s poll).
    status, started = desk.bot("/api/handoff/sessions", handoff_request())
    assert (status, started["status"], started["group"]) == (201, "queued", "物流"), started
    expect(board.locator('[data-group="物流"]')).to_have_attribute("data-waiting", "1", timeout=WAIT_MS)
    expect(board.locator('[data-kpi="排队人数"] .board-card-value')).to_have_text("1")
    expect(board.locator(".rp-table", has_text="周主管")).to_contain_text("忙碌")
    page.screenshot(path=str(SCREENSHOTS / "console-board.png"), full_page=True)

    # 报表: today's KPIs, a chart drawn on a canvas, and a table exported as CSV for Excel.
    page.get_by_role("tab", name="报表").click()
    reports = page.locator("#view-reports")
    expect(reports.locator('[data-kpi="转人工率"]')).to_be_visible()
    expect(reports.locator('[data-kpi="会话数"] .rp-kpi-value')).to_have_text("0")  # no tracker conversation here
    expect(reports.locator('.rp-chart[data-chart="handoff_reasons"] canvas')).to_have_count(1)
    expect(reports.locator('[data-table="handoff_reasons"] tbody')).to_contain_text("客户要求人工")
    expect(reports.locator('[data-table="misunderstood"] .empty-note')).to_have_text("本期没有未识别的消息")
    with page.expect_download() as downloading:
        reports.get_by_role("button", name="导出「转人工原因」CSV").click()
    download = downloading.value
    assert download.suggested_filename.startswith("report-handoff_reasons-today-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(BOM)
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[:2] == ["转人工原因,原因代码,次数,占比", "客户要求人工,request_human,1,100.0%"]
    reports.get_by_role("button", name="近7天").click()
    expect(reports.locator("#report-range")).to_contain_text("近7天")
    expect(reports.locator('.rp-chart[data-chart="daily"] canvas')).to_have_count(1)
    page.wait_for_timeout(800)  # the charts' short animation
    page.screenshot(path=str(SCREENSHOTS / "console-reports.png"), full_page=True)
    assert problems == []


def test_an_agent_cannot_read_reports(desk: Desk) -> None:  # noqa: F811
    status, body = http("POST", desk.url + "/api/auth/token", {"username": "agent1", "password": DEFAULT_DEMO_PASSWORD})
    assert status == 200, body
    headers = {"Authorization": f"Bearer {body['token']}"}
    for path in ("/api/reports/board", "/api/reports/summary?period=7d", "/api/reports/daily.csv"):
        assert http("GET", desk.url + path, headers=headers)[0] == 403, path
        assert http("GET", desk.url + path)[0] == 401, path
