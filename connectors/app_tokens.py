"""The mobile app's tokens: a JWT the shop's backend signs (HS256, APP_TOKEN_SECRET) for one app user.

Claims: `sub` (the app user id, at most 64 characters), `customer_id` (the shop's customer id, e.g. C001),
`exp` (required, and at most IDENTITY_MAX_TTL_S ahead: a token that never ends is refused), `iat` optional.
Anything else (another algorithm, `alg: none` above all; a bad signature; a missing or malformed claim) is a
TokenError that names the problem. The check is a pure function of the token, the secret and the time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 4096
MAX_USER_CHARS = 64
LEEWAY_S = 60.0  # clock skew allowed between the shop's backend and us, for `iat` and `nbf` (never for `exp`)
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URL_TOKEN_KEYS = ("token", "access_token", "jwt")
# The claims are checked here, each with its own reason; PyJWT checks only the signature and the algorithm.
_SIGNATURE_ONLY: Any = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                        "verify_iss": False, "verify_sub": False, "verify_jti": False, "require": []}


class TokenError(Exception):
    """A token that does not hold; `code` for programs, `reason` for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class AppIdentity:
    """Who a valid token says is writing: the app user, the customer the shop vouches for, until when."""

    user: str
    customer_id: str
    expires_at: float


def _number(value: Any) -> bool:
    """A finite number (JSON parsers also read NaN and Infinity; True is an int to Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _claims(token: str, secret: str) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed_token", f"the token must be a JWT of at most {MAX_TOKEN_CHARS} characters")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("malformed_token", "the token is not a JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenError("wrong_algorithm", f"the token must be signed with {ALGORITHM}")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
    except jwt.InvalidSignatureError as exc:
        raise TokenError("bad_signature", "the token's signature does not match") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("malformed_token", "the token is not a JWT with a JSON object of claims") from exc
    return claims


def _expiry(claims: dict[str, Any], max_ttl_s: float, now: float) -> float:
    exp = claims.get("exp")
    if exp is None:
        raise TokenError("missing_claim", "the token has no 'exp' (expiry)")
    if not _number(exp):
        raise TokenError("bad_claim", "'exp' must be a number (seconds since 1970)")
    if exp <= now:
        raise TokenError("token_expired", "the token has expired")
    if exp - now > max_ttl_s:
        raise TokenError("token_too_long", f"'exp' must be at most {max_ttl_s:g} seconds ahead")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is not None and not _number(value):
            raise TokenError("bad_claim", f"'{name}' must be a number (seconds since 1970)")
        if value is not None and value > now + LEEWAY_S:
            raise TokenError("token_not_yet_valid", f"'{name}' is in the future")
    return float(exp)


def _user(claims: dict[str, Any]) -> str:
    sub = claims.get("sub")
    if sub is None:
        raise TokenError("missing_claim", "the token has no 'sub' (the app user id)")
    if not isinstance(sub, str) or not sub.strip() or sub != sub.strip() or len(sub) > MAX_USER_CHARS \
            or CONTROL.search(sub):
        raise TokenError("bad_claim", f"'sub' must be a string of 1 to {MAX_USER_CHARS} characters, "
                                      "without spaces at its ends or control characters")
    return sub


def _customer(claims: dict[str, Any]) -> str:
    customer_id = claims.get("customer_id")
    if customer_id is None:
        raise TokenError("missing_claim", "the token has no 'customer_id'")
    if not isinstance(customer_id, str) or not CUSTOMER_ID.fullmatch(customer_id):
        raise TokenError("bad_claim", "'customer_id' must be 1 to 16 letters, digits, '-' or '_' (e.g. C001)")
    return customer_id


def verify_app_token(token: str, secret: str, max_ttl_s: float, now: float) -> AppIdentity:
    """The identity a token proves at `now`; TokenError when it proves nothing."""
    claims = _claims(token, secret)
    expires_at = _expiry(claims, max_ttl_s, now)
    return AppIdentity(user=_user(claims), customer_id=_customer(claims), expires_at=expires_at)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; TokenError when there is none."""
    if not authorization or not authorization.strip():
        raise TokenError("missing_token", "send the app token as 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("missing_token", "the Authorization header must be 'Bearer <token>'")
    return token.strip()


def token_in_url(args: Any) -> bool:
    """A token passed in the query string (URLs end up in proxy and access logs): always refused."""
    return any(key in args for key in URL_TOKEN_KEYS)


def make_app_token(secret: str, user: str, customer_id: str, expires_at: float, issued_at: float | None = None) -> str:
    """A token as the shop's backend makes it (for tests, demos and the docs' example)."""
    claims: dict[str, Any] = {"sub": user, "customer_id": customer_id, "exp": expires_at}
    if issued_at is not None:
        claims["iat"] = issued_at
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
