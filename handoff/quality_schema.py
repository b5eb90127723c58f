"""The 质检 (quality check) flags of finished handoffs, in the bot's database (migration 0010)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

import handoff.schema  # noqa: F401  (handoff_sessions, which the flags point at)
from service.tickets.schema import metadata

quality_flags = Table(
    "quality_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("handoff_sessions.id"), nullable=False),
    Column("rule", String(32), nullable=False),  # first_reply_late | forbidden_phrase | customer_anger | no_summary
    Column("detail", Text, nullable=False),  # what was found, in Chinese; excerpts with phones and addresses masked
    Column("at", DateTime, nullable=False),  # when it happened in the chat (CST)
    Column("agent", String(32)),  # who served the chat
    Column("status", String(12), nullable=False),  # open | reviewed
    Column("flagged_at", DateTime, nullable=False),
    Column("reviewer", String(32)),
    Column("note", Text),
    Column("reviewed_at", DateTime),
)
Index("ix_quality_flags_status_at", quality_flags.c.status, quality_flags.c.at)
Index("ix_quality_flags_session", quality_flags.c.session_id)
Index("ix_quality_flags_at", quality_flags.c.at)
