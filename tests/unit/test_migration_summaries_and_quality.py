"""Migration 0010 (the 服务小结 column and the 质检 flags) builds what handoff/schema.py and handoff/quality_schema.py
describe, and goes back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import handoff.quality_schema  # noqa: F401  (the whole metadata, as migrations/env.py sees it)
import handoff.schema  # noqa: F401
import service.channel_schema  # noqa: F401
import service.identity_schema  # noqa: F401
from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.tickets.schema import metadata
from tests.unit.test_migration_staff_security import _mentions

NAMES = {"quality_flags", "closing_summary", "ix_quality_flags_status_at", "ix_quality_flags_session",
         "ix_quality_flags_at"}


def columns(engine: object, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_0010_matches_the_schema_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert "quality_flags" in inspect(engine).get_table_names()
    assert "closing_summary" in columns(engine, "handoff_sessions")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if _mentions(d) & NAMES] == []
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0009")
        conn.commit()
    assert "quality_flags" not in inspect(engine).get_table_names()
    assert "closing_summary" not in columns(engine, "handoff_sessions")
    upgrade(engine)
    assert "closing_summary" in columns(engine, "handoff_sessions")
    engine.dispose()
