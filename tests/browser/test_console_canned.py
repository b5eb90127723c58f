"""快捷回复 in the agents' console, headless Chromium against a real desk process (test_console.py's harness): a 主管
adds a reply for 物流 in 设置 › 快捷回复; agent2 (物流) in a handed-off chat types "/" and part of its title, picks it
with Enter, and the placeholders are filled with the customer's name and order.

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_canned.py
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from handoff.bridge import AGENT_MESSAGE
from service.settings import DEFAULT_DEMO_PASSWORD, PROJECT_ROOT
from tests.browser.test_console import (  # noqa: F401  (the harness's fixtures)
    SENDER,
    SUMMARY,
    WAIT_MS,
    Desk,
    FakeRasa,
    desk,
    fake_rasa,
    handoff_request,
    page,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"
TEXT = "{customer_name}您好，订单{order_id}预计明天送达，请保持电话畅通。"
FILLED = "张伟您好，订单E202611010001预计明天送达，请保持电话畅通。"
TRACK = "好的 我查到订单E202611010001的快件（运单号{}）正在运输途中，有最新进展会第一时间通知您。"


def log_in(browser: Page, username: str) -> None:
    browser.get_by_label("用户名").fill(username)
    browser.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    browser.get_by_role("button", name="登录").click()


def test_a_supervisor_adds_a_reply_and_the_agent_inserts_it_with_slash(  # noqa: F811
        desk: Desk, fake_rasa: FakeRasa, page: Page) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # 周主管 adds 到货提醒 for 物流 in 设置 › 快捷回复
    page.goto(desk.url + "/console/")
    log_in(page, "supervisor")
    expect(page.locator("#me-name")).to_have_text("周主管")
    page.get_by_role("tab", name="设置").click()
    box = page.locator("#settings-canned")
    expect(box.get_by_role("cell", name="问候", exact=True)).to_have_count(1)  # the defaults of an embedded desk
    box.get_by_role("button", name="新增快捷回复").click()
    dialog = page.locator("#canned-dialog")
    dialog.get_by_label("标题").fill("到货提醒")
    dialog.get_by_label("快捷码（可选）").fill("arrive")
    dialog.get_by_label("技能组").select_option("物流")
    dialog.get_by_label("快捷回复内容").fill("您好，{phone}")
    expect(dialog.locator("#canned-problem")).to_contain_text("未知的占位符 {phone}")
    dialog.get_by_label("快捷回复内容").fill("")
    dialog.locator(".canned-ph", has_text="客户姓名").click()  # the placeholder help inserts {customer_name}
    dialog.get_by_label("快捷回复内容").press_sequentially("您好，订单")
    dialog.locator(".canned-ph", has_text="订单号").click()
    dialog.get_by_label("快捷回复内容").press_sequentially("预计明天送达，请保持电话畅通。")
    expect(dialog.get_by_label("快捷回复内容")).to_have_value(TEXT)
    expect(dialog.locator("#canned-preview")).to_have_text(FILLED)  # the sample customer is 张伟 too
    page.screenshot(path=str(SCREENSHOTS / "console-canned-editor.png"))
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator(".toast-success").last).to_contain_text("到货提醒")
    row = box.locator("#canned-rows tr", has_text="到货提醒")
    expect(row).to_contain_text("物流")
    expect(row).to_contain_text("/arrive")
    box.get_by_label("搜索").fill("到货")
    expect(box.locator("#canned-rows tr")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "console-canned-settings.png"))
    page.get_by_role("tab", name="会话", exact=True).click()  # (logging out does not reset the view)
    page.get_by_role("button", name="退出登录").click()

    # agent2 (物流部: 物流, 售前咨询) takes 张伟's chat
    log_in(page, "agent2")
    expect(page.locator("#me-name")).to_have_text("小李")
    page.get_by_role("radio", name="忙碌").check()
    status, started = desk.bot("/api/handoff/sessions", handoff_request())
    assert (status, started["group"]) == (201, "物流"), started
    page.locator("#queue-list li", has_text=SUMMARY).get_by_role("button", name="接入").click()
    expect(page.locator("#chat-title")).to_contain_text("张伟")

    # the buttons above the box: the server's replies for 物流 and every group, never 技术's
    chips = page.locator("#quick-replies")
    expect(chips.get_by_role("button", name="问候", exact=True)).to_be_visible()
    chips.get_by_role("button", name="问候", exact=True).click()
    reply = page.get_by_label("回复内容", exact=True)
    expect(reply).to_have_value("您好，我是客服小李，很高兴为您服务，请问有什么可以帮您？")
    reply.fill("")

    # "/" + part of the title: the list filters; another group's reply is not offered; Esc closes it
    popup = page.locator("#canned-popup")
    reply.press_sequentially("/重启")
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("没有匹配的快捷回复")
    reply.press("Escape")
    expect(popup).to_be_hidden()
    expect(reply).to_have_value("/重启")
    reply.fill("")
    reply.press_sequentially("/到货")
    expect(popup.get_by_role("option")).to_have_count(1)
    expect(popup.get_by_role("option").first).to_contain_text("到货提醒")
    expect(popup.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    expect(popup.get_by_role("option").first).to_contain_text(FILLED)
    page.screenshot(path=str(SCREENSHOTS / "console-canned-slash.png"))
    reply.press("Enter")
    expect(popup).to_be_hidden()
    expect(reply).to_have_value(FILLED)  # inserted in place of "/到货", not sent

    # Enter now sends it
    reply.press("Enter")
    expect(reply).to_have_value("")
    expect(page.locator("#transcript .msg-agent .bubble").last).to_have_text(FILLED)
    [sent] = fake_rasa.wait_for(AGENT_MESSAGE)
    assert (sent["sender"], sent["entities"]["agent_text"]) == (SENDER, FILLED)

    # a value the chat lacks is a marker, selected, and a reply with a marker is not sent
    reply.press_sequentially("好的 /track")
    expect(popup.get_by_role("option").first).to_contain_text("物流查询")
    popup.get_by_role("option").first.click()  # the mouse works too
    expect(reply).to_have_value(TRACK.format("【待填：运单号】"))
    assert page.evaluate("(() => { const b = document.getElementById('reply-input');"
                         " return b.value.slice(b.selectionStart, b.selectionEnd); })()") == "【待填：运单号】"
    reply.press("Enter")
    expect(page.locator(".toast-error").last).to_contain_text("待填")
    assert len(fake_rasa.wait_for(AGENT_MESSAGE, timeout_s=0.3)) == 1
    page.keyboard.type("SF1234567890")
    expect(reply).to_have_value(TRACK.format("SF1234567890"))
    page.screenshot(path=str(SCREENSHOTS / "console-canned-chat.png"))
    assert problems == []
