"""a handoff's 服务小结 (summary) and the quality-check (质检) flags

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_sessions") as batch:
        batch.add_column(sa.Column("closing_summary", sa.Text()))
    op.create_table(
        "quality_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("agent", sa.String(length=32)),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("flagged_at", sa.DateTime(), nullable=False),
        sa.Column("reviewer", sa.String(length=32)),
        sa.Column("note", sa.Text()),
        sa.Column("reviewed_at", sa.DateTime()),
        sa.ForeignKeyConstraint(["session_id"], ["handoff_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_quality_flags_status_at", "quality_flags", ["status", "at"])
    op.create_index("ix_quality_flags_session", "quality_flags", ["session_id"])
    op.create_index("ix_quality_flags_at", "quality_flags", ["at"])


def downgrade() -> None:
    op.drop_index("ix_quality_flags_at", table_name="quality_flags")
    op.drop_index("ix_quality_flags_session", table_name="quality_flags")
    op.drop_index("ix_quality_flags_status_at", table_name="quality_flags")
    op.drop_table("quality_flags")
    with op.batch_alter_table("handoff_sessions") as batch:
        batch.drop_column("closing_summary")
