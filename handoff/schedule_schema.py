"""Tables of the desk's schedules (migration 0009), on the bot's database's shared metadata: group hours that
override handoff.yml's, days closed or with other hours (holidays), and agents' shifts (排班)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, String, Table

from service.tickets.schema import metadata

# A skill group's weekly hours set in the desk; groups without a row keep handoff.yml's.
group_hours = Table(
    "handoff_group_hours",
    metadata,
    Column("skill_group", String(16), primary_key=True),
    Column("start", String(5), nullable=False),  # HH:MM, CST
    Column("end", String(5), nullable=False),  # at or before start: the next day (overnight)
    Column("days", String(16), nullable=False),  # ISO weekdays, comma-separated: 1,2,3,4,5
    Column("updated_by", String(32), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# A date closed (a holiday) or with other hours, for one skill group or all (skill_group NULL).
day_rules = Table(
    "handoff_day_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("skill_group", String(16)),
    Column("closed", Boolean, nullable=False),
    Column("start", String(5)),
    Column("end", String(5)),
    Column("note", String(60), nullable=False, default=""),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_handoff_day_rules_day", "day"),
)

# An agent on duty from start to end of a day (end at or before start: until the next day).
shifts = Table(
    "handoff_shifts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("start", String(5), nullable=False),
    Column("end", String(5), nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_handoff_shifts_day", "day", "username"),
)
