"""channels: the channel of each relayed message, channel users and customers' conversations, WeChat's bookkeeping

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_messages") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16)))
    op.create_table(
        "channel_users",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_key", sa.String(length=200), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=16)),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_key"),
    )
    op.create_index("ix_channel_users_conversation", "channel_users", ["conversation", "last_seen"])
    op.create_index("ix_channel_users_customer", "channel_users", ["customer_id"])
    op.create_table(
        "customer_homes",
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "wechat_seen",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_wechat_seen_at", "wechat_seen", ["seen_at"])
    op.create_table(
        "wechat_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=1024), nullable=False, server_default=""),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("refreshing_until", sa.DateTime()),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "wechat_windows",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("last_inbound", sa.DateTime(), nullable=False),
        sa.Column("sent_in_window", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("openid"),
    )


def downgrade() -> None:
    op.drop_table("wechat_windows")
    op.drop_table("wechat_tokens")
    op.drop_index("ix_wechat_seen_at", table_name="wechat_seen")
    op.drop_table("wechat_seen")
    op.drop_table("customer_homes")
    op.drop_index("ix_channel_users_customer", table_name="channel_users")
    op.drop_index("ix_channel_users_conversation", table_name="channel_users")
    op.drop_table("channel_users")
    with op.batch_alter_table("handoff_messages") as batch:
        batch.drop_column("channel")
