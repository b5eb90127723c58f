"""Staff accounts (the `staff` table), PBKDF2 password hashes and signed access tokens (JWT HS256).

A staff token carries `aud` (STAFF_AUDIENCE), a `jti` (what logout revokes) and `gen`, the account's token
generation when it was issued: changing the password or disabling the account bumps the generation, so every token
issued before is refused (desk/revocation.py checks both on every request).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import jwt
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from service.clock import CST
from service.desk_keys import STAFF_AUDIENCE, staff_token_key
from service.tickets.schema import staff as S
from service.tickets.schema import staff_token_generations as G

TOKEN_TTL_S = 8 * 3600
ALGORITHM = "HS256"
DEFAULT_ITERATIONS = 600_000  # OWASP 2023 for PBKDF2-HMAC-SHA256
USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")


class Role(str, Enum):
    AGENT = "坐席"
    SUPERVISOR = "主管"


@dataclass(frozen=True)
class StaffMember:
    username: str
    name: str
    role: Role
    department: str
    active: bool = True
    token_generation: int = field(default=0, compare=False)  # bumped when the password changes or it is disabled


DEMO_STAFF = (
    StaffMember("agent1", "小王", Role.AGENT, "售后技术"),
    StaffMember("agent2", "小李", Role.AGENT, "物流部"),
    StaffMember("supervisor", "周主管", Role.SUPERVISOR, "客服中心"),
)


class AuthError(Exception):
    """A token or a login is not acceptable; `code` says why (missing_token, invalid_token, token_expired, ...)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# --- passwords -------------------------------------------------------------------------------


class PasswordHasher:
    """PBKDF2-HMAC-SHA256 with a per-user salt, stored as pbkdf2_sha256$<iterations>$<salt>$<hash>."""

    def __init__(self, iterations: int = DEFAULT_ITERATIONS) -> None:
        self.iterations = iterations

    def hash(self, password: str) -> str:
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, self.iterations)
        return f"pbkdf2_sha256${self.iterations}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str, stored: str) -> bool:
        try:
            scheme, iterations, salt, expected = stored.split("$")
            if scheme != "pbkdf2_sha256":
                return False
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(salt), int(iterations))
        except ValueError:
            return False
        return hmac.compare_digest(_b64(digest), expected)

    def waste_time(self, password: str) -> None:
        """As long as a real check, so an unknown username cannot be told apart by timing."""
        hashlib.pbkdf2_hmac("sha256", password.encode(), b"\0" * 16, self.iterations)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- accounts --------------------------------------------------------------------------------


class StaffDirectory:
    """Staff accounts in the bot's database (synchronous; async callers use a worker thread)."""

    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self._engine = engine
        self.hasher = hasher or PasswordHasher()

    def get(self, username: str) -> StaffMember | None:
        with self._engine.connect() as conn:
            return self.get_in(conn, username)

    def get_in(self, conn: Connection, username: str) -> StaffMember | None:
        """The account, read on a connection the caller holds (one connection for a whole token check)."""
        row = conn.execute(_ACCOUNTS.where(S.c.username == username)).first()
        return _member(row) if row is not None else None

    def all(self) -> list[StaffMember]:
        with self._engine.connect() as conn:
            return [_member(row) for row in conn.execute(_ACCOUNTS.order_by(S.c.username))]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(S)).scalar_one())

    def add(self, member: StaffMember, password: str) -> None:
        """Create an account; ValueError for a malformed username or an empty password."""
        if not USERNAME.fullmatch(member.username):
            raise ValueError("username must be 2–32 characters of a-z, 0-9, '_', '.', '-'")
        if not 1 <= len(member.name) <= 32 or not 1 <= len(member.department) <= 16:
            raise ValueError("name must be 1–32 characters and department 1–16")
        if not password:
            raise ValueError("password must not be empty")
        with self._engine.begin() as conn:
            conn.execute(insert(S).values(**self._row(member, password)))

    def _row(self, member: StaffMember, password: str) -> dict[str, Any]:
        return {"username": member.username, "display_name": member.name, "role": member.role.value,
                "department": member.department, "password_hash": self.hasher.hash(password), "active": member.active}

    def set_password(self, username: str, password: str) -> bool:
        """A new password; the account's existing tokens stop working."""
        if not password:
            raise ValueError("password must not be empty")
        with self._engine.begin() as conn:
            result = conn.execute(update(S).where(S.c.username == username)
                                  .values(password_hash=self.hasher.hash(password)))
            if result.rowcount:
                _bump_generation(conn, username)
        return bool(result.rowcount)

    def set_active(self, username: str, active: bool) -> bool:
        """Enable or disable an account; disabling also invalidates its tokens (enabling does not revive them)."""
        with self._engine.begin() as conn:
            result = conn.execute(update(S).where(S.c.username == username).values(active=active))
            if result.rowcount and not active:
                _bump_generation(conn, username)
        return bool(result.rowcount)

    def revoke_tokens(self, username: str) -> bool:
        """Invalidate every token the account holds now (they must log in again)."""
        with self._engine.begin() as conn:
            if conn.execute(select(S.c.username).where(S.c.username == username)).first() is None:
                return False
            _bump_generation(conn, username)
        return True

    def authenticate(self, username: str, password: str) -> StaffMember | None:
        """The active account these credentials belong to, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(_ACCOUNTS.where(S.c.username == username)).first()
        if row is None:
            self.hasher.waste_time(password)
            return None
        if not self.hasher.verify(password, row.password_hash) or not row.active:
            return None
        return _member(row)

    def seed_demo(self, password: str) -> list[str]:
        """The demo accounts, when there are no accounts at all; the usernames created."""
        if self.count():
            return []
        rows = [self._row(member, password) for member in DEMO_STAFF]
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(S), rows)
        except IntegrityError:  # another desk process starting at the same time seeded them
            return []
        return [member.username for member in DEMO_STAFF]


_ACCOUNTS = select(S, func.coalesce(G.c.generation, 0).label("token_generation")).select_from(
    S.outerjoin(G, G.c.username == S.c.username))


def _member(row: Any) -> StaffMember:
    return StaffMember(row.username, row.display_name, Role(row.role), row.department, bool(row.active),
                       int(row.token_generation))


def _bump_generation(conn: Connection, username: str) -> None:
    """generation + 1 (the first bump creates the row); in the caller's transaction."""
    if conn.execute(update(G).where(G.c.username == username).values(generation=G.c.generation + 1)).rowcount:
        return
    conn.execute(insert(G).values(username=username, generation=1))


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    username: str
    role: Role
    name: str
    department: str
    expires_at: datetime
    jti: str = ""
    generation: int = 0


class TokenIssuer:
    """Signs and checks staff tokens: JWT HS256 with sub, role, name, department, aud, jti, gen, iat and exp.

    The key is derived from the desk secret for staff tokens alone (service/desk_keys.py): the bot's tokens, signed
    with the other derived key and another audience, do not pass here.
    """

    def __init__(self, secret: str, ttl_s: int = TOKEN_TTL_S, now: Callable[[], float] = time.time) -> None:
        self._key = staff_token_key(secret)
        self._ttl_s = ttl_s
        self._now = now

    def issue(self, member: StaffMember) -> tuple[str, datetime]:
        issued = int(self._now())
        expires = issued + self._ttl_s
        payload = {"sub": member.username, "role": member.role.value, "name": member.name,
                   "department": member.department, "aud": STAFF_AUDIENCE, "jti": secrets.token_hex(16),
                   "gen": member.token_generation, "iat": issued, "exp": expires}
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), _moment(expires)

    def verify(self, token: str) -> Claims:
        """The token's claims; AuthError when it is forged, malformed, expired or not a staff token."""
        try:
            payload = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=STAFF_AUDIENCE,
                                 options={"require": ["sub", "role", "exp", "aud", "jti"]})
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token_expired", "the token has expired: log in again") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("invalid_token", _why_invalid(token)) from exc
        try:
            role = Role(payload["role"])
            generation = int(payload.get("gen", 0))
        except (ValueError, TypeError) as exc:
            raise AuthError("invalid_token", "the token names an unknown role") from exc
        return Claims(str(payload["sub"]), role, str(payload.get("name", "")), str(payload.get("department", "")),
                      _moment(int(payload["exp"])), str(payload["jti"]), generation)


def _why_invalid(token: str) -> str:
    """The reason for a refused token; a bot token says so (its claims are read unverified, only for the text)."""
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.InvalidTokenError:
        audience = None
    if audience is not None and audience != STAFF_AUDIENCE:
        return "this is not a staff token (the bot's token does not open staff routes): log in"
    return "the token is not valid"


def _moment(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, timezone.utc).astimezone(CST)
