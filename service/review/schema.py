"""Tables of conversation review (migration 0008), on the bot's database's shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table, Text, UniqueConstraint

from service.tickets.schema import metadata

# One customer message a designer should look at: the NLU fell back on it, was unsure of it, or a reviewer marked
# it. The text is stored masked (service/review/masking.py): no phone, ID number, e-mail, address or known name.
review_inbox = Table(
    "review_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, nullable=False),  # the tracker store's events.id: one item per message
    Column("sender_id", String(200), nullable=False),  # the conversation's key: never sent to staff
    Column("conversation", String(16), nullable=False),  # its pseudonym (service/privacy.conversation_ref)
    Column("text", Text, nullable=False),
    Column("guess", String(80), nullable=False),  # the NLU's best intent (under nlu_fallback: the best real one)
    Column("confidence", Float),
    Column("source", String(16), nullable=False),  # fallback | low_confidence | marked
    Column("status", String(12), nullable=False),  # new | confirmed | corrected | discarded
    Column("intent", String(80)),  # the intent a designer chose
    Column("reviewer", String(32)),
    Column("said_at", DateTime, nullable=False),  # when the customer wrote it (CST)
    Column("collected_at", DateTime, nullable=False),
    Column("reviewed_at", DateTime),
    Column("batch", String(32)),  # the export it went out in
    Column("exported_at", DateTime),
    UniqueConstraint("event_id", name="uq_review_inbox_event"),
)
Index("ix_review_inbox_status", review_inbox.c.status, review_inbox.c.said_at)
Index("ix_review_inbox_conversation", review_inbox.c.conversation)
Index("ix_review_inbox_batch", review_inbox.c.batch)

# How far the collection has read the tracker store: the last event id scanned, per scanner.
review_scans = Table(
    "review_scans",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", Integer, nullable=False, default=0),
    Column("scanned_at", DateTime, nullable=False),
)
