"""Who the customer is: the proofs of identity, how a signed claim is checked, and what a proof unlocks.

There are four kinds of proof, and only proofs, never something the customer typed, say who is chatting:

- SIGNED: the shop's backend signed the logged-in customer (`customer_id` or `phone`) with an expiry:
  `identity_hash` = hex HMAC-SHA256(IDENTITY_SECRET, "<value>:<identity_expires>"), `identity_expires` in
  Unix seconds. Checked by the channels (connectors/identity.py) before Rasa sees the message.
- CLAIMED: embedded mode without IDENTITY_SECRET trusts a plain `customer_id` claim (the demo page and the
  tests rely on it); the processes say so at start-up, and scaled mode refuses to start that way.
- OTP: a one-time code sent by SMS to the account's phone (service/otp.py) and typed back.
- ORDER: anonymous; an order number and the last 4 digits of its phone number open that one order's status
  and logistics, and nothing else.

SIGNED, CLAIMED and OTP prove a customer: they unlock the account (orders, changes, refunds, tickets,
profile), each check made by service/access.py. A later proof replaces an earlier one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

CLAIM_KEYS = ("customer_id", "phone")
HASH_KEY = "identity_hash"
EXPIRES_KEY = "identity_expires"
VERIFIED_KEY = "identity"  # what the channel puts in the metadata once a claim is checked
IDENTITY_METADATA_KEYS = (*CLAIM_KEYS, HASH_KEY, EXPIRES_KEY, VERIFIED_KEY)


class Proof(str, Enum):
    SIGNED = "signed"
    CLAIMED = "claimed"
    OTP = "otp"
    ORDER = "order"

    @property
    def proves_customer(self) -> bool:
        return self is not Proof.ORDER


@dataclass(frozen=True)
class Identity:
    """What the conversation has proven: a customer, or (anonymously) one order, or nothing."""

    customer_id: str | None = None
    proof: Proof | None = None
    order_id: str | None = None  # the one order an ORDER proof opens

    @property
    def proven(self) -> bool:
        return bool(self.customer_id) and self.proof is not None and self.proof.proves_customer

    def opens_order(self, order_id: str) -> bool:
        """An anonymous ORDER proof for exactly this order."""
        return self.proof is Proof.ORDER and bool(order_id) and self.order_id == order_id.upper()

    @classmethod
    def from_slots(cls, customer_id: Any, proof: Any, order_id: Any) -> Identity:
        """The identity the conversation's slots hold; a customer id without a proof proves nothing."""
        try:
            kind = Proof(str(proof)) if proof else None
        except ValueError:
            kind = None
        if kind is None:
            return ANONYMOUS
        if kind is Proof.ORDER:
            return cls(proof=kind, order_id=str(order_id).upper()) if order_id else ANONYMOUS
        return cls(customer_id=str(customer_id), proof=kind) if customer_id else ANONYMOUS


ANONYMOUS = Identity()


@dataclass(frozen=True)
class Claim:
    """A claim of identity the channel checked: who (a customer id or a phone), by which proof, and its fingerprint.

    `ref` tells one presentation of a proof from another: the page sends the same signed claim with every
    message, and only a claim with a new ref is a new (later) proof.
    """

    proof: Proof
    ref: str
    customer_id: str | None = None
    phone: str | None = None

    def as_metadata(self) -> dict[str, str]:
        body = {"proof": self.proof.value, "ref": self.ref}
        if self.customer_id:
            body["customer_id"] = self.customer_id
        if self.phone:
            body["phone"] = self.phone
        return body

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Claim | None:
        """The checked claim a channel put into a message's metadata (None when there is none)."""
        raw = (metadata or {}).get(VERIFIED_KEY)
        if not isinstance(raw, Mapping):
            return None
        try:
            proof = Proof(str(raw.get("proof")))
        except ValueError:
            return None
        if proof not in (Proof.SIGNED, Proof.CLAIMED) or not raw.get("ref"):
            return None
        customer_id, phone = str(raw.get("customer_id") or "").strip(), str(raw.get("phone") or "").strip()
        if not customer_id and not phone:
            return None
        return cls(proof, str(raw["ref"]), customer_id or None, phone or None)


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def claim_signature(secret: str, value: str, expires: int) -> str:
    """What the shop's backend computes for a logged-in customer: hex HMAC-SHA256 over "<value>:<expires>"."""
    return hmac.new(secret.encode("utf-8"), f"{value}:{int(expires)}".encode(), hashlib.sha256).hexdigest()


def signed_metadata(secret: str, ttl_s: int = 3600, now: float | None = None, **claim: str) -> dict[str, Any]:
    """Metadata for one claim (`customer_id=` or `phone=`), signed as the shop's backend would sign it."""
    (key, value), = claim.items()
    expires = int((now if now is not None else time.time()) + ttl_s)
    return {key: value, EXPIRES_KEY: expires, HASH_KEY: claim_signature(secret, value, expires)}


@dataclass(frozen=True)
class Verdict:
    """The channel's reading of a message's identity metadata: a checked claim, or why there is none."""

    claim: Claim | None
    problem: str | None = None  # bad_hash, no_hash, no_expiry, expired, too_long, None when fine or absent


def check_claim(metadata: Mapping[str, Any] | None, secret: str | None, now: float, max_ttl_s: int) -> Verdict:
    """Check the identity claim in a message's metadata. Without a secret (embedded demo), a plain claim is trusted."""
    metadata = metadata or {}
    key = next((k for k in CLAIM_KEYS if isinstance(metadata.get(k), (str, int)) and str(metadata[k]).strip()), None)
    if key is None:
        return Verdict(None)
    value = str(metadata[key]).strip()[:64]
    if secret is None:
        return Verdict(Claim(Proof.CLAIMED, fingerprint("claimed", key, value), **{key: value}))
    given = str(metadata.get(HASH_KEY) or "")
    if not given:
        return Verdict(None, "no_hash")
    try:
        expires = int(str(metadata.get(EXPIRES_KEY)))
    except ValueError:
        return Verdict(None, "no_expiry")
    if not hmac.compare_digest(claim_signature(secret, value, expires), given):
        return Verdict(None, "bad_hash")
    if expires <= now:
        return Verdict(None, "expired")
    if expires > now + max_ttl_s:
        return Verdict(None, "too_long")
    return Verdict(Claim(Proof.SIGNED, fingerprint("signed", given), **{key: value}))


def without_identity(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata without anything that speaks for identity (what a channel must never pass on unchecked)."""
    return {k: v for k, v in (metadata or {}).items() if k not in IDENTITY_METADATA_KEYS}
