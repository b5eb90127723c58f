"""GET /api/audit: the 操作日志 for 主管, newest first. Read-only: no route of the desk changes or deletes a row."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role
from desk.auth_api import authenticated
from desk.errors import BadRequest, Unprocessable
from desk.views import audit_entry_view, iso, json_reply
from service.audit import MAX_PAGE_SIZE, AuditLog, AuditQuery
from service.clock import CST

AUDIT_QUERY = ("viewer", "customer_id", "since", "page", "page_size")


def _whole_number(values: Mapping[str, str], name: str, default: int, high: int | None = None) -> int:
    raw = values.get(name)
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError as exc:
        raise BadRequest("bad_parameter", f"{name} must be a whole number; got '{raw}'", name) from exc
    if number < 1 or (high is not None and number > high):
        bounds = f"between 1 and {high}" if high is not None else "at least 1"
        raise Unprocessable("invalid_parameter", f"{name} must be {bounds}; got {number}", name)
    return number


def _moment(raw: str | None) -> datetime | None:
    """2026-11-21 or 2026-11-21T10:00[:00][+08:00] → naive CST (as stored)."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest("bad_parameter", f"since must be a date or time like 2026-11-21T10:00+08:00; got '{raw}'",
                         "since") from exc
    return moment.astimezone(CST).replace(tzinfo=None) if moment.tzinfo is not None else moment


def audit_query(args: Mapping[str, list[str]]) -> AuditQuery:
    """The parameters of GET /api/audit; unknown or repeated ones are a 400."""
    values: dict[str, str] = {}
    for name, given in args.items():
        if name not in AUDIT_QUERY:
            raise BadRequest("bad_parameter", f"unknown query parameter '{name}'; known: {', '.join(AUDIT_QUERY)}", name)
        if len(given) != 1:
            raise BadRequest("bad_parameter", f"query parameter '{name}' must be given once", name)
        values[name] = given[0].strip()
    return AuditQuery(viewer=values.get("viewer") or None, customer_id=values.get("customer_id") or None,
                      since=_moment(values.get("since")), page=_whole_number(values, "page", 1),
                      page_size=_whole_number(values, "page_size", 50, MAX_PAGE_SIZE))


def audit_blueprint() -> Blueprint:
    bp = Blueprint("audit", url_prefix="/api")

    @bp.get("/audit")
    @authenticated(Role.SUPERVISOR)
    async def read_audit(request: Request) -> HTTPResponse:
        query = audit_query(request.args)
        log: AuditLog = request.app.ctx.audit.log
        page = await asyncio.to_thread(log.search, query)
        return json_reply({"items": [audit_entry_view(e) for e in page.items], "total": page.total,
                           "page": page.page, "page_size": page.page_size,
                           "since": iso(query.since) if query.since else None})

    return bp
