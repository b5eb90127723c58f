"""canned replies (快捷回复) per skill group, managed by supervisors

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("shortcut", sa.String(length=16)),
        sa.Column("skill_group", sa.String(length=16)),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_canned_replies_group", "canned_replies", ["skill_group"])
    op.create_index("ux_canned_replies_shortcut", "canned_replies", ["shortcut"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_canned_replies_shortcut", table_name="canned_replies")
    op.drop_index("ix_canned_replies_group", table_name="canned_replies")
    op.drop_table("canned_replies")
