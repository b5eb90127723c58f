"""One-time codes by SMS: 6 digits, valid 5 minutes, 5 tries, rate limited per phone and per conversation.

Only a keyed hash of each code (and of each phone number) is stored; the code itself exists in the SMS
and nowhere else, never in a log line. A phone that belongs to no customer gets no SMS, but the caller is
told the same as for a known one, so the bot cannot be used to find out whose number is a customer's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from service.clock import Clock
from service.errors import BackendUnavailable
from service.identity_schema import otp_codes as C
from service.logs import log_event
from service.privacy import mask_phone
from service.proof_limits import ProofLimits, Window
from service.sms import SmsSender

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
PER_PHONE = (Window(timedelta(seconds=60), 1), Window(timedelta(hours=1), 5), Window(timedelta(days=1), 10))
PER_CONVERSATION = (Window(timedelta(minutes=10), 3), Window(timedelta(days=1), 10))
# The SMS itself (not a bot reply, so not in domain.yml): what the shop's SMS template would say.
SMS_TEXT = "【小智客服】您的验证码是{code}，{minutes}分钟内有效。客服不会向您索要验证码，请勿告诉他人。"


class Outcome(str, Enum):
    OK = "ok"
    WRONG = "wrong"  # tries are left
    EXPIRED = "expired"  # or used up: ask for a new code
    LOCKED = "locked"  # the last try was wrong
    NONE = "none"  # no code was sent to this conversation for this phone


@dataclass(frozen=True)
class Sent:
    masked_phone: str
    minutes: int


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    tries_left: int = 0


class TooSoon(Exception):
    """No new code now; `retry_after_s` says when."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s}s")
        self.retry_after_s = retry_after_s


def _hash(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


class OneTimeCodes:
    def __init__(self, engine: Engine, clock: Clock, key: bytes, sender: SmsSender, limits: ProofLimits | None = None,
                 make_code: Callable[[], str] | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._key = key
        self._sender = sender
        self._limits = limits or ProofLimits(engine, clock, key)
        self._make_code = make_code or (lambda: f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}")

    async def send(self, phone: str, conversation: str, known: bool) -> Sent:
        """Send a code to `phone` for `conversation` (only when `known`: a customer's number). TooSoon when limited."""
        wait = max(await asyncio.to_thread(self._limits.retry_after_s, "otp_phone", phone, PER_PHONE),
                   await asyncio.to_thread(self._limits.retry_after_s, "otp_conversation", conversation,
                                           PER_CONVERSATION))
        if wait:
            log_event(logger, "otp_rate_limited", phone=mask_phone(phone), retry_after_s=wait)
            raise TooSoon(wait)
        await asyncio.to_thread(self._limits.record, "otp_phone", phone)
        await asyncio.to_thread(self._limits.record, "otp_conversation", conversation)
        minutes = int(CODE_TTL.total_seconds() // 60)
        code = self._make_code()
        # An unknown number gets a row too (and no SMS), so it answers the code check like a known one.
        await asyncio.to_thread(self._store, phone, conversation, code if known else secrets.token_hex(16))
        if known:
            try:
                await self._sender.send(phone, SMS_TEXT.format(code=code, minutes=minutes))
            except Exception as exc:  # any failure of the SMS gateway, by design
                log_event(logger, "otp_send_failed", logging.WARNING, error=type(exc).__name__)
                raise BackendUnavailable("sms.send", type(exc).__name__) from None
        log_event(logger, "otp_sent", phone=mask_phone(phone), known=known)
        return Sent(mask_phone(phone), minutes)

    def _store(self, phone: str, conversation: str, code: str) -> None:
        now = self._clock.now()
        phone_key = _hash(self._key, "phone", phone)
        with self._engine.begin() as conn:
            # a new code replaces the conversation's earlier ones for this phone
            conn.execute(update(C).where(C.c.phone_key == phone_key, C.c.conversation == conversation,
                                         C.c.used_at.is_(None)).values(used_at=now))
            conn.execute(C.insert().values(phone_key=phone_key, conversation=conversation,
                                           code_hash=_hash(self._key, "code", phone, conversation, code),
                                           created_at=now, expires_at=now + CODE_TTL, attempts=0))

    async def check(self, phone: str, conversation: str, code: str) -> Check:
        return await asyncio.to_thread(self._check, phone, conversation, code.strip())

    def _check(self, phone: str, conversation: str, code: str) -> Check:
        now = self._clock.now()
        phone_key = _hash(self._key, "phone", phone)
        with self._engine.begin() as conn:
            row = conn.execute(select(C).where(C.c.phone_key == phone_key, C.c.conversation == conversation)
                               .order_by(C.c.created_at.desc(), C.c.id.desc()).limit(1)).first()
            if row is None:
                return Check(Outcome.NONE)
            if row.used_at is not None or row.attempts >= MAX_TRIES or row.expires_at <= now:
                return Check(Outcome.EXPIRED)
            attempts = row.attempts + 1
            right = hmac.compare_digest(row.code_hash, _hash(self._key, "code", phone, conversation, code))
            conn.execute(update(C).where(C.c.id == row.id).values(
                attempts=attempts, used_at=now if right or attempts >= MAX_TRIES else None))
        if right:
            log_event(logger, "otp_verified", phone=mask_phone(phone))
            return Check(Outcome.OK)
        log_event(logger, "otp_wrong", phone=mask_phone(phone), attempts=attempts)
        return Check(Outcome.LOCKED if attempts >= MAX_TRIES else Outcome.WRONG, MAX_TRIES - attempts)
