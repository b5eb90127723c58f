"""POST /api/assist/suggestions: agent assist, the knowledge base's best 3 answers for a customer's message;
GET /api/assist/status: whether the knowledge base is ready (the console asks before its first suggestions, so a
desk that is still building answers 200 there instead of a 503 the browser would log).

{"session_id": ...}: for the session's latest customer message; a 坐席 only for a session they hold, a 主管 for any.
{"text": ...}: for any text, any staff member (to try the knowledge base). The index (service/kb/assist.py) is built
in a thread when the desk starts; until it is ready the route answers 503 with the reason. Past replies are read
again every REFRESH_EVERY_S. Tests put their own Assist on app.ctx.assist before the desk starts (and may set
app.ctx.assist_start_delay_s and app.ctx.assist_refresh_s)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import Any

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role
from desk.auth_api import authenticated
from desk.errors import BadRequest, Forbidden, NotFoundError
from desk.handoff_api import MAX_TEXT
from desk.openapi_parts import OpenApiPart, Schema, answer, errors, ref
from desk.params import json_object, single_values
from desk.views import json_reply
from service.errors import NotAllowed, NotFound
from service.kb.access import check_session_access, latest_customer_message
from service.kb.assist import BUILDING, FAILED, READY, REFRESH_EVERY_S, Assist, KnowledgeSources, NotReady
from service.kb.past_replies import PastReplies
from service.kb.units import Source, Suggestion
from service.logs import log_event
from service.privacy import scrub
from service.text_patterns import NOT_BLANK

logger = logging.getLogger(__name__)
SUGGESTIONS = 3
MAX_SESSION_ID = 64
RETRY_AFTER_S = 5
START_DELAY_S = 1.0


def assist_request(raw: bytes) -> tuple[str | None, str | None]:
    """(session_id, text) of a request body: exactly one of them, a string, within bounds; BadRequest otherwise."""
    body = json_object(raw, required=(), optional=("session_id", "text"))
    if ("session_id" in body) == ("text" in body):
        raise BadRequest("bad_body", "send exactly one of session_id or text")
    if "session_id" in body:
        session_id = body["session_id"]
        if not session_id or len(session_id) > MAX_SESSION_ID:
            raise BadRequest("bad_body", f"session_id must be 1 to {MAX_SESSION_ID} characters", "session_id")
        return session_id, None
    text = body["text"]
    if len(text) > MAX_TEXT:
        raise BadRequest("bad_body", f"text must be at most {MAX_TEXT} characters", "text")
    if not text.strip():
        raise BadRequest("bad_body", "text must not be empty", "text")
    return None, text.strip()


def suggestion_view(suggestion: Suggestion) -> dict[str, Any]:
    unit = suggestion.unit
    return {"id": unit.id, "source": unit.source.value, "title": unit.title, "text": unit.text,
            "score": suggestion.score}


async def session_query(request: Request, session_id: str) -> str:
    """The latest customer message of a session the staff member may assist on (404 unknown, 403 not theirs)."""
    staff = request.ctx.staff
    try:
        session = await request.app.ctx.bridge.session(session_id)
        check_session_access(staff.username, staff.role is Role.SUPERVISOR, session)
    except NotFound as exc:
        raise NotFoundError("not_found", f"no handoff session {session_id}") from exc
    except NotAllowed as exc:
        raise Forbidden(exc.code, str(exc)) from exc
    messages = await asyncio.to_thread(request.app.ctx.handoff_records.messages, session.id)
    return latest_customer_message(messages)


def assist_blueprint() -> Blueprint:
    bp = Blueprint("assist", url_prefix="/api/assist")
    bp.listener("after_server_start")(start_assist)
    bp.listener("before_server_stop")(stop_assist)

    @bp.post("/suggestions")
    @authenticated()
    async def suggestions(request: Request) -> HTTPResponse:
        session_id, text = assist_request(request.body)
        query = await session_query(request, session_id) if session_id is not None else text or ""
        if not query:
            return json_reply({"query": "", "suggestions": []})
        assist: Assist = request.app.ctx.assist
        try:
            found = await asyncio.to_thread(assist.suggest, query, SUGGESTIONS)
        except NotReady as exc:
            return json_reply({"error": "assist_not_ready", "reason": str(exc)}, status=503,
                              headers={"Retry-After": str(RETRY_AFTER_S)})
        log_event(logger, "assist_suggested", by=request.ctx.staff.role.value, session=bool(session_id),
                  found=len(found))
        return json_reply({"query": scrub(query), "suggestions": [suggestion_view(s) for s in found]})

    @bp.get("/status")
    @authenticated()
    async def status(request: Request) -> HTTPResponse:
        single_values(request.args, ())  # no parameters
        assist: Assist = request.app.ctx.assist
        index = assist.index
        return json_reply({"state": assist.state, "reason": assist.reason, "units": len(index.units) if index else 0,
                           "reranks": bool(index and index.reranks)})

    return bp


# --- the index: built on start, past replies refreshed ---------------------------------------------


async def start_assist(app: Sanic, _loop: Any) -> None:
    """An Assist on the desk's database (unless one was put on app.ctx.assist), built in its thread once the desk
    has been up for app.ctx.assist_start_delay_s (its first requests, e.g. the console's login, go first)."""
    if getattr(app.ctx, "assist", None) is None:
        app.ctx.assist = Assist(KnowledgeSources(past_replies=PastReplies(app.ctx.tickets.engine).load))
    app.ctx.assist_job = asyncio.create_task(run_assist(app.ctx.assist,
                                                        getattr(app.ctx, "assist_start_delay_s", START_DELAY_S),
                                                        getattr(app.ctx, "assist_refresh_s", REFRESH_EVERY_S)))


async def stop_assist(app: Sanic, _loop: Any) -> None:
    job = getattr(app.ctx, "assist_job", None)
    if job is not None:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
    assist = getattr(app.ctx, "assist", None)
    if assist is not None:
        assist.stop()


async def run_assist(assist: Assist, delay_s: float, every_s: float) -> None:
    """After `delay_s`, the build (in its thread); then every `every_s` (0: never) past replies read again (errors
    logged, the job goes on)."""
    if delay_s:
        await asyncio.sleep(delay_s)
    assist.start()
    while every_s:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(assist.refresh)
        except Exception as exc:  # a failed round must not stop the job
            log_event(logger, "assist_refresh_failed", level=logging.WARNING, error=type(exc).__name__)


# --- OpenAPI ------------------------------------------------------------------------------------------


def _schemas() -> dict[str, Schema]:
    text: Schema = {"type": "string"}
    return {
        "AssistRequest": {"oneOf": [  # whole objects: generators mishandle oneOf beside properties
            {"type": "object", "required": ["session_id"], "additionalProperties": False, "properties": {
                "session_id": {"type": "string", "minLength": 1, "maxLength": MAX_SESSION_ID,
                               "description": "a handoff session: its latest customer message is the query; a 坐席 "
                                              "must hold the session (403 not_your_session), a 主管 may ask for any"}}},
            {"type": "object", "required": ["text"], "additionalProperties": False, "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": NOT_BLANK,
                         "description": "any text (trimmed; not only whitespace); any staff member"}}}]},
        "AssistSuggestion": {"type": "object", "required": ["id", "source", "title", "text", "score"], "properties": {
            "id": {"type": "string", "description": "faq/<topic>, kb/<document>#<section> or reply/<message id>"},
            "source": {"type": "string", "enum": [s.value for s in Source]},
            "title": text, "text": {"type": "string", "description": "the answer, for the reply box"},
            "score": {"type": "number", "description": "the blend of BM25 and the encoder's cosine; higher is better"}}},
        "AssistSuggestions": {"type": "object", "required": ["query", "suggestions"], "properties": {
            "query": {"type": "string", "description": "what was searched (personal data masked); empty when the "
                                                       "session has no customer message yet"},
            "suggestions": {"type": "array", "maxItems": SUGGESTIONS, "items": ref("AssistSuggestion")}}},
        "AssistStatus": {"type": "object", "required": ["state", "reason", "units", "reranks"], "properties": {
            "state": {"type": "string", "enum": [BUILDING, READY, FAILED]},
            "reason": {"type": "string", "description": "why there are no suggestions yet (empty when ready)"},
            "units": {"type": "integer", "minimum": 0, "description": "knowledge units indexed"},
            "reranks": {"type": "boolean", "description": "whether the sentence encoder re-ranks (false: BM25 alone)"}}},
    }


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    not_ready = {"description": "the knowledge base is still being built (assist_not_ready) or its build failed; "
                                "retry after Retry-After seconds",
                 "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                 "content": {"application/json": {"schema": ref("Error")}}}
    suggestions = {
        "summary": "The knowledge base's top 3 answers for a customer's message (agent assist)",
        "operationId": "assistSuggestions", "tags": ["assist"],
        "description": "Any staff token. FAQ answers, policy documents (docs/kb/) and past agent replies rated 4 or 5, "
                       "found with jieba + BM25 and re-ranked with the sentence encoder.",
        "requestBody": {"required": True, "description": "exactly one of session_id or text",
                        "content": {"application/json": {"schema": ref("AssistRequest")}}},
        "responses": {"200": answer(ref("AssistSuggestions"), "the suggestions, best first"),
                      **errors(400, 401, 403, 404, 413), "503": not_ready}}
    status = {
        "summary": "Whether agent assist's knowledge base is ready", "operationId": "assistStatus", "tags": ["assist"],
        "description": "Any staff token. building while the desk builds the index after its start, ready, or failed.",
        "responses": {"200": answer(ref("AssistStatus"), "the state"), **errors(400, 401)}}
    return OpenApiPart(tag="assist", schemas=_schemas(), paths={"/api/assist/suggestions": {"post": suggestions},
                                                                 "/api/assist/status": {"get": status}})
