"""Handoff routes of the desk.

For the bot (token role "bot", signed with the desk key): queue a customer, relay a message,
leave the queue. For agents (staff tokens): the queue, a session with its context, pick,
reply, transfer, end, presence — over REST and over the WebSocket /ws/agent, which also
pushes queue changes and customer messages live. Agents see phone numbers and addresses
masked; supervisors see them whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any

import jwt
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import AuthError, Role, StaffMember
from desk.auth_api import authenticated, current_staff
from desk.errors import BadRequest, Forbidden, NotFoundError, Unauthorized, Unprocessable
from desk.views import json_reply
from handoff.bridge import Bridge, StartRequest
from handoff.views import for_role, start_view
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event

logger = logging.getLogger(__name__)
MAX_TEXT = 2000


def require_bot(request: Request) -> None:
    """Only the action server (a token with role "bot" signed with the desk key) may queue and relay."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing_token", "send Authorization: Bearer <bot token>")
    try:
        claims = jwt.decode(token.strip(), request.app.ctx.signing_key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token_expired", "the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("invalid_token", "the token is not valid") from exc
    if claims.get("role") != "bot":
        raise Forbidden("forbidden", "only the bot may do this")


async def call(coro: Any) -> Any:
    """A bridge call, its refusals turned into API errors."""
    try:
        return await coro
    except NotFound as exc:
        raise NotFoundError("not_found", f"no {exc.kind} {exc.key}") from exc
    except NotAllowed as exc:
        raise Unprocessable(exc.code, str(exc)) from exc
    except InvalidInput as exc:
        raise Unprocessable("invalid_input", f"{exc.field}: {exc.reason}", exc.field) from exc


def body_of(raw: bytes, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object of a request; 400 when it is not one or lacks a required field."""
    try:
        body: Any = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("bad_json", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("bad_body", "the body must be a JSON object")
    for name in required:
        if body.get(name) in (None, ""):
            raise BadRequest("bad_body", f"missing field '{name}'", name)
    return body


def typed(body: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise Unprocessable("invalid_input", f"{key} must be a {kind.__name__}", key)
    return value


def text_of(body: dict[str, Any], key: str = "text") -> str:
    text = body.get(key)
    if not isinstance(text, str) or not text.strip():
        raise Unprocessable("invalid_input", f"{key} must be a non-empty string", key)
    if len(text) > MAX_TEXT:
        raise Unprocessable("invalid_input", f"{key} must be at most {MAX_TEXT} characters", key)
    return text.strip()


class AgentSockets:
    """This process's agent WebSockets; bridge events are delivered to whom they concern."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[Any]] = defaultdict(set)
        self.members: dict[str, StaffMember] = {}

    def add(self, member: StaffMember, ws: Any) -> None:
        self.members[member.username] = member
        self.sockets[member.username].add(ws)

    def remove(self, username: str, ws: Any) -> bool:
        """Forget a socket; True when it was the agent's last one here."""
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
        for username in self.recipients(event):
            payload = json.dumps(for_role(event, self.members[username].role.value), ensure_ascii=False, default=str)
            for ws in list(self.sockets.get(username, ())):
                try:
                    await ws.send(payload)
                except Exception:  # a closed socket: it is removed when its handler ends
                    log_event(logger, "agent_socket_send_failed", logging.WARNING, agent=username)


async def connect_agent(app: Sanic, member: StaffMember) -> None:
    bridge: Bridge = app.ctx.bridge
    groups, capacity = await asyncio.to_thread(app.ctx.agent_profile, member)
    await bridge.connect(member.username, member.name, groups, capacity)


def handoff_blueprint() -> Blueprint:
    bp = Blueprint("handoff", url_prefix="/api")

    # --- the bot --------------------------------------------------------------------------
    @bp.post("/handoff/sessions")
    async def start(request: Request) -> HTTPResponse:
        require_bot(request)
        body = body_of(request.body, required=("sender_id", "reason"))
        result = await call(request.app.ctx.bridge.start(StartRequest(
            sender_id=typed(body, "sender_id", str, ""), channel=typed(body, "channel", str, ""),
            reason=typed(body, "reason", str, ""), intent=typed(body, "intent", str, ""),
            summary=typed(body, "summary", str, "")[:500], context=typed(body, "context", dict, {}),
            customer_id=typed(body, "customer_id", str, None), customer_vip=typed(body, "customer_vip", bool, False))))
        return json_reply(start_view(result), status=201 if result.session_id else 200)

    @bp.post("/handoff/sessions/<session_id>/messages")
    async def relay(request: Request, session_id: str) -> HTTPResponse:
        require_bot(request)
        body = body_of(request.body, required=("text",))
        await call(request.app.ctx.bridge.customer_message(
            session_id, text_of(body), typed(body, "intent", str, ""), typed(body, "entities", list, [])))
        return json_reply({"ok": True}, status=202)

    @bp.post("/handoff/sessions/<session_id>/leave")
    async def leave(request: Request, session_id: str) -> HTTPResponse:
        require_bot(request)
        bridge: Bridge = request.app.ctx.bridge
        session = await call(bridge._db(bridge._records.get, session_id))
        if session.status != "queued":
            return json_reply({"status": session.status})
        left = await call(bridge.leave(session_id))
        return json_reply({"status": left.status})

    # --- agents ---------------------------------------------------------------------------
    @bp.get("/handoff/queue")
    @authenticated()
    async def queue(request: Request) -> HTTPResponse:
        view = await request.app.ctx.bridge.queue_view()
        return json_reply(for_role(view, request.ctx.staff.role.value))

    @bp.get("/handoff/sessions/<session_id>")
    @authenticated()
    async def session(request: Request, session_id: str) -> HTTPResponse:
        view = await call(request.app.ctx.bridge.session_view(session_id))
        return json_reply(for_role(view, request.ctx.staff.role.value))

    @bp.post("/handoff/sessions/<session_id>/pick")
    @authenticated()
    async def pick(request: Request, session_id: str) -> HTTPResponse:
        await connect_agent(request.app, request.ctx.staff)
        picked = await call(request.app.ctx.bridge.pick(request.ctx.staff.username, session_id))
        return json_reply({"session_id": picked.id, "status": picked.status, "agent": picked.agent})

    @bp.post("/handoff/sessions/<session_id>/reply")
    @authenticated()
    async def reply(request: Request, session_id: str) -> HTTPResponse:
        body = body_of(request.body, required=("text",))
        await call(request.app.ctx.bridge.reply(request.ctx.staff.username, session_id, text_of(body)))
        return json_reply({"ok": True})

    @bp.post("/handoff/sessions/<session_id>/transfer")
    @authenticated()
    async def transfer(request: Request, session_id: str) -> HTTPResponse:
        body = body_of(request.body)
        group, agent = typed(body, "group", str, None), typed(body, "agent", str, None)
        if bool(group) == bool(agent):
            raise Unprocessable("invalid_input", "give exactly one of group or agent", "group")
        moved = await call(request.app.ctx.bridge.transfer(request.ctx.staff.username, session_id,
                                                           group=group, to_agent=agent))
        return json_reply({"session_id": moved.id, "status": moved.status, "agent": moved.agent,
                           "group": moved.skill_group})

    @bp.post("/handoff/sessions/<session_id>/end")
    @authenticated()
    async def end(request: Request, session_id: str) -> HTTPResponse:
        ended = await call(request.app.ctx.bridge.end(request.ctx.staff.username, session_id))
        return json_reply({"session_id": ended.id, "status": ended.status})

    @bp.put("/agents/me/status")
    @authenticated()
    async def status(request: Request) -> HTTPResponse:
        body = body_of(request.body, required=("status",))
        await connect_agent(request.app, request.ctx.staff)
        agent = await call(request.app.ctx.bridge.set_status(request.ctx.staff.username, str(body["status"])))
        return json_reply({"username": agent.username, "status": agent.status})

    return bp


def agent_socket_blueprint() -> Blueprint:
    bp = Blueprint("agent_ws")

    @bp.websocket("/ws/agent")
    async def agent_socket(request: Request, ws: Any) -> None:
        token = request.args.get("token") or ""
        request.headers["authorization"] = f"Bearer {token}"
        try:
            member = await current_staff(request)
        except (Unauthorized, AuthError) as exc:
            await ws.send(json.dumps({"type": "error", "error": "unauthorized", "reason": str(exc)}))
            await ws.close()
            return
        app, bridge = request.app, request.app.ctx.bridge
        sockets: AgentSockets = app.ctx.agent_sockets
        sockets.add(member, ws)
        await connect_agent(app, member)
        role = member.role.value
        open_sessions = await bridge._db(bridge._records.open_sessions)
        mine = [s for s in open_sessions if s.agent == member.username]
        team = [s for s in open_sessions if s.status == "assigned" and s.agent != member.username]
        me = next((a for a in await app.ctx.queue_state.agents() if a.username == member.username), None)
        await ws.send(json.dumps(for_role({
            "type": "hello",
            "me": {"username": member.username, "name": member.name, "role": role,
                   "status": me.status if me else None, "groups": sorted(me.groups) if me else [],
                   "capacity": me.capacity if me else None},
            "queue": await bridge.queue_view(), "sessions": [await bridge.session_view(s.id) for s in mine],
            "team_sessions": [await bridge.session_view(s.id) for s in team] if member.role is Role.SUPERVISOR else []},
            role), ensure_ascii=False, default=str))
        try:
            while True:
                raw = await ws.recv()
                if raw is None:
                    break
                await ws.send(json.dumps(await handle_command(app, member, raw), ensure_ascii=False, default=str))
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
            await bridge.end(user, session_id)
        else:
            return {"type": "error", "error": "bad_request", "reason": f"unknown command type {kind!r}", **echo}
    except (NotFound, NotAllowed, InvalidInput, Unprocessable) as exc:
        return {"type": "error", "request": kind, "session_id": session_id or None,
                "error": getattr(exc, "code", "not_found"), "reason": str(exc), **echo}
    return {"type": "ok", "request": kind, "session_id": session_id or None, **echo}
