"""Tables of customer proofs (one-time codes, attempts) and of which conversations are whose, in the bot's database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from service.tickets.schema import metadata

# A one-time code sent to a phone for one conversation; only its keyed hash is kept.
otp_codes = Table(
    "otp_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phone_key", String(64), nullable=False),  # keyed hash of the phone number, never the number
    Column("conversation", String(200), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("used_at", DateTime),
)
Index("ix_otp_codes_conversation", otp_codes.c.conversation, otp_codes.c.created_at)
Index("ix_otp_codes_phone", otp_codes.c.phone_key, otp_codes.c.created_at)

# Rate limiting of proofs: one row per attempt (a code sent, a wrong last-4 guess), counted in a window.
proof_attempts = Table(
    "proof_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(24), nullable=False),
    Column("subject", String(64), nullable=False),  # keyed hash of the phone, order or conversation
    Column("at", DateTime, nullable=False),
)
Index("ix_proof_attempts_subject", proof_attempts.c.kind, proof_attempts.c.subject, proof_attempts.c.at)

# Which conversations (sender ids) a proven customer used: what `python -m desk.privacy forget` deletes.
customer_conversations = Table(
    "customer_conversations",
    metadata,
    Column("customer_id", String(16), primary_key=True),
    Column("sender_id", String(200), primary_key=True),
    Column("channel", String(32), nullable=False, default=""),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
)
Index("ix_customer_conversations_sender", customer_conversations.c.sender_id)
