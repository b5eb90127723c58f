"""Whether a signed staff token still counts: not logged out (the `revoked_tokens` table), issued under the account's
current token generation (a password change or a disabled account ends every older token), account still active.

Synchronous (SQLAlchemy Core, one connection per check); async callers use a worker thread. In the database, so a
logout on one desk holds on every desk.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from desk.auth import AuthError, Claims, StaffDirectory, StaffMember
from service.clock import CST, Clock
from service.tickets.schema import revoked_tokens as R


def _naive(moment: datetime) -> datetime:
    """Stored datetimes are naive CST."""
    return moment.astimezone(CST).replace(tzinfo=None) if moment.tzinfo is not None else moment


class TokenRevocations:
    """Revoked token ids (jti) with their expiry; expired rows are pruned whenever one is added."""

    def __init__(self, engine: Engine, directory: StaffDirectory, clock: Clock | None = None) -> None:
        self._engine = engine
        self._directory = directory
        self._clock = clock or Clock()

    def revoke(self, claims: Claims) -> None:
        """Revoke one token until it would have expired anyway (idempotent)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            conn.execute(delete(R).where(R.c.expires_at < now))
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(R).values(jti=claims.jti, username=claims.username, revoked_at=now,
                                              expires_at=_naive(claims.expires_at)))
        except IntegrityError:  # logged out twice: already revoked
            pass

    def is_revoked(self, jti: str) -> bool:
        with self._engine.connect() as conn:
            return conn.execute(select(R.c.jti).where(R.c.jti == jti)).first() is not None

    def check(self, claims: Claims) -> StaffMember:
        """The account a verified token belongs to; AuthError when it was revoked or the account changed."""
        with self._engine.connect() as conn:
            member = self._directory.get_in(conn, claims.username)
            revoked = conn.execute(select(R.c.jti).where(R.c.jti == claims.jti)).first() is not None
        if revoked:
            raise AuthError("token_revoked", "this token was logged out: log in again")
        if member is None or not member.active:
            raise AuthError("account_disabled", "this staff account no longer exists or is disabled")
        if claims.generation != member.token_generation:
            raise AuthError("token_revoked", "the password changed or the account was disabled since: log in again")
        return member

    def still_valid(self, claims: Iterable[Claims]) -> dict[str, AuthError | None]:
        """For open WebSockets: jti → None while the token holds, else why not (expiry included)."""
        now = datetime.now(CST)
        verdicts: dict[str, AuthError | None] = {}
        for claim in claims:
            if claim.expires_at <= now:
                verdicts[claim.jti] = AuthError("token_expired", "the token has expired: log in again")
                continue
            try:
                self.check(claim)
                verdicts[claim.jti] = None
            except AuthError as exc:
                verdicts[claim.jti] = exc
        return verdicts
