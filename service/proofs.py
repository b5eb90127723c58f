"""Turning proofs into an identity: checked channel claims, one-time codes, an order's phone digits.

The decisions are made here, with the customer records, the code store and the attempt limits;
the bot's actions only ask and answer (actions/identity.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy.engine import Engine

from service.backends.base import Backends
from service.clock import Clock
from service.conversation_links import ConversationLinks
from service.identity import Claim, Identity, Proof
from service.logs import log_event
from service.otp import Check, OneTimeCodes, Outcome, Sent
from service.proof_limits import ProofLimits, Window
from service.settings import Settings
from service.sms import OutboxSmsSender, SmsSender

logger = logging.getLogger(__name__)

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
LAST4_WRONG_PER_CONVERSATION = (Window(timedelta(hours=1), 5),)
# 10,000 possible digits: at most 20 wrong guesses a day on one order, from all conversations together.
LAST4_WRONG_PER_ORDER = (Window(timedelta(hours=1), 10), Window(timedelta(days=1), 20))


def proof_key(secret: str) -> bytes:
    """The key that hashes codes, phone numbers and attempt subjects (derived, so it is no other token's key)."""
    return hmac.new(secret.encode("utf-8"), b"xiaozhi customer proofs", hashlib.sha256).digest()


def phone_in(text: str) -> str | None:
    """The mainland mobile number in `text`, if there is exactly one."""
    found = PHONE.findall(re.sub(r"[\s-]", "", text or ""))
    return found[0] if len(set(found)) == 1 else None


class LastFour(str, Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class LastFourResult:
    outcome: LastFour
    identity: Identity | None = None
    tries_left: int = 0
    retry_after_s: int = 0


@dataclass(frozen=True)
class CodeResult:
    check: Check
    identity: Identity | None = None


class IdentityService:
    def __init__(self, backends: Backends, codes: OneTimeCodes, limits: ProofLimits, links: ConversationLinks) -> None:
        self._b = backends
        self._codes = codes
        self._limits = limits
        self._links = links

    @classmethod
    def build(cls, backends: Backends, engine: Engine, clock: Clock, secret: str, settings: Settings,
              sender: SmsSender | None = None) -> IdentityService:
        key = proof_key(secret)
        limits = ProofLimits(engine, clock, key)
        codes = OneTimeCodes(engine, clock, key, sender or OutboxSmsSender(settings.sms_outbox), limits)
        return cls(backends, codes, limits, ConversationLinks(engine, clock))

    async def from_claim(self, claim: Claim) -> Identity | None:
        """The customer a checked channel claim names (None when there is no such customer)."""
        customer = None
        if claim.customer_id:
            customer = await self._b.customers.get_customer(claim.customer_id)
        if customer is None and claim.phone and PHONE.fullmatch(claim.phone):
            customer = await self._b.customers.find_by_phone(claim.phone)
        if customer is None:
            log_event(logger, "identity_claim_unknown_customer", logging.WARNING, proof=claim.proof.value)
            return None
        return Identity(customer_id=customer.id, proof=claim.proof)

    async def send_code(self, phone: str, conversation: str) -> Sent:
        """A code to the phone (if it is a customer's; the answer is the same either way). otp.TooSoon when limited."""
        known = await self._b.customers.find_by_phone(phone) is not None
        return await self._codes.send(phone, conversation, known)

    async def check_code(self, phone: str, conversation: str, code: str) -> CodeResult:
        check = await self._codes.check(phone, conversation, code)
        if check.outcome is not Outcome.OK:
            return CodeResult(check)
        customer = await self._b.customers.find_by_phone(phone)
        if customer is None:  # deleted meanwhile
            return CodeResult(Check(Outcome.EXPIRED))
        return CodeResult(check, Identity(customer_id=customer.id, proof=Proof.OTP))

    async def check_last4(self, order_id: str, digits: str, conversation: str) -> LastFourResult:
        """The anonymous proof: `digits` are the last 4 of the order's receiver or account phone."""
        wait = max(await asyncio.to_thread(self._limits.retry_after_s, "last4_conversation", conversation,
                                           LAST4_WRONG_PER_CONVERSATION),
                   await asyncio.to_thread(self._limits.retry_after_s, "last4_order", order_id, LAST4_WRONG_PER_ORDER))
        if wait:
            return LastFourResult(LastFour.LOCKED, retry_after_s=wait)
        order = await self._b.orders.get_order(order_id)
        phones = []
        if order is not None:
            phones.append(order.address.phone)
            customer = await self._b.customers.get_customer(order.customer_id)
            if customer is not None:
                phones.append(customer.phone)
        if order is not None and any(p and p[-4:] == digits for p in phones):
            return LastFourResult(LastFour.OK, Identity(proof=Proof.ORDER, order_id=order.id))
        await asyncio.to_thread(self._limits.record, "last4_conversation", conversation)
        await asyncio.to_thread(self._limits.record, "last4_order", order_id)
        used = await asyncio.to_thread(self._limits.count, "last4_conversation", conversation,
                                       LAST4_WRONG_PER_CONVERSATION[0].span)
        left = max(0, LAST4_WRONG_PER_CONVERSATION[0].limit - used)
        log_event(logger, "last4_wrong", tries_left=left)
        if not left:
            return LastFourResult(LastFour.LOCKED, retry_after_s=int(LAST4_WRONG_PER_CONVERSATION[0].span.total_seconds()))
        return LastFourResult(LastFour.WRONG, tries_left=left)

    async def remember(self, identity: Identity, sender_id: str, channel: str) -> None:
        """Record the conversation as the proven customer's (for the right to deletion)."""
        if identity.proven and identity.customer_id:
            await asyncio.to_thread(self._links.record, identity.customer_id, sender_id, channel)
