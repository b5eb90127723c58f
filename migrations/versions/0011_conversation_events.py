"""conversation_events: the reporting table fed from the RabbitMQ event broker (connectors/event_consumer.py)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=32), nullable=False),
        sa.Column("conversation", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("author", sa.String(length=8)),
        sa.Column("intent", sa.String(length=80)),
        sa.Column("topic", sa.String(length=160)),
        sa.Column("action", sa.String(length=80)),
        sa.Column("value", sa.String(length=64)),
        sa.Column("score", sa.Integer()),
        sa.Column("text", sa.Text()),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key", name="uq_conversation_events_key"),
    )
    op.create_index("ix_conversation_events_at", "conversation_events", ["at"])
    op.create_index("ix_conversation_events_conversation", "conversation_events", ["conversation", "id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_events_conversation", table_name="conversation_events")
    op.drop_index("ix_conversation_events_at", table_name="conversation_events")
    op.drop_table("conversation_events")
