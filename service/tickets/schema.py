"""Tables of the ticket system (the bot's own database). Changes go through migrations/."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(24), unique=True),
    Column("kind", String(8), nullable=False),
    Column("category", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("department", String(16), nullable=False),
    Column("assignee", String(64)),
    Column("customer_id", String(16)),
    Column("customer_name", String(32), nullable=False, default=""),
    Column("customer_phone", String(20), nullable=False, default=""),
    Column("customer_address", String(200), nullable=False, default=""),
    Column("customer_vip", Boolean, nullable=False, default=False),
    Column("channel", String(32), nullable=False, default=""),
    Column("sender_id", String(200), nullable=False, default=""),
    Column("order_id", String(20)),
    Column("product", String(64), nullable=False, default=""),
    Column("intent", String(40), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("transcript", Text, nullable=False, default=""),
    Column("open_key", String(160), unique=True),
    Column("linked_ticket_id", Integer, ForeignKey("tickets.id")),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("first_response_due", DateTime, nullable=False),
    Column("resolution_due", DateTime, nullable=False),
    Column("first_responded_at", DateTime),
    Column("resolved_at", DateTime),
    Column("closed_at", DateTime),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("escalation_level", Integer, nullable=False, default=0),
    Column("rating_requested_at", DateTime),
)
Index("ix_tickets_status_created", tickets.c.status, tickets.c.created_at)
Index("ix_tickets_department_created", tickets.c.department, tickets.c.created_at)
Index("ix_tickets_customer", tickets.c.customer_id, tickets.c.created_at)
Index("ix_tickets_sender", tickets.c.sender_id)
Index("ix_tickets_created", tickets.c.created_at)
Index("ix_tickets_resolution_due", tickets.c.resolution_due)
# the desk's search by order id or phone, and its overdue filter (migration 0002)
Index("ix_tickets_order", tickets.c.order_id)
Index("ix_tickets_phone", tickets.c.customer_phone)
Index("ix_tickets_overdue_created", tickets.c.overdue, tickets.c.created_at)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_status", String(8)),
    Column("to_status", String(8)),
    Column("comment", Text, nullable=False, default=""),
)

ratings = Table(
    "ticket_ratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("at", DateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("department", String(16), nullable=False),
    Column("recipient", String(32), nullable=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("read_at", DateTime),
)

staff = Table(
    "staff",
    metadata,
    Column("username", String(32), primary_key=True),
    Column("display_name", String(32), nullable=False),
    Column("role", String(8), nullable=False),
    Column("department", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("skill_groups", String(200), nullable=False, default=""),  # comma-separated, for handoffs
    Column("capacity", Integer, nullable=False, default=3),  # concurrent chats
)

# --- staff security (migration 0005) -----------------------------------------------------------------

# Bumped by `python -m desk.staff passwd|disable`: tokens carry the generation they were issued under, older ones
# are refused. A table of its own rather than a staff column, so the account rows stay as they were.
staff_token_generations = Table(
    "staff_token_generations",
    metadata,
    Column("username", String(32), ForeignKey("staff.username"), primary_key=True),
    Column("generation", Integer, nullable=False, default=0),
)

# Tokens revoked by POST /api/auth/logout before they expire; rows past `expires_at` are pruned.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(32), primary_key=True),
    Column("username", String(32), nullable=False),
    Column("revoked_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
)

# 操作日志: a 主管 was shown a customer's phone, address or ID number whole. Insert-only: nothing in the desk
# updates or deletes a row.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("viewer", String(32), nullable=False),
    Column("role", String(8), nullable=False),
    Column("customer_id", String(64), nullable=False, default=""),
    Column("shown", String(64), nullable=False),  # comma-separated: address, email, id_number, phone
    Column("source", String(80), nullable=False),  # the route (GET /api/tickets/<number>) or push (ws:assigned)
    Column("reference", String(64), nullable=False, default=""),  # a ticket number or a handoff session id
)
Index("ix_audit_log_at", audit_log.c.at)
Index("ix_audit_log_viewer_at", audit_log.c.viewer, audit_log.c.at)
Index("ix_audit_log_customer_at", audit_log.c.customer_id, audit_log.c.at)
