"""设置 › 排班与服务时间 in the agents' console, headless Chromium against a real desk process (test_console.py's
harness): a 主管 changes a group's hours, adds a holiday and puts an agent on a shift in the weekly grid.

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_schedules.py
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from service.settings import DEFAULT_DEMO_PASSWORD, PROJECT_ROOT
from tests.browser.test_console import WAIT_MS, Desk, desk, fake_rasa, page  # noqa: F401  (the harness's fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"


def test_a_supervisor_edits_hours_holidays_and_shifts(desk: Desk, page: Page) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(desk.url + "/console/")
    page.get_by_label("用户名").fill("supervisor")
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/api/handoff/meta") and r.status == 200, timeout=WAIT_MS):
        page.get_by_role("button", name="登录").click()  # the console reads groups and names from the desk
    expect(page.locator("#me-name")).to_have_text("周主管")
    page.get_by_role("tab", name="设置").click()

    box = page.locator("#settings-schedules")
    tech = box.locator('#sched-groups tr[data-group="技术"]')
    expect(tech).to_contain_text("每天 00:00–23:59")  # the harness's handoff.yml: working_hours for every group
    expect(tech).to_contain_text("working_hours")
    expect(tech).to_contain_text("上班中")

    # 技术: 08:00–18:00, not on Sundays
    tech.get_by_role("button", name="编辑").click()
    tech.get_by_label("上班时间").fill("08:00")
    tech.get_by_label("下班时间").fill("18:00")
    tech.get_by_label("周日").uncheck()
    tech.get_by_role("button", name="保存").click()
    expect(page.locator(".toast-success").last).to_contain_text("技术服务时间已保存")
    expect(tech).to_contain_text("周一至周六 08:00–18:00")
    expect(tech).to_contain_text("工作台设置")

    # a holiday for 投诉 only
    holiday = box.locator("#sched-holiday-form")
    holiday.get_by_label("日期").fill("2027-01-02")
    holiday.get_by_label("技能组").select_option("投诉")
    holiday.get_by_label("说明").fill("团建")
    holiday.get_by_role("button", name="添加").click()
    row = box.locator("#sched-holidays li", has_text="2027-01-02")
    expect(row).to_contain_text("投诉")
    expect(row).to_contain_text("休息")
    expect(row).to_contain_text("团建")

    # 小王 on an evening shift on the week's Monday, added from the grid's "+"
    agent1 = box.locator('#sched-grid tr[data-agent="agent1"]')
    agent1.locator("td").first.get_by_role("button").click()
    shift = box.locator("#sched-shift-form")
    expect(shift.get_by_label("坐席")).to_have_value("agent1")
    shift.get_by_label("上班").fill("18:00")
    shift.get_by_label("下班").fill("23:00")
    shift.get_by_role("button", name="添加排班").click()
    expect(agent1.locator(".sched-shift")).to_have_text("18:00–23:00×")
    page.screenshot(path=str(SCREENSHOTS / "settings_schedules.png"), full_page=True)

    agent1.locator(".sched-remove").click()
    expect(agent1.locator(".sched-shift")).to_have_count(0)
    box.get_by_role("button", name="下一周 ›").click()
    expect(box.locator("#sched-week-label")).not_to_have_text("")
    assert problems == []
