"""Logging in (POST /api/auth/token, throttled), logging out (POST /api/auth/logout), who am I (GET /api/me), and the
`authenticated` guard for the other routes (a staff token, not logged out, of an account still active)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import AuthError, Claims, Role, StaffDirectory, StaffMember, TokenIssuer
from desk.errors import Forbidden, Unauthorized
from desk.login_throttle import CheckGate, GateFull, LoginThrottle, Refusal
from desk.params import json_object
from desk.revocation import TokenRevocations
from desk.views import iso, json_reply
from service.logs import log_event

logger = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[HTTPResponse]])
BUSY_RETRY_S = 1


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; Unauthorized without one."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing_token", "send Authorization: Bearer <token> (POST /api/auth/token gives one)")
    return token.strip()


async def check_token(app: Sanic, token: str) -> tuple[StaffMember, Claims]:
    """The staff member a token belongs to and its claims; AuthError when forged, expired, revoked or disabled."""
    tokens: TokenIssuer = app.ctx.tokens
    revocations: TokenRevocations = app.ctx.revocations
    claims = tokens.verify(token)
    member = await asyncio.to_thread(revocations.check, claims)
    return member, claims


async def current_staff(request: Request) -> StaffMember:
    """The staff member the request's token belongs to, if the token still holds and the account is active."""
    try:
        member, claims = await check_token(request.app, bearer_token(request.headers.get("authorization")))
    except AuthError as exc:
        raise Unauthorized(exc.code, exc.reason) from exc
    request.ctx.expires_at = claims.expires_at
    request.ctx.claims = claims
    return member


def authenticated(*roles: Role) -> Callable[[Handler], Handler]:
    """Route decorator: 401 without a valid token, 403 when the role is not one of `roles` (any role if none given)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            member = await current_staff(request)
            if roles and member.role not in roles:
                allowed = "、".join(role.value for role in roles)
                raise Forbidden("forbidden", f"only {allowed} may do this")
            request.ctx.staff = member
            return await handler(request, *args, **kwargs)

        return cast(Handler, guarded)

    return decorate


def member_view(member: StaffMember) -> dict[str, Any]:
    return {"username": member.username, "name": member.name, "role": member.role.value,
            "department": member.department}


def client_address(request: Request) -> str:
    """The client's address: the proxy-reported one when Sanic is told to trust the proxy, else the peer's."""
    return str(request.remote_addr or request.ip or "-")


def refused(refusal: Refusal, status: int = 429) -> HTTPResponse:
    return json_reply({"error": refusal.code, "reason": refusal.reason}, status=status,
                      headers={"Retry-After": str(refusal.retry_after_s)})


def auth_blueprint() -> Blueprint:
    bp = Blueprint("auth", url_prefix="/api")

    @bp.post("/auth/token")
    async def login(request: Request) -> HTTPResponse:
        body = json_object(request.body, required=("username", "password"))
        username, address = body["username"].strip(), client_address(request)
        throttle: LoginThrottle = request.app.ctx.login_throttle
        refusal = throttle.begin(username, address)  # before any hashing
        if refusal is not None:
            log_event(logger, "login_throttled", level=logging.WARNING, why=refusal.code)
            return refused(refusal)
        staff: StaffDirectory = request.app.ctx.staff
        gate: CheckGate = request.app.ctx.login_gate
        member = None
        try:
            member = await gate.run(staff.authenticate, username, body["password"])
        except GateFull:
            throttle.abandon(username, address)
            log_event(logger, "login_busy", level=logging.WARNING)
            return refused(Refusal("login_busy", "登录请求过多，请稍后再试", BUSY_RETRY_S), status=503)
        except BaseException:  # the client went away mid-check: counted as a failure, to be safe
            throttle.finish(username, address, succeeded=False)
            raise
        throttle.finish(username, address, succeeded=member is not None)
        if member is None:
            log_event(logger, "login_failed", level=logging.WARNING, locked=throttle.locked(username))
            raise Unauthorized("bad_credentials", "wrong username or password")
        token, expires_at = request.app.ctx.tokens.issue(member)
        log_event(logger, "login", role=member.role.value)
        return json_reply({"token": token, "role": member.role.value, "name": member.name,
                           "username": member.username, "expires_at": iso(expires_at)})

    @bp.post("/auth/logout")
    @authenticated()
    async def logout(request: Request) -> HTTPResponse:
        claims: Claims = request.ctx.claims
        await asyncio.to_thread(request.app.ctx.revocations.revoke, claims)
        closed = await request.app.ctx.agent_sockets.revoke(claims.jti)
        log_event(logger, "logout", role=request.ctx.staff.role.value, sockets_closed=closed)
        return json_reply({"ok": True})

    @bp.get("/me")
    @authenticated()
    async def me(request: Request) -> HTTPResponse:
        return json_reply({**member_view(request.ctx.staff), "expires_at": iso(request.ctx.expires_at)})

    return bp
