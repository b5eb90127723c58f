"""Conversation review and the training-data inbox over REST (service/review holds the rules).

GET  /api/review/conversations                  search (主管: all; 坐席: conversations of handoffs they handled)
GET  /api/review/conversations/<conversation>   a transcript (坐席 masked; 主管 whole, written to the 操作日志)
POST /api/review/marks                          send one customer message of a transcript to the inbox
GET  /api/review/inbox                          the inbox (主管)
POST /api/review/inbox/<id>                     confirm, correct, discard or reopen an item (主管)
POST /api/review/inbox/scan                     collect now (主管); the desk also does it every SCAN_EVERY_S
GET  /api/review/inbox/export.yml               the reviewed items as Rasa NLU YAML (主管)

Conversations are named by their pseudonym (service/privacy.conversation_ref), never by their sender id, which is
the conversation's key. The tracker store is opened on server start (app.ctx.conversation_log, desk/tracker_log.py),
the review service beside it (app.ctx.review).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from desk.audit_trail import audited_reply
from desk.auth import Role, StaffMember
from desk.auth_api import authenticated
from desk.errors import BadRequest, NotFoundError, Unprocessable, in_thread
from desk.openapi_parts import OpenApiPart
from desk.params import (
    BOOLEANS,
    MAX_ID,
    body_object,
    day,
    free_text,
    one_of,
    paging,
    path_id,
    single_values,
    whole_number,
)
from desk.review_openapi import review_part
from desk.review_views import conversation_page_view, inbox_page_view, item_view, scan_view
from desk.views import json_reply, sees_personal_data
from service.audit import Owner
from service.backends import build_backends
from service.clock import Clock
from service.db import make_engine
from service.logs import log_event
from service.review.inbox import MAX_PAGE as INBOX_MAX_PAGE
from service.review.inbox import MAX_PAGE_SIZE as INBOX_MAX_PAGE_SIZE
from service.review.inbox import SOURCES, STATUSES, InboxQuery
from service.review.names import CrmNames
from service.review.search import MAX_PAGE, MAX_PAGE_SIZE, ConversationQuery
from service.review.service import ReviewService, Viewer
from service.review.transcript import transcript_view

logger = logging.getLogger(__name__)
T = TypeVar("T")
SCAN_EVERY_S = 60.0  # app.ctx.review_scan_every_s overrides it (None or 0: no background scans)
CONVERSATION_QUERY = ("customer_id", "since", "until", "intent", "rating", "channel", "page", "page_size")
INBOX_QUERY = ("status", "source", "exported", "page", "page_size")
EXPORT_QUERY = ("batch",)
CHANNELS = ("rest", "socketio", "wechat", "app")
PSEUDONYM = re.compile(r"[0-9a-f]{12}")
FILTER_INTENT = re.compile(r"[A-Za-z_][A-Za-z0-9_/]{0,79}")
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
BATCH = re.compile(r"[0-9]{8}-[0-9]{6}(?:-[0-9a-f]{4})?")
YAML_TYPE = "application/yaml; charset=utf-8"


# --- parsing ---------------------------------------------------------------------------------------


def _matching(values: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = free_text(dict(values), name)
    if value is not None and not pattern.fullmatch(value):
        raise Unprocessable("invalid_parameter", f"{name} must be {what}", name)
    return value


def conversation_query(args: Mapping[str, list[str]]) -> ConversationQuery:
    """GET /api/review/conversations parameters; unknown or repeated ones are a 400, out of range a 422."""
    values = single_values(args, CONVERSATION_QUERY)
    rating = whole_number(values, "rating", 0, 1, 5) if values.get("rating") else None
    customer_id = _matching(values, "customer_id", CUSTOMER_ID, "a customer id such as C001")
    since, until = day(values, "since"), day(values, "until")
    intent = _matching(values, "intent", FILTER_INTENT, "an intent name such as query_logistics or nlu_fallback")
    channel = one_of(values, "channel", CHANNELS)
    page, page_size = paging(values, MAX_PAGE, MAX_PAGE_SIZE, 20)
    return ConversationQuery(customer_id=customer_id, since=since, until=until, intent=intent, rating=rating,
                             channel=channel, page=page, page_size=page_size)


def inbox_query(args: Mapping[str, list[str]]) -> InboxQuery:
    values = single_values(args, INBOX_QUERY)
    exported = values.get("exported") or None
    if exported is not None and exported not in BOOLEANS:
        raise BadRequest("bad_parameter", f"exported must be true, false, 1 or 0; got '{exported[:40]}'", "exported")
    status, source = one_of(values, "status", STATUSES), one_of(values, "source", SOURCES)
    page, page_size = paging(values, INBOX_MAX_PAGE, INBOX_MAX_PAGE_SIZE, 50)
    return InboxQuery(status=status, source=source, exported=BOOLEANS[exported] if exported is not None else None,
                      page=page, page_size=page_size)


def whole_id(value: Any, name: str) -> int:
    """A positive id that fits an INTEGER column; 422 otherwise (a JSON number, never a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise Unprocessable("invalid_input", f"{name} must be a whole number from 1 to {MAX_ID}", name)
    return value


def pseudonym(conversation: str) -> str:
    if not PSEUDONYM.fullmatch(conversation):
        raise NotFoundError("not_found", "no such conversation (a conversation is named by 12 hex digits)")
    return conversation


def item_id_of(text: str) -> int:
    return path_id(text, "inbox item")


# --- calling the service ---------------------------------------------------------------------------


def _review(request: Request) -> ReviewService:
    return request.app.ctx.review


def viewer_of(member: StaffMember) -> Viewer:
    return Viewer(member.username, sees_personal_data(member.role))


async def call(function: Callable[..., T], *args: Any) -> T:
    """A service call in a worker thread, its refusals turned into API errors."""
    return await in_thread(function, *args, forbidden=("not_your_conversation",))


async def readable_sender(request: Request, conversation: str) -> str:
    """The sender id of a conversation the requesting staff member may read (404 unknown, 403 not theirs)."""
    review = _review(request)
    sender = await call(review.resolve, pseudonym(conversation))
    await call(review.check_reader, sender, viewer_of(request.ctx.staff))
    return sender


# --- the routes ------------------------------------------------------------------------------------


def review_blueprint() -> Blueprint:
    bp = Blueprint("review", url_prefix="/api/review")
    bp.listener("before_server_start")(open_review)
    bp.listener("after_server_start")(start_scans)
    bp.listener("before_server_stop")(stop_scans)
    bp.listener("after_server_stop")(close_review)

    @bp.get("/conversations")
    @authenticated()
    async def conversations(request: Request) -> HTTPResponse:
        query = conversation_query(request.args)
        page = await call(_review(request).search, query, viewer_of(request.ctx.staff))
        return json_reply(conversation_page_view(page))

    @bp.get("/conversations/<conversation:str>")
    @authenticated()
    async def transcript(request: Request, conversation: str) -> HTTPResponse:
        sender = await readable_sender(request, conversation)
        source = await call(_review(request).transcript, sender)
        owner = Owner(source.customer_id or "", pseudonym(conversation))
        return await audited_reply(request, lambda role: transcript_view(source, masked=not sees_personal_data(role)),
                                   lambda _data: None, owner)

    @bp.post("/marks")
    @authenticated()
    async def mark(request: Request) -> HTTPResponse:
        body = body_object(request.body, ("conversation", "event_id"))
        if not isinstance(body["conversation"], str):
            raise Unprocessable("invalid_input", "conversation must be a string", "conversation")
        event_id = whole_id(body["event_id"], "event_id")
        sender = await readable_sender(request, body["conversation"])
        item, added = await call(_review(request).mark, sender, event_id)
        log_event(logger, "review_marked", added=added, role=request.ctx.staff.role.value)
        return json_reply({"added": added, "item": item_view(item)}, status=201 if added else 200)

    @bp.get("/inbox")
    @authenticated(Role.SUPERVISOR)
    async def inbox(request: Request) -> HTTPResponse:
        query = inbox_query(request.args)
        review = _review(request)
        page = await call(review.inbox.search, query)
        return json_reply(inbox_page_view(page, await call(review.training_data), review.threshold))

    @bp.post("/inbox/scan")
    @authenticated(Role.SUPERVISOR)
    async def scan(request: Request) -> HTTPResponse:
        async with request.app.ctx.review_scan_lock:
            result = await call(_review(request).scan)
        log_event(logger, "review_scanned", added=result.added, scanned=result.scanned, by="request")
        return json_reply(scan_view(result))

    @bp.post("/inbox/<item_id:str>")
    @authenticated(Role.SUPERVISOR)
    async def review_item(request: Request, item_id: str) -> HTTPResponse:
        number = item_id_of(item_id)
        body = body_object(request.body, ("status",), ("intent",))
        status, intent = body["status"], body.get("intent")
        if not isinstance(status, str) or status not in STATUSES:
            raise Unprocessable("invalid_input", f"status must be one of {', '.join(STATUSES)}", "status")
        if intent is not None and not isinstance(intent, str):
            raise Unprocessable("invalid_input", "intent must be a string", "intent")
        review = _review(request)
        item = await call(review.inbox.review, number, status, intent, request.ctx.staff.username)
        return json_reply(item_view(item, await call(review.training_data)))

    @bp.get("/inbox/export.yml")
    @authenticated(Role.SUPERVISOR)
    async def export(request: Request) -> HTTPResponse:
        values = single_values(request.args, EXPORT_QUERY)
        batch = _matching(values, "batch", BATCH, "an export batch such as 20261121-100000")
        done = await call(_review(request).export, batch)
        log_event(logger, "review_exported", batch=done.batch, examples=done.examples, new_intents=len(done.new_intents),
                  again=batch is not None)
        return raw(done.text.encode("utf-8"), content_type=YAML_TYPE, headers={
            "Content-Disposition": f'attachment; filename="{done.filename}"', "X-Review-Batch": done.batch,
            "X-Review-Examples": str(done.examples)})

    return bp


# --- resources and the background scan ---------------------------------------------------------------


async def open_review(app: Sanic, _loop: Any) -> None:
    """The review service on the tracker store and an engine of its own (closed on stop)."""
    settings = app.ctx.settings
    app.ctx.review_engine = make_engine(settings.database_url, pool_size=2, max_overflow=4)
    app.ctx.review = ReviewService(app.ctx.conversation_log, app.ctx.review_engine, Clock(settings.business_date),
                                   threshold=settings.review_confidence_threshold,
                                   names_of=getattr(app.ctx, "review_names", None),
                                   customer_name=CrmNames(lambda: build_backends(settings)))
    app.ctx.review_scan_lock = asyncio.Lock()
    app.ctx.review_job = None


async def start_scans(app: Sanic, _loop: Any) -> None:
    every = getattr(app.ctx, "review_scan_every_s", SCAN_EVERY_S)
    if every:
        app.ctx.review_job = asyncio.create_task(run_scans(app.ctx.review, app.ctx.review_scan_lock, every))


async def stop_scans(app: Sanic, _loop: Any) -> None:
    job = getattr(app.ctx, "review_job", None)
    if job is not None:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job


async def close_review(app: Sanic, _loop: Any) -> None:
    engine = getattr(app.ctx, "review_engine", None)
    if engine is not None:
        engine.dispose()
        app.ctx.review_engine = None


async def run_scans(review: ReviewService, lock: asyncio.Lock, every_s: float) -> None:
    """Every `every_s`: one bounded scan, and at once another while it stopped at its bound (errors logged)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            while True:
                async with lock:
                    result = await asyncio.to_thread(review.scan)
                if result.added:
                    log_event(logger, "review_scanned", added=result.added, scanned=result.scanned, by="job")
                if not result.more:
                    break
        except Exception as exc:  # a failed round must not stop the job
            log_event(logger, "review_scan_failed", level=logging.WARNING, error=type(exc).__name__)


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    """The review routes in /openapi.json (desk/openapi_parts.PARTS)."""
    return review_part(CONVERSATION_QUERY, CHANNELS, STATUSES, SOURCES)
