"""The canned replies' table (migration 0007), on the bot's database's shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from service.tickets.schema import metadata

# A reply for one skill group's chats, or for every group's (skill_group NULL).
canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(30), nullable=False),
    Column("text", Text, nullable=False),
    Column("shortcut", String(16)),  # lower case; unique among the replies that have one
    Column("skill_group", String(16)),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_by", String(32), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_canned_replies_group", "skill_group"),
    Index("ux_canned_replies_shortcut", "shortcut", unique=True),
)
