"""conversation review: the training-data inbox (review_inbox) and how far its scans have read (review_scans)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=200), nullable=False),
        sa.Column("conversation", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("guess", sa.String(length=80), nullable=False),
        sa.Column("confidence", sa.Float()),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("intent", sa.String(length=80)),
        sa.Column("reviewer", sa.String(length=32)),
        sa.Column("said_at", sa.DateTime(), nullable=False),
        sa.Column("collected_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime()),
        sa.Column("batch", sa.String(length=32)),
        sa.Column("exported_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name="uq_review_inbox_event"),
    )
    op.create_index("ix_review_inbox_status", "review_inbox", ["status", "said_at"])
    op.create_index("ix_review_inbox_conversation", "review_inbox", ["conversation"])
    op.create_index("ix_review_inbox_batch", "review_inbox", ["batch"])
    op.create_table(
        "review_scans",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("scanned_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("review_scans")
    op.drop_index("ix_review_inbox_batch", table_name="review_inbox")
    op.drop_index("ix_review_inbox_conversation", table_name="review_inbox")
    op.drop_index("ix_review_inbox_status", table_name="review_inbox")
    op.drop_table("review_inbox")
