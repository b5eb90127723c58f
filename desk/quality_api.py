"""The 质检 routes, for 主管 only: the flags of finished chats (GET /api/quality/flags) and their review.

The rules (qa_rules.yml, handoff/qa_rules.py) are read when the desk is built, so a mistake stops the start. On
server start the checks get an engine of their own and hang on the bridge: every chat is checked when it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role
from desk.auth_api import authenticated
from desk.errors import Unprocessable, in_thread
from desk.openapi_parts import DAY, OpenApiPart, answer, errors, query, ref
from desk.params import MAX_ID, day, json_object, one_of, paging, path_id, single_values
from desk.views import iso, json_reply
from handoff.qa_rules import QaRules, load_rules
from handoff.quality import RULES, QualityChecks
from handoff.quality_store import MAX_NOTE, MAX_PAGE, MAX_PAGE_SIZE, STATUSES, FlagQuery, QualityFlag, QualityStore
from service.clock import Clock
from service.db import make_engine

T = TypeVar("T")
FLAG_QUERY = ("status", "rule", "date_from", "date_to", "page", "page_size")
CST_DAY = "a date like 2026-11-21 (CST)"
STATUS_LABELS = {"open": "待复核", "reviewed": "已复核"}


# --- parsing ----------------------------------------------------------------------------------------


def flag_query(args: Mapping[str, list[str]]) -> FlagQuery:
    """GET /api/quality/flags parameters: dates are CST days, both inclusive."""
    values = single_values(args, FLAG_QUERY)
    first, last = day(values, "date_from", CST_DAY), day(values, "date_to", CST_DAY)
    # date_to before date_from: no day is in both, so no flag (the filters add up)
    status, rule = one_of(values, "status", STATUSES), one_of(values, "rule", list(RULES))
    page, page_size = paging(values, MAX_PAGE, MAX_PAGE_SIZE, 50)
    return FlagQuery(
        status=status, rule=rule, since=datetime.combine(first, datetime.min.time()) if first else None,
        until=datetime.combine(last + timedelta(days=1), datetime.min.time()) if last and last < date.max else None,
        page=page, page_size=page_size)


def flag_id_of(text: str) -> int:
    return path_id(text, "quality flag")


def note_of(raw: bytes) -> str:
    """The review's note ({"note": "..."}, or no body at all), trimmed."""
    if not raw.strip():
        return ""
    body = json_object(raw, required=(), optional=("note",))
    note = body.get("note", "")
    if len(note) > MAX_NOTE:
        raise Unprocessable("invalid_input", f"note must be at most {MAX_NOTE} characters", "note")
    return note.strip()


def flag_view(flag: QualityFlag) -> dict[str, Any]:
    return {"id": flag.id, "session_id": flag.session_id, "rule": flag.rule, "rule_label": RULES.get(flag.rule, flag.rule),
            "detail": flag.detail, "at": iso(flag.at), "agent": flag.agent, "status": flag.status,
            "status_label": STATUS_LABELS.get(flag.status, flag.status), "flagged_at": iso(flag.flagged_at),
            "reviewer": flag.reviewer, "note": flag.note, "reviewed_at": iso(flag.reviewed_at)}


# --- routes -----------------------------------------------------------------------------------------


async def _run(call: Callable[..., T], *args: Any) -> T:
    return await in_thread(call, *args)


def quality_blueprint(rules_path: Path | None = None) -> Blueprint:
    rules = load_rules(rules_path)  # a mistake in qa_rules.yml stops the desk here, with the key named
    bp = Blueprint("quality", url_prefix="/api/quality")

    @bp.get("/flags")
    @authenticated(Role.SUPERVISOR)
    async def flags(request: Request) -> HTTPResponse:
        query = flag_query(request.args)
        page = await _run(request.app.ctx.quality_store.search, query)
        return json_reply({"items": [flag_view(f) for f in page.items], "total": page.total, "page": page.page,
                           "page_size": page.page_size, "rules": [{"name": k, "label": v} for k, v in RULES.items()]})

    @bp.post("/flags/<flag_id:str>/review")
    @authenticated(Role.SUPERVISOR)
    async def review(request: Request, flag_id: str) -> HTTPResponse:
        number = flag_id_of(flag_id)
        note = note_of(request.body)
        flag = await _run(request.app.ctx.quality_store.review, number, request.ctx.staff.username, note)
        return json_reply(flag_view(flag))

    async def open_quality(app: Sanic, _loop: Any) -> None:
        open_checks(app, rules)

    async def close_quality(app: Sanic, _loop: Any) -> None:
        engine = getattr(app.ctx, "quality_engine", None)
        if engine is not None:
            engine.dispose()
            app.ctx.quality_engine = None

    bp.listener("after_server_start")(open_quality)
    bp.listener("after_server_stop")(close_quality)
    return bp


def open_checks(app: Sanic, rules: QaRules) -> QualityChecks:
    """The checks on an engine of their own, hung on the bridge (after the desk opened its resources)."""
    settings = app.ctx.settings
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=4)
    app.ctx.quality_engine = engine
    app.ctx.quality_store = QualityStore(engine, Clock(settings.business_date))
    checks = QualityChecks(app.ctx.handoff_records, app.ctx.quality_store, rules)
    app.ctx.quality = checks
    app.ctx.bridge.ended_hooks.append(checks.on_ended)
    return checks


# --- OpenAPI ----------------------------------------------------------------------------------------


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    text, maybe_text = {"type": "string"}, {"type": "string", "nullable": True}
    when, maybe_when = {"type": "string", "format": "date-time"}, {"type": "string", "format": "date-time",
                                                                   "nullable": True}
    day = DAY
    flag = {"type": "object", "required": ["id", "session_id", "rule", "detail", "at", "status"], "properties": {
        "id": {"type": "integer"}, "session_id": text, "rule": {"type": "string", "enum": list(RULES)},
        "rule_label": text, "detail": {"type": "string", "description": "what was found; quoted messages have phones "
                                       "and addresses masked"},
        "at": when, "agent": maybe_text, "status": {"type": "string", "enum": list(STATUSES)}, "status_label": text,
        "flagged_at": when, "reviewer": maybe_text, "note": maybe_text, "reviewed_at": maybe_when}}
    page = {"type": "object", "required": ["items", "total", "page", "page_size"], "properties": {
        "items": {"type": "array", "items": ref("QualityFlag")}, "total": {"type": "integer"},
        "page": {"type": "integer"}, "page_size": {"type": "integer"},
        "rules": {"type": "array", "items": {"type": "object", "properties": {"name": text, "label": text}}}}}
    flag_id = {"name": "flag_id", "in": "path", "required": True, "description": "a flag's id",
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}

    return OpenApiPart(tag="quality", schemas={"QualityFlag": flag, "QualityFlagPage": page}, paths={
        "/api/quality/flags": {"get": {
            "summary": "质检: flags of finished chats, newest first (主管)", "operationId": "listQualityFlags",
            "tags": ["quality"],
            "description": "Rules (qa_rules.yml): first_reply_late, forbidden_phrase, customer_anger (the customer's "
                           "next message after an agent reply), no_summary. Each chat is checked when it ends.",
            "parameters": [
                query("status", "open (待复核) or reviewed (已复核)", {"type": "string", "enum": list(STATUSES)}),
                query("rule", "one rule", {"type": "string", "enum": list(RULES)}),
                query("date_from", "flags from this CST day on", day),
                query("date_to", "flags up to this CST day (inclusive)", day),
                query("page", "page number", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
                query("page_size", "flags per page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                                      "default": 50})],
            "responses": {"200": answer(ref("QualityFlagPage"), "one page of flags"), **errors(400, 401, 403, 422)}}},
        "/api/quality/flags/{flag_id}/review": {"post": {
            "summary": "Mark a flag reviewed, with a note (主管)", "operationId": "reviewQualityFlag",
            "tags": ["quality"], "parameters": [flag_id],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {
                    "note": {"type": "string", "maxLength": MAX_NOTE, "description": "trimmed; may be empty"}}}}}},
            "description": "Reviewing again replaces the note and the reviewer.",
            "responses": {"200": answer(ref("QualityFlag"), "the flag"), **errors(400, 401, 403, 404, 413, 422)}}},
    })
