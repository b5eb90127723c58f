"""快捷回复 routes: GET /api/canned-replies for any staff member (an agent sees their skill groups' replies and the
ones for every group, a 主管 all), POST, PUT and DELETE /api/canned-replies/<id> for 主管 only.

The replies are rendered in the console from the open chat's context; GET sends the placeholders with the paths
they read (service/canned_replies/placeholders.py), so both sides fill in the same names. The store is opened
after the desk's own resources (its migrations) and, in embedded mode, seeded with defaults on an empty table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role
from desk.auth_api import authenticated
from desk.errors import BadRequest, NotFoundError, Unprocessable, in_thread
from desk.openapi_parts import OpenApiPart, Schema, answer, errors, nullable, ref
from desk.params import MAX_ID, parse_json, single_values
from desk.views import iso, json_reply
from service.canned_replies.defaults import DEFAULT_REPLIES
from service.canned_replies.placeholders import MISSING_MARKER, PLACEHOLDERS, TEXT_PATTERN
from service.canned_replies.store import (
    MAX_QUERY,
    MAX_SHORTCUT,
    MAX_TEXT,
    MAX_TITLE,
    SHORTCUT_PATTERN,
    CannedReplies,
    CannedReply,
    ReplyDraft,
    scope_for,
)
from service.clock import Clock
from service.db import make_engine
from service.logs import log_event
from service.text_patterns import NOT_BLANK

logger = logging.getLogger(__name__)
T = TypeVar("T")
QUERY = ("q", "group")
FIELDS = {"title": True, "text": True, "shortcut": False, "group": False}  # name: required


# --- parsing --------------------------------------------------------------------------------------


def list_query(args: Mapping[str, list[str]]) -> tuple[str, str | None]:
    """GET's q (trimmed, at most MAX_QUERY characters as sent) and group (None when empty)."""
    values = single_values(args, QUERY)
    query = values.get("q", "")
    if len(query) > MAX_QUERY:
        raise Unprocessable("invalid_parameter", f"q must be at most {MAX_QUERY} characters", "q")
    return query.strip(), values.get("group") or None


def reply_body(raw: bytes) -> ReplyDraft:
    """A reply as sent: title and text strings, shortcut and group strings or null; 400 for anything else."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise BadRequest("bad_body", "the body must be a JSON object")
    for name in body:
        if name not in FIELDS:
            raise BadRequest("bad_body", f"unknown field '{name}'; expected: {', '.join(FIELDS)}", name)
    for name, required in FIELDS.items():
        if required and name not in body:
            raise BadRequest("bad_body", f"field '{name}' is required", name)
        value = body.get(name)
        if not isinstance(value, str) and (required or value is not None):
            raise BadRequest("bad_body", f"field '{name}' must be a string{'' if required else ' or null'}", name)
    return ReplyDraft(body["title"], body["text"], body.get("shortcut"), body.get("group"))


def checked_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFoundError("not_found", f"no canned reply {value}")
    return value


# --- views ----------------------------------------------------------------------------------------


def reply_view(reply: CannedReply) -> dict[str, Any]:
    return {"id": reply.id, "title": reply.title, "text": reply.text, "shortcut": reply.shortcut,
            "group": reply.group, "placeholders": list(reply.placeholders), "created_by": reply.created_by,
            "created_at": iso(reply.created_at), "updated_by": reply.updated_by, "updated_at": iso(reply.updated_at)}


def placeholders_view() -> list[dict[str, str]]:
    return [{"name": p.name, "label": p.label, "source": p.source} for p in PLACEHOLDERS.values()]


# --- routes ---------------------------------------------------------------------------------------


async def _call(fn: Callable[..., T], *args: Any) -> T:
    """A store call in a worker thread, its refusals turned into API errors."""
    return await in_thread(fn, *args, forbidden=("wrong_group",), field_codes=True)


def _replies(request: Request) -> CannedReplies:
    replies: CannedReplies = request.app.ctx.canned
    return replies


def canned_blueprint() -> Blueprint:
    bp = Blueprint("canned_replies", url_prefix="/api/canned-replies")

    @bp.get("/", strict_slashes=False)
    @authenticated()
    async def listing(request: Request) -> HTTPResponse:
        query, wanted = list_query(request.args)
        replies, member = _replies(request), request.ctx.staff
        supervisor = member.role is Role.SUPERVISOR
        own: Collection[str] = () if supervisor else (await asyncio.to_thread(request.app.ctx.agent_profile, member))[0]
        scope = await _call(scope_for, replies.groups, own, supervisor, wanted)
        found = await _call(replies.search, scope, query)
        groups = list(replies.groups) if supervisor else [g for g in replies.groups if g in own]
        return json_reply({"items": [reply_view(r) for r in found], "total": len(found), "groups": groups,
                           "placeholders": placeholders_view(), "missing_marker": MISSING_MARKER})

    @bp.post("/", strict_slashes=False)
    @authenticated(Role.SUPERVISOR)
    async def create(request: Request) -> HTTPResponse:
        draft = reply_body(request.body)
        reply = await _call(_replies(request).create, draft, request.ctx.staff.username)
        return json_reply(reply_view(reply), status=201)

    @bp.put("/<reply_id:int>")
    @authenticated(Role.SUPERVISOR)
    async def change(request: Request, reply_id: int) -> HTTPResponse:
        number = checked_id(reply_id)
        draft = reply_body(request.body)
        reply = await _call(_replies(request).update, number, draft, request.ctx.staff.username)
        return json_reply(reply_view(reply))

    @bp.delete("/<reply_id:int>")
    @authenticated(Role.SUPERVISOR)
    async def remove(request: Request, reply_id: int) -> HTTPResponse:
        number = checked_id(reply_id)
        await _call(_replies(request).delete, number, request.ctx.staff.username)
        return json_reply({"ok": True})

    bp.listener("after_server_start")(open_canned)
    bp.listener("after_server_stop")(close_canned)
    return bp


async def open_canned(app: Sanic, _loop: Any) -> None:
    """The store on an engine of its own (after the desk migrated the database); a test's own one is kept. In
    embedded mode an empty table gets the default replies."""
    settings = app.ctx.settings
    if getattr(app.ctx, "canned", None) is None:
        engine = make_engine(settings.database_url, pool_size=2, max_overflow=4)
        app.ctx.canned_engine = engine
        app.ctx.canned = CannedReplies(engine, list(app.ctx.bridge.config.groups), Clock(settings.business_date))
    if not settings.scaled:
        added = await asyncio.to_thread(app.ctx.canned.seed, DEFAULT_REPLIES)
        if added:
            log_event(logger, "canned_replies_default", count=added)


async def close_canned(app: Sanic, _loop: Any) -> None:
    engine = getattr(app.ctx, "canned_engine", None)
    if engine is not None:
        engine.dispose()
        app.ctx.canned_engine = None
        app.ctx.canned = None


# --- OpenAPI --------------------------------------------------------------------------------------


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    names = list(groups)
    group = {"type": "string", **({"enum": names} if names else {})}
    text, when = {"type": "string"}, {"type": "string", "format": "date-time"}
    names_enum = {"type": "string", "enum": list(PLACEHOLDERS)}
    known = "、".join(f"{{{p.name}}} {p.label}" for p in PLACEHOLDERS.values())
    reply = {"type": "object", "required": ["id", "title", "text", "shortcut", "group", "placeholders"], "properties": {
        "id": {"type": "integer"}, "title": text, "text": text,
        "shortcut": {"type": "string", "nullable": True, "description": "lower case"},
        "group": nullable(group, "null: every skill group"),
        "placeholders": {"type": "array", "items": names_enum},
        "created_by": text, "created_at": when, "updated_by": text, "updated_at": when}}
    listing = {"type": "object", "required": ["items", "total", "groups", "placeholders", "missing_marker"],
               "properties": {
                   "items": {"type": "array", "items": ref("CannedReply")}, "total": {"type": "integer"},
                   "groups": {"type": "array", "items": group, "description": "the groups the caller may pick"},
                   "placeholders": {"type": "array", "items": {
                       "type": "object", "required": ["name", "label", "source"], "properties": {
                           "name": names_enum, "label": text,
                           "source": {"type": "string", "description": "dotted path into {customer, slots, agent}"}}}},
                   "missing_marker": {"type": "string", "description": "what a missing value becomes; {label} is "
                                                                       "the placeholder's Chinese name"}}}
    body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["title", "text"], "additionalProperties": False, "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE, "pattern": NOT_BLANK,
                      "description": "kept on one line (runs of whitespace become one space)"},
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN,
                     "description": f"placeholders in braces: {known}; no other braces"},
            "shortcut": {"type": "string", "nullable": True, "maxLength": MAX_SHORTCUT,
                         "pattern": f"^$|{SHORTCUT_PATTERN}", "description": "unique; empty or null for none"},
            "group": nullable(group, "null (or left out) for every skill group")}}}}}
    id_param = {"name": "reply_id", "in": "path", "required": True, "description": "a canned reply's id",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
    supervisor = "主管 only (坐席 get 403)."
    paths: dict[str, Schema] = {
        "/api/canned-replies": {
            "get": {"summary": "快捷回复 the caller may use", "operationId": "listCannedReplies",
                    "tags": ["canned-replies"],
                    "description": "Any staff token. 坐席: their skill groups' replies and the ones for every group "
                                   "(403 for another group); 主管: all. With q, best matches first.",
                    "parameters": [
                        {"name": "q", "in": "query", "required": False, "allowEmptyValue": True,
                         "description": "words in the title, text or shortcut",
                         "schema": {"type": "string", "maxLength": MAX_QUERY}},
                        {"name": "group", "in": "query", "required": False, "allowEmptyValue": True,
                         "description": "only the replies usable in this group's chats (its own and every group's)",
                         "schema": group}],
                    "responses": {"200": answer(ref("CannedReplyList"), "the replies"),
                                  **errors(400, 401, 403, 422)}},
            "post": {"summary": "Add a 快捷回复", "operationId": "createCannedReply", "tags": ["canned-replies"],
                     "description": supervisor, "requestBody": body,
                     "responses": {"201": answer(ref("CannedReply"), "added"), **errors(400, 401, 403, 413, 422)}}},
        "/api/canned-replies/{reply_id}": {
            "put": {"summary": "Change a 快捷回复 (all fields)", "operationId": "updateCannedReply",
                    "tags": ["canned-replies"], "description": supervisor, "parameters": [id_param],
                    "requestBody": body,
                    "responses": {"200": answer(ref("CannedReply"), "changed"),
                                  **errors(400, 401, 403, 404, 405, 413, 422)}},
            "delete": {"summary": "Delete a 快捷回复", "operationId": "deleteCannedReply", "tags": ["canned-replies"],
                       "description": supervisor, "parameters": [id_param],
                       "responses": {"200": answer(ref("Done"), "deleted"), **errors(401, 403, 404, 405)}}},
    }
    return OpenApiPart(tag="canned-replies", paths=paths,
                       schemas={"CannedReply": reply, "CannedReplyList": listing})
