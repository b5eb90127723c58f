"""Tables of the customer channels, in the bot's database: who writes from where, and WeChat's bookkeeping."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from service.tickets.schema import metadata

# One row per (channel, channel user): the web widget's session id, a WeChat openid, an app user id. It says which
# conversation (Rasa sender id) the user's messages go to, and which customer it proved to be, when it did.
channel_users = Table(
    "channel_users",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("user_key", String(200), primary_key=True),
    Column("conversation", String(200), nullable=False),
    Column("customer_id", String(16)),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
)
Index("ix_channel_users_conversation", channel_users.c.conversation, channel_users.c.last_seen)
Index("ix_channel_users_customer", channel_users.c.customer_id)

# The one conversation of a proven customer, which every channel joins once it knows who is writing.
customer_homes = Table(
    "customer_homes",
    metadata,
    Column("customer_id", String(16), primary_key=True),
    Column("conversation", String(200), nullable=False),
    Column("since", DateTime, nullable=False),
)

# WeChat retries a message it got no answer for within 5 s: each MsgId (or event FromUserName+CreateTime) once.
wechat_seen = Table(
    "wechat_seen",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("seen_at", DateTime, nullable=False),
)
Index("ix_wechat_seen_at", wechat_seen.c.seen_at)

# WeChat's access token, shared by every process; `refreshing_until` is the lease of the one process refreshing it.
wechat_tokens = Table(
    "wechat_tokens",
    metadata,
    Column("app_id", String(64), primary_key=True),
    Column("token", String(1024), nullable=False, default=""),
    Column("expires_at", DateTime),
    Column("refreshing_until", DateTime),
)

# WeChat's customer-service window: 48 hours after the user's last message, a bounded number of messages.
wechat_windows = Table(
    "wechat_windows",
    metadata,
    Column("openid", String(64), primary_key=True),
    Column("last_inbound", DateTime, nullable=False),
    Column("sent_in_window", Integer, nullable=False, default=0),
)
