"""GET /api/audit: the 操作日志 for 主管, newest first. Read-only: no route of the desk changes or deletes a row."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role
from desk.auth_api import authenticated
from desk.params import free_text, moment, single_values, whole_number
from desk.views import audit_entry_view, iso, json_reply
from service.audit import MAX_PAGE_SIZE, AuditLog, AuditQuery
from service.tickets.service import MAX_PAGE

AUDIT_QUERY = ("viewer", "customer_id", "since", "page", "page_size")


def audit_query(args: Mapping[str, list[str]]) -> AuditQuery:
    """The parameters of GET /api/audit; unknown or repeated ones are a 400, out of range a 422."""
    values = single_values(args, AUDIT_QUERY)
    return AuditQuery(viewer=free_text(values, "viewer"), customer_id=free_text(values, "customer_id"),
                      since=moment(values, "since"), page=whole_number(values, "page", 1, 1, MAX_PAGE),
                      page_size=whole_number(values, "page_size", 50, 1, MAX_PAGE_SIZE))


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
