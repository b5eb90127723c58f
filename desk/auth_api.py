"""Logging in (POST /api/auth/token), who am I (GET /api/me), and the `authenticated` guard for other routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import AuthError, Role, StaffDirectory, StaffMember, TokenIssuer
from desk.errors import Forbidden, Unauthorized
from desk.params import json_object
from desk.views import iso, json_reply
from service.logs import log_event

logger = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[HTTPResponse]])


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; Unauthorized without one."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing_token", "send Authorization: Bearer <token> (POST /api/auth/token gives one)")
    return token.strip()


async def current_staff(request: Request) -> StaffMember:
    """The staff member the request's token belongs to, if the account is still active."""
    tokens: TokenIssuer = request.app.ctx.tokens
    staff: StaffDirectory = request.app.ctx.staff
    try:
        claims = tokens.verify(bearer_token(request.headers.get("authorization")))
    except AuthError as exc:
        raise Unauthorized(exc.code, exc.reason) from exc
    member = await asyncio.to_thread(staff.get, claims.username)
    if member is None or not member.active:
        raise Unauthorized("account_disabled", "this staff account no longer exists or is disabled")
    request.ctx.expires_at = claims.expires_at
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


def auth_blueprint() -> Blueprint:
    bp = Blueprint("auth", url_prefix="/api")

    @bp.post("/auth/token")
    async def login(request: Request) -> HTTPResponse:
        body = json_object(request.body, required=("username", "password"))
        staff: StaffDirectory = request.app.ctx.staff
        member = await asyncio.to_thread(staff.authenticate, body["username"].strip(), body["password"])
        if member is None:
            log_event(logger, "login_failed", level=logging.WARNING)
            raise Unauthorized("bad_credentials", "wrong username or password")
        token, expires_at = request.app.ctx.tokens.issue(member)
        log_event(logger, "login", role=member.role.value)
        return json_reply({"token": token, "role": member.role.value, "name": member.name,
                           "username": member.username, "expires_at": iso(expires_at)})

    @bp.get("/me")
    @authenticated()
    async def me(request: Request) -> HTTPResponse:
        return json_reply({**member_view(request.ctx.staff), "expires_at": iso(request.ctx.expires_at)})

    return bp
