"""The agents' WebSocket /ws/agent: authentication after connecting, the fan-out of bridge events, commands.

The token is never in the URL (URLs end up in proxy and access logs): the client's first frame must be
{"type": "auth", "token": "<staff token>"} within AUTH_TIMEOUT_S, else an error frame and the socket is closed
(code 4401). A connection with ?token= is refused the same way. Logging out closes the token's sockets at once on
this desk; every SOCKET_CHECK_S the desk also re-checks the tokens of all open sockets (logged out on another
desk, password changed, account disabled, expired) and closes those that no longer hold.

Agents get phone numbers and addresses masked; supervisors whole, and each push that shows them something whole
is written to the 操作日志 first (if that fails, they get the masked push instead).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sanic import Blueprint, Sanic
from sanic.request import Request

from desk.audit_trail import AuditTrail
from desk.auth import AuthError, Claims, Role, StaffMember
from desk.auth_api import check_token
from desk.errors import Unprocessable
from desk.handoff_api import connect_agent, summary_of, text_of
from handoff.bridge import Bridge
from handoff.records import HandoffRecords
from handoff.views import AGENT, for_role, session_owner
from service.audit import AuditRow, exposures, rows_for
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event

logger = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 5.0
SOCKET_CHECK_S = 15.0
UNAUTHORIZED_CLOSE = 4401  # an application close code: "authentication failed or ended"
Verdicts = Callable[[Iterable[Claims]], dict[str, AuthError | None]]


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def unauthorized_frame(code: str, reason: str) -> str:
    return _dumps({"type": "error", "error": "unauthorized", "code": code, "reason": reason})


async def refuse(ws: Any, code: str, reason: str) -> None:
    """An error frame, then the close (idempotent on a socket that is already closing)."""
    try:
        await ws.send(unauthorized_frame(code, reason))
        await ws.close(code=UNAUTHORIZED_CLOSE, reason=code)
    except Exception:  # the client is already gone
        log_event(logger, "agent_socket_close_failed", logging.DEBUG)


class AgentSockets:
    """This process's agent WebSockets with the token each authenticated with; bridge events go to whom they concern."""

    def __init__(self, audit: AuditTrail | None = None) -> None:
        self.sockets: dict[str, set[Any]] = defaultdict(set)
        self.members: dict[str, StaffMember] = {}
        self.claims: dict[Any, Claims] = {}
        self.audit = audit  # set when the desk starts (it needs the database)

    def add(self, member: StaffMember, claims: Claims, ws: Any) -> None:
        self.members[member.username] = member
        self.sockets[member.username].add(ws)
        self.claims[ws] = claims

    def remove(self, username: str, ws: Any) -> bool:
        """Forget a socket; True when it was the agent's last one here."""
        self.claims.pop(ws, None)
        self.sockets[username].discard(ws)
        if not self.sockets[username]:
            del self.sockets[username]
            return True
        return False

    def recipients(self, event: dict[str, Any]) -> list[str]:
        if event.get("type") in ("queue", "presence"):
            return list(self.sockets)
        concerned = {event.get("agent"), event.get("transferred_from")}
        return [u for u in self.sockets if u in concerned or self.members[u].role is Role.SUPERVISOR]

    async def deliver(self, event: dict[str, Any]) -> None:
        recipients = self.recipients(event)
        if not recipients:
            return
        masked_event = for_role(event, AGENT)
        masked = whole = _dumps(masked_event)
        supervisors = [u for u in recipients if self.members[u].role is Role.SUPERVISOR]
        if supervisors:
            found = exposures(event, masked_event, session_owner)
            rows = [row for u in supervisors for row in rows_for(u, Role.SUPERVISOR.value, f"ws:{event.get('type')}", found)]
            if await self._audited(rows):
                whole = _dumps(event)
        for username in recipients:
            payload = whole if self.members[username].role is Role.SUPERVISOR else masked
            for ws in list(self.sockets.get(username, ())):
                try:
                    await ws.send(payload)
                except Exception:  # a closed socket: it is removed when its handler ends
                    log_event(logger, "agent_socket_send_failed", logging.WARNING, agent=username)

    async def _audited(self, rows: list[AuditRow]) -> bool:
        """True when the rows are written (or there are none): only then may the data go out whole."""
        if not rows:
            return True
        if self.audit is None:
            return False
        try:
            await self.audit.record_rows(rows)
        except Exception as exc:  # fail closed: the supervisors get the masked push
            log_event(logger, "audit_write_failed", logging.ERROR, error=type(exc).__name__)
            return False
        return True

    async def hello_payload(self, member: StaffMember, hello: dict[str, Any]) -> str:
        if member.role is not Role.SUPERVISOR:
            return _dumps(for_role(hello, AGENT))
        found = exposures(hello, for_role(hello, AGENT), session_owner)
        if await self._audited(rows_for(member.username, member.role.value, "ws:hello", found)):
            return _dumps(hello)
        return _dumps(for_role(hello, AGENT))

    async def close_where(self, why: dict[str, AuthError]) -> int:
        """Close the sockets whose token id (jti) is in `why`, each with its reason; how many."""
        doomed = [(ws, why[claims.jti]) for ws, claims in list(self.claims.items()) if claims.jti in why]
        for ws, error in doomed:
            await refuse(ws, error.code, error.reason)
        return len(doomed)

    async def revoke(self, jti: str) -> int:
        """A token was logged out here: close its sockets now."""
        return await self.close_where({jti: AuthError("token_revoked", "已退出登录")})

    async def sweep(self, verdicts: Verdicts) -> int:
        """Re-check every open socket's token (in a worker thread); close those that no longer hold."""
        claims = list({c.jti: c for c in self.claims.values()}.values())
        if not claims:
            return 0
        results = await asyncio.to_thread(verdicts, claims)
        return await self.close_where({jti: error for jti, error in results.items() if error is not None})


async def check_sockets(sockets: AgentSockets, verdicts: Verdicts, interval_s: float = SOCKET_CHECK_S) -> None:
    """The desk's job: every `interval_s`, close sockets whose token was revoked elsewhere or expired."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            closed = await sockets.sweep(verdicts)
            if closed:
                log_event(logger, "agent_sockets_closed", sockets=closed)
        except Exception as exc:  # a failed round must not stop the job
            log_event(logger, "socket_check_failed", level=logging.WARNING, error=type(exc).__name__)


async def authenticate_socket(app: Sanic, ws: Any, timeout_s: float = AUTH_TIMEOUT_S) -> tuple[StaffMember, Claims]:
    """The first frame must be {"type": "auth", "token": ...}; AuthError otherwise, or when nothing came in time."""
    raw = await ws.recv(timeout=timeout_s)
    if raw is None:
        raise AuthError("auth_timeout", f"send {{\"type\": \"auth\", \"token\": ...}} within {timeout_s:g} seconds")
    try:
        frame = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise AuthError("auth_expected", "the first frame must be {\"type\": \"auth\", \"token\": ...}") from exc
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        raise AuthError("auth_expected", "the first frame must be {\"type\": \"auth\", \"token\": ...}")
    token = frame.get("token")
    if not isinstance(token, str) or not token.strip():
        raise AuthError("missing_token", "the auth frame has no token (POST /api/auth/token gives one)")
    return await check_token(app, token.strip())


async def hello_of(app: Sanic, member: StaffMember) -> dict[str, Any]:
    bridge: Bridge = app.ctx.bridge
    records: HandoffRecords = app.ctx.handoff_records
    open_sessions = await asyncio.to_thread(records.open_sessions)
    mine = [s for s in open_sessions if s.agent == member.username]
    team = [s for s in open_sessions if s.status == "assigned" and s.agent != member.username]
    me = await bridge.agent(member.username)
    return {
        "type": "hello",
        "me": {"username": member.username, "name": member.name, "role": member.role.value,
               "status": me.status if me else None, "groups": sorted(me.groups) if me else [],
               "capacity": me.capacity if me else None},
        "queue": await bridge.queue_view(), "sessions": [await bridge.session_view(s.id) for s in mine],
        "team_sessions": [await bridge.session_view(s.id) for s in team] if member.role is Role.SUPERVISOR else []}


def agent_socket_blueprint() -> Blueprint:
    bp = Blueprint("agent_ws")

    @bp.websocket("/ws/agent")
    async def agent_socket(request: Request, ws: Any) -> None:
        if "token" in request.args:
            log_event(logger, "agent_socket_refused", logging.WARNING, why="token_in_url")
            await refuse(ws, "token_in_url", "不要把令牌放在网址里：连接后发送 {\"type\": \"auth\", \"token\": ...}")
            return
        try:
            member, claims = await authenticate_socket(request.app, ws, request.app.ctx.socket_auth_timeout_s)
        except AuthError as exc:
            log_event(logger, "agent_socket_refused", logging.WARNING, why=exc.code)
            await refuse(ws, exc.code, exc.reason)
            return
        app, bridge = request.app, request.app.ctx.bridge
        sockets: AgentSockets = app.ctx.agent_sockets
        sockets.add(member, claims, ws)
        try:
            await connect_agent(app, member)
            await ws.send(await sockets.hello_payload(member, await hello_of(app, member)))
            while True:
                raw = await ws.recv()
                if raw is None:
                    break
                await ws.send(_dumps(await handle_command(app, member, raw)))
        finally:
            if sockets.remove(member.username, ws):
                await bridge.disconnect(member.username)

    return bp


async def handle_command(app: Sanic, member: StaffMember, raw: str) -> dict[str, Any]:
    """One command from an agent's socket; the answer says ok or why not (never a traceback)."""
    try:
        command = json.loads(raw)
        if not isinstance(command, dict):
            raise ValueError("not an object")
    except ValueError:
        return {"type": "error", "error": "bad_request", "reason": "send a JSON object with a type"}
    kind, bridge, user = command.get("type"), app.ctx.bridge, member.username
    session_id = str(command.get("session_id") or "")
    echo = {"id": command["id"]} if "id" in command else {}
    try:
        if kind == "ping":
            return {"type": "pong", **echo}
        if kind == "status":
            await bridge.set_status(user, str(command.get("status")))
        elif kind == "pick":
            await bridge.pick(user, session_id)
        elif kind == "reply":
            await bridge.reply(user, session_id, text_of(command))
        elif kind == "transfer":
            await bridge.transfer(user, session_id, group=command.get("group"), to_agent=command.get("agent"))
        elif kind == "end":
            await bridge.end(user, session_id, summary_of(command))
        else:
            return {"type": "error", "error": "bad_request", "reason": f"unknown command type {kind!r}", **echo}
    except (NotFound, NotAllowed, InvalidInput, Unprocessable) as exc:
        return {"type": "error", "request": kind, "session_id": session_id or None,
                "error": getattr(exc, "code", "invalid_input" if isinstance(exc, InvalidInput) else "not_found"),
                "reason": str(exc), **({"field": field} if (field := getattr(exc, "field", None)) else {}), **echo}
    return {"type": "ok", "request": kind, "session_id": session_id or None, **echo}
