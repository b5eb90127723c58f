"""Writing the 操作日志 for what the desk shows a 主管 whole, in HTTP answers and WebSocket pushes.

Agents pay nothing: their views are masked and nothing is compared or written. For a supervisor the desk renders
the agent's (masked) view beside theirs, compares (service/audit.py) and writes the rows of one answer in one
transaction before sending it. Fail closed: if the row cannot be written, the data is not sent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import Any

from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role, StaffMember
from desk.views import json_reply, sees_personal_data
from service.audit import AuditLog, AuditRow, Exposure, Owner, exposures, rows_for

OwnerOf = Callable[[Mapping[str, Any]], Owner | None]
_PARAMETER = re.compile(r"<(\w+)(?::[^>]*)?>")  # <session_id:str> → <session_id>
CustomerOf = Callable[[str], str | None]  # a record reference (a handoff session id) → its customer, if known


class AuditTrail:
    """Resolves whose data an exposure was (when the response did not say) and writes the rows."""

    def __init__(self, log: AuditLog, customer_of: CustomerOf | None = None) -> None:
        self.log = log
        self._customer_of = customer_of

    def _write(self, rows: list[AuditRow]) -> int:
        if self._customer_of is not None:
            rows = [_with_customer(row, self._customer_of) for row in rows]
        return self.log.record(rows)

    async def record(self, member: StaffMember, source: str, found: list[Exposure]) -> int:
        """One transaction for everything one answer showed `member`."""
        if not found:
            return 0
        return await asyncio.to_thread(self._write, rows_for(member.username, member.role.value, source, found))

    async def record_rows(self, rows: list[AuditRow]) -> int:
        return await asyncio.to_thread(self._write, rows) if rows else 0


def _with_customer(row: AuditRow, customer_of: CustomerOf) -> AuditRow:
    if row.customer_id or not row.reference:
        return row
    customer = customer_of(row.reference) or ""
    return AuditRow(row.viewer, row.role, customer, row.shown, row.source, row.reference) if customer else row


def source_of(request: Request) -> str:
    """`GET /api/tickets/<number>`: the route, not the URL (the record is in the row's reference)."""
    path = request.route.path if request.route else request.path.lstrip("/")
    return f"{request.method} /" + _PARAMETER.sub(r"<\1>", path)


async def audited_reply(request: Request, build: Callable[[Role], Any], owner_of: OwnerOf,
                        default: Owner | None = None, status: int = 200) -> HTTPResponse:
    """The JSON answer `build(role)` for the requesting staff member; for a 主管, the audit rows first."""
    member: StaffMember = request.ctx.staff
    body = build(member.role)
    if sees_personal_data(member.role):
        found = exposures(body, build(Role.AGENT), owner_of, default)
        await request.app.ctx.audit.record(member, source_of(request), found)
    return json_reply(body, status=status)
