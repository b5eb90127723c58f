"""Handoff routes of the desk over REST.

For the bot (a bot token: role "bot", audience BOT_AUDIENCE, signed with the bot's key derived from the desk
secret): queue a customer, relay a message, leave the queue. For agents (staff tokens): the queue, a session with
its context, pick, reply, transfer, end, presence. The same for agents live is the WebSocket in
desk/agent_socket.py. Agents see phone numbers and addresses masked; supervisors see them whole, and each time that
is written to the 操作日志.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.audit_trail import audited_reply
from desk.auth import StaffMember
from desk.auth_api import authenticated
from desk.errors import BadRequest, Forbidden, Unauthorized, Unprocessable, service_refusals
from desk.params import parse_json
from desk.views import json_reply
from handoff.bridge import Bridge, StartRequest
from handoff.summary import MAX_SUMMARY
from handoff.views import for_role, session_owner, start_view
from service.desk_keys import BOT_AUDIENCE

MAX_TEXT = 2000


def check_bot_token(token: str, bot_key: str) -> None:
    """A bot token's signature, expiry, audience and role; Unauthorized/Forbidden otherwise (pure, no request)."""
    try:
        claims = jwt.decode(token, bot_key, algorithms=["HS256"], audience=BOT_AUDIENCE,
                            options={"require": ["exp", "aud", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token_expired", "the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("invalid_token", _why_not_bot(token)) from exc
    if claims.get("role") != "bot":
        raise Forbidden("forbidden", "only the bot may do this")


def _why_not_bot(token: str) -> str:
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.InvalidTokenError:
        audience = None
    if audience is not None and audience != BOT_AUDIENCE:
        return "a staff token does not open the bot's routes: send the bot's own token"
    return "the token is not valid"


def require_bot(request: Request) -> None:
    """Only the action server (a bot token signed with the bot's key) may queue and relay."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing_token", "send Authorization: Bearer <bot token>")
    check_bot_token(token.strip(), request.app.ctx.bot_key)


async def call(coro: Any) -> Any:
    """A bridge call, its refusals turned into API errors."""
    with service_refusals():
        return await coro


def body_of(raw: bytes, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object of a request (params.parse_json: strict, bounded); 400 when it is not one or lacks a field."""
    body = parse_json(raw)
    if body is None:
        body = {}
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


def summary_of(body: dict[str, Any]) -> str:
    """The 服务小结 of an end command or request, as sent (the bridge folds and checks it): required, 1–200
    characters with something besides whitespace."""
    summary = body.get("summary")
    if summary is None or (isinstance(summary, str) and not summary.strip()):
        raise Unprocessable("invalid_input", f"请填写服务小结（1–{MAX_SUMMARY} 字）", "summary")
    if not isinstance(summary, str):
        raise Unprocessable("invalid_input", "summary must be a string", "summary")
    if len(summary) > MAX_SUMMARY:
        raise Unprocessable("invalid_input", f"服务小结最多 {MAX_SUMMARY} 字，现在 {len(summary)} 字", "summary")
    return summary


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
            session_id, text_of(body), typed(body, "intent", str, ""), typed(body, "entities", list, []),
            typed(body, "channel", str, "")[:16], typed(body, "kind", str, "customer") == "system"))
        return json_reply({"ok": True}, status=202)

    @bp.post("/handoff/sessions/<session_id>/leave")
    async def leave(request: Request, session_id: str) -> HTTPResponse:
        require_bot(request)
        bridge: Bridge = request.app.ctx.bridge
        session = await call(bridge.session(session_id))
        if session.status != "queued":
            return json_reply({"status": session.status})
        left = await call(bridge.leave(session_id))
        return json_reply({"status": left.status})

    # --- agents ---------------------------------------------------------------------------
    @bp.get("/handoff/queue")
    @authenticated()
    async def queue(request: Request) -> HTTPResponse:
        view = await request.app.ctx.bridge.queue_view()
        return await audited_reply(request, lambda role: for_role(view, role.value), session_owner)

    @bp.get("/handoff/sessions/<session_id>")
    @authenticated()
    async def session(request: Request, session_id: str) -> HTTPResponse:
        view = await call(request.app.ctx.bridge.session_view(session_id))
        return await audited_reply(request, lambda role: for_role(view, role.value), session_owner)

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
        summary = summary_of(body_of(request.body))
        ended = await call(request.app.ctx.bridge.end(request.ctx.staff.username, session_id, summary))
        return json_reply({"session_id": ended.id, "status": ended.status})

    @bp.put("/agents/me/status")
    @authenticated()
    async def status(request: Request) -> HTTPResponse:
        body = body_of(request.body, required=("status",))
        await connect_agent(request.app, request.ctx.staff)
        agent = await call(request.app.ctx.bridge.set_status(request.ctx.staff.username, str(body["status"])))
        return json_reply({"username": agent.username, "status": agent.status})

    return bp
