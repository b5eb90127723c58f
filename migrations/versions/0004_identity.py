"""customer proofs: one-time codes, proof attempts, the conversations of each proven customer

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "otp_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_otp_codes_conversation", "otp_codes", ["conversation", "created_at"])
    op.create_index("ix_otp_codes_phone", "otp_codes", ["phone_key", "created_at"])
    op.create_table(
        "proof_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_proof_attempts_subject", "proof_attempts", ["kind", "subject", "at"])
    op.create_table(
        "customer_conversations",
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False, server_default=""),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "sender_id"),
    )
    op.create_index("ix_customer_conversations_sender", "customer_conversations", ["sender_id"])


def downgrade() -> None:
    op.drop_table("customer_conversations")
    op.drop_table("proof_attempts")
    op.drop_table("otp_codes")
