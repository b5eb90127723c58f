"""会话审阅 in the agents' console, headless Chromium against a real desk process (test_console.py's harness): a 主管
reads a transcript, finds a fallback message in the training inbox, corrects its intent and exports the YAML, which
parses and passes `make validate`'s checks in a copy of the project.

Run: .venv/bin/python -m pytest -m browser tests/browser/test_console_review.py
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from service.secrets import stored_secret
from service.settings import DEFAULT_DEMO_PASSWORD, PROJECT_ROOT, load_settings
from tests.browser.test_console import WAIT_MS, Desk, desk, fake_rasa, page  # noqa: F401  (the harness's fixtures)
from tests.review_conversations import ID_NUMBER, NAME, PHONE, write_conversations
from tests.review_validation import assert_export_validates

if TYPE_CHECKING:
    from playwright.sync_api import Page

import playwright.sync_api as playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # slow: the export's validation
SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"


@pytest.fixture(autouse=True)
def _restore_log_record_factory() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


def conversations_for(desk_dir: Path, database: Path) -> None:
    """The review tests' three conversations in the desk's tracker store (var dir tracker.db), with its key."""
    settings = load_settings({"XIAOZHI_VAR_DIR": str(desk_dir), "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": ""})
    key = stored_secret(settings, "TRACKER_ENCRYPTION_KEY")
    failure: list[BaseException] = []

    def write() -> None:  # its own thread: Playwright's sync API owns this one's event loop
        try:
            asyncio.run(write_conversations(desk_dir, key))
        except BaseException as exc:  # noqa: BLE001  (re-raised below)
            failure.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]


def test_a_designer_corrects_a_fallback_and_exports_yaml(desk: Desk, page: Page, tmp_path: Path) -> None:  # noqa: F811
    expect = playwright.expect
    problems: list[str] = []  # this module's: the console's other modules are other tests' business
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error} {error.stack}")
            if "review" in (error.stack or "") else None)
    page.on("response", lambda answer: problems.append(f"HTTP {answer.status} {answer.url}")
            if answer.status >= 400 and "review" in answer.url else None)
    conversations_for(tmp_path / "desk", tmp_path / "desk.db")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(desk.url + "/console/")
    page.get_by_label("用户名").fill("supervisor")
    page.get_by_label("密码").fill(DEFAULT_DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).to_have_text("周主管")
    page.get_by_role("tab", name="会话审阅").click()

    # 会话记录: the fallback conversation, read as the NLU read it
    conversations = page.locator("#review-conversations")  # scoped: other modules share the panel
    conversations.get_by_label("意图").fill("nlu_fallback")
    conversations.get_by_role("button", name="查询").click()
    rows = page.locator("#rv-results .rv-row")
    expect(rows).to_have_count(1)
    rows.first.click()
    transcript = page.locator("#rv-transcript")
    expect(transcript.locator(".rv-customer")).to_have_count(3)
    expect(transcript.locator(".rv-intent-fallback").first).to_have_text("nlu_fallback")
    expect(transcript.locator(".rv-agent .rv-who")).to_have_text("坐席 小王")
    expect(transcript.locator(".rv-action-name").first).to_have_text("action_default_fallback")
    expect(transcript.locator(".rv-entity").first).to_contain_text("E202611010001")
    page.screenshot(path=str(SCREENSHOTS / "review_transcript.png"), full_page=True)

    # 训练数据: collect, find the fallback, correct it
    page.locator("#review-tabs").get_by_role("tab", name="训练数据").click()
    inbox = page.locator("#review-inbox")
    inbox.get_by_role("button", name="立即扫描").click()
    expect(page.locator(".toast-success").last).to_contain_text("新增 3 条")
    fallback = inbox.locator('.rv-inbox-row[data-source="fallback"]')
    expect(fallback).to_have_count(1)
    expect(fallback.locator(".rv-inbox-text .rv-text")).to_contain_text("138****8000")
    assert PHONE not in page.locator("#review-inbox").inner_text()
    assert NAME not in page.locator("#review-inbox").inner_text()
    fallback.get_by_label("意图").fill("query_logistics")
    fallback.get_by_role("button", name="改为").click()
    expect(page.locator(".toast-success").last).to_contain_text("已改正：query_logistics")
    page.locator("#rv-inbox-status").select_option("")  # 全部状态
    corrected = inbox.locator('.rv-inbox-row[data-source="fallback"]')
    expect(corrected.locator(".rv-status")).to_have_text("已改正")
    page.screenshot(path=str(SCREENSHOTS / "review_inbox.png"), full_page=True)

    with page.expect_download(timeout=WAIT_MS) as downloading:
        inbox.get_by_role("button", name="导出 YAML").click()
    download = downloading.value
    assert download.suggested_filename.startswith("review_") and download.suggested_filename.endswith(".yml")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    expect(corrected.locator(".rv-status")).to_contain_text("已导出")
    page.screenshot(path=str(SCREENSHOTS / "review_exported.png"), full_page=True)

    text = saved.read_text(encoding="utf-8")
    content = yaml.safe_load(text)
    assert content["version"] == "3.1"
    assert [(b["intent"], b["examples"].strip()) for b in content["nlu"]] == [
        ("query_logistics", "- 我是某某，手机138****8000，身份证330106********4，东西咋还没到")]
    assert PHONE not in text and ID_NUMBER not in text and NAME not in text
    assert_export_validates(saved.name, text, tmp_path / "validate")
    assert problems == []
