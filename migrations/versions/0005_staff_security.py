"""staff security: token generations per account, revoked tokens (logout), the audit log (操作日志)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_token_generations",
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["username"], ["staff.username"]),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("viewer", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("shown", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_viewer_at", "audit_log", ["viewer", "at"])
    op.create_index("ix_audit_log_customer_at", "audit_log", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_index("ix_revoked_tokens_expires_at", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_table("staff_token_generations")
