"""The desk's two token keys, both derived from DESK_SECRET, so staff and bot credentials never stand in for each other.

A staff token (a 坐席 or 主管 logged in) and the action server's bot token are signed with different keys and carry
different audiences (`aud`): a bot token is refused on the staff routes and a staff token on the bot's, even if one
of the two checks were ever to be dropped.
"""

from __future__ import annotations

import hashlib
import hmac

STAFF_AUDIENCE = "xiaozhi-desk-staff"
BOT_AUDIENCE = "xiaozhi-desk-bot"


def derived_key(secret: str, purpose: str) -> str:
    """HMAC-SHA256(secret, purpose) as hex: one key per purpose, none of them the secret itself."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def staff_token_key(secret: str) -> str:
    return derived_key(secret, "staff-tokens")


def bot_token_key(secret: str) -> str:
    return derived_key(secret, "bot-tokens")
