"""Migration 0005 (token generations, revoked tokens, the audit log) builds what service/tickets/schema.py describes,
and goes back to 0004 cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import handoff.schema  # noqa: F401  (the whole metadata, as migrations/env.py sees it)
import service.identity_schema  # noqa: F401
from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.tickets.schema import metadata

TABLES = {"staff_token_generations", "revoked_tokens", "audit_log"}


def _mentions(diff: object) -> set[str]:
    found = set()
    for part in diff if isinstance(diff, list) else [diff]:
        for item in part if isinstance(part, tuple) else (part,):
            if isinstance(item, str):  # ('add_column', schema, 'audit_log', Column(...))
                found.add(item)
            for name in (getattr(item, "name", None), getattr(getattr(item, "table", None), "name", None)):
                if name:
                    found.add(str(name))
    return found


def test_0005_matches_the_schema_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if _mentions(d) & (TABLES | {f"ix_{t}" for t in TABLES} | {
        "ix_revoked_tokens_expires_at", "ix_audit_log_at", "ix_audit_log_viewer_at", "ix_audit_log_customer_at"})]
    assert ours == []
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0004")
        conn.commit()
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()
