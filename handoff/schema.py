"""Tables of the handoff records (sessions, messages, assignments), in the bot's database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from service.tickets.schema import metadata

sessions = Table(
    "handoff_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sender_id", String(200), nullable=False, index=True),
    Column("channel", String(32), nullable=False, default=""),
    Column("customer_id", String(16)),
    Column("reason", String(24), nullable=False),
    Column("skill_group", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("agent", String(32)),
    Column("summary", Text, nullable=False, default=""),
    Column("context_json", Text, nullable=False, default="{}"),
    Column("queued_at", DateTime, nullable=False),
    Column("assigned_at", DateTime),
    Column("first_agent_reply_at", DateTime),
    Column("ended_at", DateTime),
    Column("end_reason", String(24)),
    Column("ticket_number", String(24)),
    Column("rating", Integer),
    Column("rating_comment", Text),
    Column("closing_summary", Text),  # 服务小结: the agent's one line at the end, also sent to the customer (0010)
)
Index("ix_handoff_sessions_status", sessions.c.status, sessions.c.queued_at)

messages = Table(
    "handoff_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("handoff_sessions.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("direction", String(8), nullable=False),  # customer | agent | system
    Column("author", String(32), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("intent", String(60)),
    Column("entities_json", Text),
    Column("channel", String(16)),  # the customer's channel for this message (wechat, app, socketio, rest)
)

assignments = Table(
    "handoff_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("handoff_sessions.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("agent", String(32)),
    Column("skill_group", String(16), nullable=False),
    Column("kind", String(12), nullable=False),  # auto | pick | transfer
    Column("by", String(32), nullable=False, default=""),
)
