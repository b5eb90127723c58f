"""working hours per skill group, holidays and agents' shifts (排班)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_group_hours",
        sa.Column("skill_group", sa.String(length=16), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("days", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("skill_group"),
    )
    op.create_table(
        "handoff_day_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("skill_group", sa.String(length=16)),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("start", sa.String(length=5)),
        sa.Column("end", sa.String(length=5)),
        sa.Column("note", sa.String(length=60), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_day_rules_day", "handoff_day_rules", ["day"])
    op.create_table(
        "handoff_shifts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_shifts_day", "handoff_shifts", ["day", "username"])


def downgrade() -> None:
    op.drop_index("ix_handoff_shifts_day", table_name="handoff_shifts")
    op.drop_table("handoff_shifts")
    op.drop_index("ix_handoff_day_rules_day", table_name="handoff_day_rules")
    op.drop_table("handoff_day_rules")
    op.drop_table("handoff_group_hours")
