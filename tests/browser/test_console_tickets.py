"""工单 in the agents' console, headless Chromium against a real desk process (test_console.py's harness): agent2
(物流部) filters and searches their department's tickets, opens one, comments, moves it along the statuses the desk
offers, takes it; then opens a ticket from a handed-off chat with the 新建工单 dialog, prefilled from the chat.

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_tickets.py
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.settings import DEFAULT_DEMO_PASSWORD, PROJECT_ROOT, load_settings
from service.tickets import build_ticket_service
from service.tickets.rules import Category
from tests.browser.test_console import (  # noqa: F401  (the harness's fixtures)
    WAIT_MS,
    Desk,
    desk,
    fake_rasa,
    handoff_request,
    page,
)
from tests.desk_harness import draft

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"


def seed_tickets(tmp_path: Path) -> dict[str, str]:
    """Two 物流部 tickets and one of 售后技术, written into the desk's database."""
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path / "seed"), "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}",
                              "REDIS_URL": ""})
    tickets = build_ticket_service(settings)
    try:
        made = {
            "address": tickets.create(draft(Category.ADDRESS, "收货地址要改到公司", order_id="E202611150002",
                                            intent="change_address", summary="客户要求修改收货地址")).ticket.number,
            "urge": tickets.create(draft(Category.REGISTERED, "快递三天没动了", customer_id="C002", customer_name="李娜",
                                         customer_phone="13900139000", order_id="E202611120004", intent="urge_delivery",
                                         sender_id="web-c002", summary="客户催促派送")).ticket.number,
            "repair": tickets.create(draft()).ticket.number,  # 售后技术: not agent2's
        }
    finally:
        tickets.engine.dispose()
    return made


def test_an_agent_works_tickets_and_opens_one_from_a_chat(desk: Desk, page: Page, tmp_path: Path) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    made = seed_tickets(tmp_path)

    page.goto(desk.url + "/console/")
    page.get_by_label("用户名").fill("agent2")
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    page.get_by_role("radio", name="忙碌").check()
    expect(page.locator("#status-switch")).to_have_attribute("data-status", "忙碌")

    # 工单: only 物流部's, newest first; the customer masked in the table.
    page.get_by_role("tab", name="工单").click()
    rows = page.locator("#tk-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(made["urge"])
    expect(page.locator("#view-tickets")).not_to_contain_text(made["repair"])
    expect(rows.first).to_contain_text("李*")
    expect(rows.first).to_contain_text("139****9000")
    expect(page.locator("#tk-f-department")).to_be_disabled()  # an agent's list is their department's

    # Filters and search: 我的 is empty until a ticket is taken; a phone typed with spaces finds its ticket.
    page.get_by_label("我的", exact=True).check()
    expect(page.locator("#tk-empty")).to_be_visible()
    page.get_by_label("我的", exact=True).uncheck()
    expect(rows).to_have_count(2)
    page.get_by_label("状态", exact=True).select_option("新建")
    expect(rows).to_have_count(2)
    search = page.get_by_label("搜索工单号、订单号或手机号")
    search.fill("139 0013 9000")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(made["urge"])
    page.get_by_role("button", name="重置").click()
    expect(rows).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "console-tickets.png"))

    # The detail, from the keyboard: history, a comment, the statuses the desk allows, taking it.
    rows.filter(has_text=made["address"]).focus()
    page.keyboard.press("Enter")
    detail = page.locator("#tk-detail")
    expect(detail.locator(".tk-detail-number")).to_have_text(made["address"])
    expect(detail).to_contain_text("138****8000")
    expect(detail).not_to_contain_text("13800138000")
    expect(detail).not_to_contain_text("null")
    actions = detail.locator("#tk-status-actions button")
    expect(actions).to_have_text(["改为「已分派」", "改为「处理中」", "改为「已关闭」"])
    page.get_by_label("备注内容").fill("已联系快递站点改派")
    page.get_by_role("button", name="添加备注").click()
    expect(detail.locator(".tk-trail li").first).to_contain_text("已联系快递站点改派")
    page.get_by_role("button", name="把状态改为处理中").click()
    expect(detail.locator(".tk-detail-badges")).to_contain_text("处理中")
    expect(actions).to_have_text(["改为「待客户确认」", "改为「已解决」"])
    expect(detail.locator(".tk-trail li").first).to_contain_text("新建 → 处理中")
    page.get_by_label("分派给", exact=True).select_option("agent2")
    detail.get_by_role("button", name="分派", exact=True).click()
    expect(detail.locator(".tk-facts")).to_contain_text("agent2")
    page.get_by_label("我的", exact=True).check()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(made["address"])
    page.screenshot(path=str(SCREENSHOTS / "console-ticket-detail.png"))

    # A handed-off chat: 新建工单 next to 转接, prefilled by the desk from the chat's context.
    page.get_by_role("tab", name="会话", exact=True).click()
    status, started = desk.bot("/api/handoff/sessions", handoff_request())
    assert status == 201, started
    page.locator("#queue-list li").first.get_by_role("button", name="接入").click()
    expect(page.locator("#chat-title")).to_contain_text("张伟")
    button = page.locator("#chat-actions").get_by_role("button", name="新建工单")
    expect(button).to_be_enabled()
    button.click()
    dialog = page.locator("#tk-chat-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#tk-c-order")).to_have_value("E202611010001")
    expect(page.locator("#tk-c-category")).to_have_value("登记")
    expect(page.locator("#tk-c-priority")).to_have_value("紧急")  # 张伟 is a VIP
    expect(page.locator("#tk-c-title")).to_have_value("登记：订单E202611010001（蓝牙耳机 X1），客户询问订单E202611010001物流，"
                                                      "机器人已告知在杭州转运中心，客户要求人工")
    expect(page.locator("#tk-c-route")).to_contain_text("物流部")
    page.get_by_label("标题", exact=True).fill("顺丰件滞留杭州转运中心，需跟进")
    page.get_by_label("问题描述").fill("客户称包裹两天未更新，请物流部联系顺丰核实。")
    page.screenshot(path=str(SCREENSHOTS / "console-chat-ticket-dialog.png"))
    page.get_by_role("button", name="创建工单").click()
    expect(dialog).to_be_hidden()
    toast = page.locator(".toast", has_text="已创建工单")
    expect(toast).to_contain_text("物流部")
    number = toast.inner_text().split("已创建工单 ")[1].split("（")[0]
    toast.click()  # opens it in 工单
    expect(page.locator("#tk-detail .tk-detail-number")).to_have_text(number)
    expect(page.locator("#tk-detail")).to_contain_text("顺丰件滞留杭州转运中心，需跟进")
    expect(page.locator("#tk-detail .tk-trail li").last).to_contain_text(f"来自人工会话 {started['session_id']}")
    expect(page.locator("#tk-detail .tk-facts")).to_contain_text("E202611010001")
    page.screenshot(path=str(SCREENSHOTS / "console-ticket-from-chat.png"))
    assert problems == []
