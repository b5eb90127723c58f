"""Shared fixtures: a freshly seeded demo database per test, a fixed clock, services."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from actions.deps import Services, build_services  # noqa: E402
from service.backends import build_backends  # noqa: E402
from service.backends.base import Backends  # noqa: E402
from service.clock import Clock, fixed_clock  # noqa: E402
from service.settings import Settings, load_settings  # noqa: E402
from service.tickets import build_ticket_service  # noqa: E402
from service.tickets.service import TicketService  # noqa: E402

NOW = datetime(2026, 11, 21, 10, 0)


@pytest.fixture
def clock() -> Clock:
    return fixed_clock(NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "BACKEND_TIMEOUT_S": "2"})


@pytest.fixture
def backends(settings: Settings, clock: Clock) -> Backends:
    return build_backends(settings, clock)


@pytest.fixture
def services(backends: Backends, clock: Clock, settings: Settings) -> Services:
    return build_services(backends, clock, build_ticket_service(settings, clock), settings=settings)


def _postgres_url(database: str) -> str:
    return os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/") + database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickets.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"xiaozhi_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_postgres_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _postgres_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def tickets(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[TicketService]:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": database_url})
    service = build_ticket_service(settings, clock)
    yield service
    service._engine.dispose()
