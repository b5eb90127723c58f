"""handoff sessions, messages, assignments; agents' skill groups and capacity

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("skill_groups", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=False, server_default="3"))
    op.create_table(
        "handoff_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("skill_group", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("context_json", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.Column("first_agent_reply_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=24), nullable=True),
        sa.Column("ticket_number", sa.String(length=24), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_sessions_sender_id", "handoff_sessions", ["sender_id"])
    op.create_index("ix_handoff_sessions_status", "handoff_sessions", ["status", "queued_at"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=60), nullable=True),
        sa.Column("entities_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["handoff_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_messages_session_id", "handoff_messages", ["session_id"])
    op.create_table(
        "handoff_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=True),
        sa.Column("skill_group", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["handoff_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_assignments_session_id", "handoff_assignments", ["session_id"])


def downgrade() -> None:
    op.drop_table("handoff_assignments")
    op.drop_table("handoff_messages")
    op.drop_table("handoff_sessions")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("capacity")
        batch.drop_column("skill_groups")
