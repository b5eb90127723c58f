"""The reporting table the event consumer feeds (migration 0011), on the bot's database's shared metadata.

`conversation_events` holds, per conversation, the few tracker events the conversation figures read
(service/reports/conversations.py): the user events, the bot's `action_default_fallback` and the slots that
tell whether a rating is stored in SQL. Reports read it instead of decrypting the whole tracker store
(REPORTS_FROM_EVENTS=1). No conversation key and no full customer text: the conversation is its pseudonym
(service/privacy.conversation_ref), and a message's masked text stays only when the bot did not understand it
(the report's 未识别消息) — the latest message of a conversation keeps it until the next one shows that.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from service.tickets.schema import metadata

conversation_events = Table(
    "conversation_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # arrival order: a conversation's event order
    Column("event_key", String(32), nullable=False),  # digest of the broker's message: a redelivery is not counted twice
    Column("conversation", String(16), nullable=False),  # service/privacy.conversation_ref(sender_id)
    Column("kind", String(8), nullable=False),  # user | action | slot
    Column("at", Float, nullable=False),  # the event's timestamp (Unix seconds, as the tracker store keeps it)
    Column("author", String(8)),  # customer, for a customer's message; None for the desk's EXTERNAL_* triggers
    Column("intent", String(80)),
    Column("topic", String(160)),  # the intent with a retrieval topic (faq/退货政策)
    Column("action", String(80)),  # the action's name; the slot's name for slot events
    Column("value", String(64)),  # the slot's value as the reports read it (a string, "1" for other set values)
    Column("score", Integer),  # 1–5 of a rate_service message
    Column("text", Text),  # masked, one line (service/reports/conversations.shown_text)
    Column("fallback", Boolean, nullable=False, default=False),  # nlu_fallback, or answered with action_default_fallback
    UniqueConstraint("event_key", name="uq_conversation_events_key"),
)
Index("ix_conversation_events_at", conversation_events.c.at)
Index("ix_conversation_events_conversation", conversation_events.c.conversation, conversation_events.c.id)
