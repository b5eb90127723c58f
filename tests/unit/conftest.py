"""Fixtures for the staff desk tests: a desk served in the test's event loop, on SQLite or on each database (the
helpers behind them, shared by the desk's test modules, are in tests/unit/desk_fixtures.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.desk_harness import NOW, Desk, MovableClock
from tests.unit.desk_fixtures import desk_settings, restored_log_record_factory, serve_desk


@pytest.fixture
def desk_clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def restore_log_record_factory() -> Iterator[None]:
    """For modules that use the review service: `pytestmark = pytest.mark.usefixtures(...)`."""
    yield from restored_log_record_factory()


@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk on a fresh SQLite file."""
    async with serve_desk(desk_settings(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}"), desk_clock) as running:
        yield running


@pytest.fixture
async def desk_each_db(tmp_path: Path, database_url: str, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk on SQLite, and again on PostgreSQL in the `postgres` suite."""
    async with serve_desk(desk_settings(tmp_path, database_url), desk_clock) as running:
        yield running
