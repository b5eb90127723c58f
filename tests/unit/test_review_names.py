"""The names masked in collected messages: the bot's database's and the CRM's (never failing the collection)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from desk.review_api import run_scans
from service.backends import build_backends
from service.db import make_engine
from service.migrate import upgrade
from service.review.facts import ConversationFacts
from service.review.names import CrmNames, KnownNames
from service.settings import load_settings
from tests.review_conversations import NAME, ZHANG, record_ownership


def test_names_from_the_database_and_the_crm(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    facts = ConversationFacts(engine)
    assert KnownNames(facts)(ZHANG, []) == set()
    record_ownership(engine)
    assert KnownNames(facts)(ZHANG, []) == {NAME}  # the handoff's context package
    crm = CrmNames(lambda: build_backends(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})))
    assert crm("C002") == "李娜" and crm("C999") is None
    assert KnownNames(facts, crm)("rest-other", ["C002"]) == {"李娜"}


def test_a_failing_crm_gives_no_name() -> None:
    def broken() -> Any:
        raise RuntimeError("down")

    assert CrmNames(broken)("C001") is None


async def test_no_lookup_blocks_an_event_loop() -> None:
    assert CrmNames(lambda: pytest.fail("not called"))("C001") is None


async def test_the_background_scan_goes_on_after_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def scan() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("tracker store away")
        return SimpleNamespace(added=1, scanned=1, more=len(calls) == 2)

    job = asyncio.create_task(run_scans(SimpleNamespace(scan=scan), asyncio.Lock(), 0.01))  # type: ignore[arg-type]
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.01)
    job.cancel()
    assert len(calls) >= 3  # failed, then a bounded scan with more to read, then at once the rest
    assert "review_scan_failed" in caplog.text
