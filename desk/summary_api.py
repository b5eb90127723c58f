"""The 服务小结 routes: a draft for the console's end dialog, and a summary added after the chat ended without one.

GET  /api/handoff/sessions/<id>/summary-draft  a first draft (the agent holding the chat, also after the customer
                                                left it, or a 主管); phones and addresses masked in what it quotes
PUT  /api/handoff/sessions/<id>/summary        补写: the summary of a chat that ended without one (the customer left
                                                first…), by its agent or a 主管; kept on the record, sent to nobody
GET  /api/handoff/summaries/due                 the caller's chats of the last 7 days still without a summary
The rules are handoff/summary.py's (check_drafter, check_late_writer); the bridge stores and tells the consoles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth_api import authenticated
from desk.errors import Forbidden, NotFoundError, Unprocessable
from desk.handoff_api import body_of, summary_of
from desk.openapi_parts import OpenApiPart
from desk.views import json_reply
from handoff.bridge import Bridge
from handoff.records import HandoffRecords
from handoff.summary import DUE_LIMIT, MAX_SUMMARY, check_drafter, draft_summary
from handoff.views import AGENT, for_role
from service.errors import InvalidInput, NotAllowed, NotFound
from service.text_patterns import NOT_BLANK

SESSION_ID = 64


def summary_blueprint() -> Blueprint:
    bp = Blueprint("handoff_summary", url_prefix="/api/handoff")

    @bp.get("/sessions/<session_id>/summary-draft")
    @authenticated()
    async def summary_draft(request: Request, session_id: str) -> HTTPResponse:
        records: HandoffRecords = request.app.ctx.handoff_records
        staff = request.ctx.staff
        try:
            session = await asyncio.to_thread(records.get, session_id[:SESSION_ID])
            check_drafter(session, staff.username, staff.role.value)
            messages = await asyncio.to_thread(records.messages, session.id)
        except NotFound as exc:
            raise NotFoundError("not_found", f"no handoff {session_id[:SESSION_ID]}") from exc
        except NotAllowed as exc:
            raise Forbidden(exc.code, str(exc)) from exc
        return json_reply({"session_id": session.id, "draft": draft_summary(session, messages),
                           "max_length": MAX_SUMMARY, "closing_summary": session.closing_summary})

    @bp.put("/sessions/<session_id>/summary")
    @authenticated()
    async def add_summary(request: Request, session_id: str) -> HTTPResponse:
        bridge: Bridge = request.app.ctx.bridge
        staff = request.ctx.staff
        summary = summary_of(body_of(request.body))
        try:
            session = await bridge.add_summary(staff.username, session_id[:SESSION_ID], summary, staff.role.value)
        except NotFound as exc:
            raise NotFoundError("not_found", f"no handoff {session_id[:SESSION_ID]}") from exc
        except NotAllowed as exc:
            if exc.code == "not_owner":
                raise Forbidden(exc.code, str(exc)) from exc
            raise Unprocessable(exc.code, str(exc)) from exc
        except InvalidInput as exc:
            raise Unprocessable("invalid_input", f"{exc.field}: {exc.reason}", exc.field) from exc
        return json_reply({"session_id": session.id, "status": session.status, "end_reason": session.end_reason,
                           "closing_summary": session.closing_summary})

    @bp.get("/summaries/due")
    @authenticated()
    async def summaries_due(request: Request) -> HTTPResponse:
        bridge: Bridge = request.app.ctx.bridge
        due = await bridge.summaries_due(request.ctx.staff.username)
        # one's own chats, for the console's list: masked as for an agent whatever the role (no 操作日志 needed)
        return json_reply({"sessions": [for_role(view, AGENT) for view in due]})

    return bp


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    draft = {"type": "object", "required": ["session_id", "draft", "max_length"], "properties": {
        "session_id": {"type": "string"},
        "draft": {"type": "string", "maxLength": MAX_SUMMARY, "description": "one line: why the customer came, the "
                  "question, the order, what the agent last said (phones and addresses masked)"},
        "max_length": {"type": "integer", "enum": [MAX_SUMMARY]},
        "closing_summary": {"type": "string", "nullable": True, "description": "the one already written, if any"}}}
    late = {"type": "object", "required": ["summary"], "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": MAX_SUMMARY, "pattern": NOT_BLANK,
                    "description": f"one line of 1–{MAX_SUMMARY} characters once line breaks are folded"}}}
    added = {"type": "object", "required": ["session_id", "status", "closing_summary"], "properties": {
        "session_id": {"type": "string"}, "status": {"type": "string"},
        "end_reason": {"type": "string", "nullable": True}, "closing_summary": {"type": "string"}}}
    due = {"type": "object", "required": ["sessions"], "properties": {"sessions": {
        "type": "array", "maxItems": DUE_LIMIT, "description": "newest first; session views (masked) with ended_at "
        "and end_reason", "items": {"type": "object"}}}}
    session_id = [{"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    errors = {str(s): {"$ref": f"#/components/responses/{n}"}
              for s, n in ((401, "Unauthorized"), (403, "Forbidden"), (404, "NotFound"))}
    return OpenApiPart(tag="handoff-summary", schemas={"SummaryDraft": draft, "LateSummary": late,
                                                       "LateSummaryAdded": added, "SummariesDue": due}, paths={
        "/api/handoff/sessions/{session_id}/summary-draft": {"get": {
            "summary": "A draft of the 服务小结 to prefill the end dialog (the agent holding the chat, or 主管)",
            "operationId": "draftHandoffSummary", "tags": ["handoff-summary"], "parameters": session_id,
            "description": "403 not_owner for a 坐席 whose chat it is not.",
            "responses": {
                "200": {"description": "the draft",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SummaryDraft"}}}},
                **errors}}},
        "/api/handoff/sessions/{session_id}/summary": {"put": {
            "summary": "补写服务小结: the summary of a chat that ended without one (its agent, or 主管)",
            "operationId": "addLateHandoffSummary", "tags": ["handoff-summary"], "parameters": session_id,
            "description": "Kept on the record and sent to nobody (the customer has gone); the 质检 check of the chat "
                           "runs again. 403 not_owner for a 坐席 whose chat it is not; 422 still_open (end it with "
                           "a summary instead), not_served (no agent had it), summary_exists (written once, kept), "
                           "invalid_input (field summary).",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/LateSummary"}}}},
            "responses": {
                "200": {"description": "stored", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/LateSummaryAdded"}}}},
                "400": {"$ref": "#/components/responses/BadRequest"}, **errors,
                "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                "422": {"$ref": "#/components/responses/Unprocessable"}}}},
        "/api/handoff/summaries/due": {"get": {
            "summary": "The caller's chats of the last 7 days that ended without a 服务小结 (to 补写)",
            "operationId": "listDueHandoffSummaries", "tags": ["handoff-summary"],
            "responses": {
                "200": {"description": "the chats", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SummariesDue"}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"}}}}})
