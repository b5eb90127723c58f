"""Fixtures for the staff desk tests: a desk served in the test's event loop, on SQLite or on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.settings import Settings, load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import NOW, Desk, MovableClock, running_desk


@pytest.fixture
def desk_clock() -> MovableClock:
    return MovableClock(NOW)


def desk_settings(tmp_path: Path, database_url: str) -> Settings:
    # Embedded mode on purpose, also on PostgreSQL (which alone would mean scaled): these tests log in
    # with the demo accounts, and its secrets are generated under tmp_path.
    return load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": database_url, "XIAOZHI_MODE": "embedded"})


async def _desk(settings: Settings, clock: MovableClock) -> AsyncIterator[Desk]:
    tickets = build_ticket_service(settings, clock)
    try:
        async with running_desk(settings, tickets) as desk:
            yield desk
    finally:
        tickets._engine.dispose()


@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk on a fresh SQLite file."""
    async for running in _desk(desk_settings(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}"), desk_clock):
        yield running


@pytest.fixture
async def desk_each_db(tmp_path: Path, database_url: str, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk on SQLite, and again on PostgreSQL in the `postgres` suite."""
    async for running in _desk(desk_settings(tmp_path, database_url), desk_clock):
        yield running
