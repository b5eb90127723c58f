"""Migration 0008 (the review inbox and its scans) builds what service/review/schema.py describes, and goes back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import handoff.schema  # noqa: F401  (the whole metadata, as migrations/env.py sees it)
import service.channel_schema  # noqa: F401
import service.identity_schema  # noqa: F401
import service.review.schema  # noqa: F401
from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.tickets.schema import metadata
from tests.unit.test_migration_staff_security import _mentions

TABLES = {"review_inbox", "review_scans"}
INDEXES = {"ix_review_inbox_status", "ix_review_inbox_conversation", "ix_review_inbox_batch", "uq_review_inbox_event"}


def test_0008_matches_the_schema_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if _mentions(d) & (TABLES | INDEXES)] == []
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0007")
        conn.commit()
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()
