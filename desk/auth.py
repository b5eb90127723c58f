"""Staff accounts (the `staff` table), PBKDF2 password hashes and signed access tokens (JWT HS256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import jwt
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from service.clock import CST
from service.tickets.schema import staff as S

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
            row = conn.execute(select(S).where(S.c.username == username)).first()
        return _member(row) if row is not None else None

    def all(self) -> list[StaffMember]:
        with self._engine.connect() as conn:
            return [_member(row) for row in conn.execute(select(S).order_by(S.c.username))]

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
        if not password:
            raise ValueError("password must not be empty")
        with self._engine.begin() as conn:
            result = conn.execute(update(S).where(S.c.username == username)
                                  .values(password_hash=self.hasher.hash(password)))
        return bool(result.rowcount)

    def set_active(self, username: str, active: bool) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(update(S).where(S.c.username == username).values(active=active))
        return bool(result.rowcount)

    def authenticate(self, username: str, password: str) -> StaffMember | None:
        """The active account these credentials belong to, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(S).where(S.c.username == username)).first()
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


def _member(row: Any) -> StaffMember:
    return StaffMember(row.username, row.display_name, Role(row.role), row.department, bool(row.active))


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    username: str
    role: Role
    name: str
    department: str
    expires_at: datetime


class TokenIssuer:
    """Signs and checks access tokens: JWT HS256 carrying sub, role, name, department, iat and exp."""

    def __init__(self, secret: str, ttl_s: int = TOKEN_TTL_S, now: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._ttl_s = ttl_s
        self._now = now

    def issue(self, member: StaffMember) -> tuple[str, datetime]:
        issued = int(self._now())
        expires = issued + self._ttl_s
        payload = {"sub": member.username, "role": member.role.value, "name": member.name,
                   "department": member.department, "iat": issued, "exp": expires}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), _moment(expires)

    def verify(self, token: str) -> Claims:
        """The token's claims; AuthError when it is forged, malformed or expired."""
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM],
                                 options={"require": ["sub", "role", "exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token_expired", "the token has expired: log in again") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("invalid_token", "the token is not valid") from exc
        try:
            role = Role(payload["role"])
        except ValueError as exc:
            raise AuthError("invalid_token", "the token names an unknown role") from exc
        return Claims(str(payload["sub"]), role, str(payload.get("name", "")), str(payload.get("department", "")),
                      _moment(int(payload["exp"])))


def _moment(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, timezone.utc).astimezone(CST)
