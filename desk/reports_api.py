"""Supervisors' reports and live board over REST (service/reports computes every figure; 主管 only).

GET /api/reports/board                         the live board (现场管理): queues, agents, unanswered chats
GET /api/reports/summary?period=today|7d|30d   KPIs and every table of the period
GET /api/reports/<table>.csv?period=…          one table as CSV for Excel (UTF-8 with BOM), as an attachment
GET /console/vendor/echarts.min.js             ECharts for the console's charts, from node_modules (make web-deps)

The tracker store is opened on server start (app.ctx.conversation_log, desk/tracker_log.py, shared with conversation
review), the report service beside it (app.ctx.reports; in scaled mode with REPORTS_FROM_EVENTS=1 its conversation figures
come from the table connectors/event_consumer.py feeds); app.ctx.report_clock, when a test sets it
before the start, is the clock the reports and the board go by.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, file, raw

from desk.auth import Role
from desk.auth_api import authenticated
from desk.errors import NotFoundError, in_thread
from desk.openapi_parts import OpenApiPart
from desk.params import one_of, single_values
from desk.reports_openapi import reports_part
from desk.views import json_reply
from service.clock import Clock
from service.db import make_engine
from service.logs import log_event
from service.reports.board import build_board
from service.reports.csv_export import csv_filename, to_csv
from service.reports.event_store import ConversationEventStore
from service.reports.periods import PERIODS
from service.reports.records import ReportRecords
from service.reports.summary import ReportService
from service.reports.tables import TABLES

logger = logging.getLogger(__name__)
T = TypeVar("T")
PERIOD_QUERY = ("period",)
DEFAULT_PERIOD = "today"
CSV_TYPE = "text/csv; charset=utf-8"
ECHARTS = Path(__file__).resolve().parent.parent / "node_modules" / "echarts" / "dist" / "echarts.min.js"


def period_of(args: Any) -> str:
    """The `period` parameter: today (also when left out or empty), 7d or 30d; 400 unknown parameter, 422 value."""
    return one_of(single_values(args, PERIOD_QUERY), "period", PERIODS) or DEFAULT_PERIOD


async def call(function: Callable[..., T], *args: Any) -> T:
    """A report computed in a worker thread, the service's refusals as API errors."""
    return await in_thread(function, *args)


def _reports(request: Request) -> ReportService:
    return request.app.ctx.reports


def _csv_route(name: str) -> Callable[[Request], Any]:
    async def export(request: Request) -> HTTPResponse:
        period = period_of(request.args)
        table, shown = await call(_reports(request).table, period, name)
        log_event(logger, "report_exported", table=name, period=period, rows=len(table.rows))
        return raw(to_csv(table), content_type=CSV_TYPE, headers={
            "Content-Disposition": f'attachment; filename="{csv_filename(table, period, shown.last_day)}"'})

    export.__name__ = f"export_{name}"
    return authenticated(Role.SUPERVISOR)(export)


def reports_blueprint() -> Blueprint:
    bp = Blueprint("reports")
    bp.listener("before_server_start")(open_reports)
    bp.listener("after_server_stop")(close_reports)

    @bp.get("/api/reports/board")
    @authenticated(Role.SUPERVISOR)
    async def board(request: Request) -> HTTPResponse:
        single_values(request.args, ())  # no parameters
        app = request.app
        view = await app.ctx.bridge.queue_view()
        sessions = await asyncio.to_thread(app.ctx.handoff_records.open_sessions)
        return json_reply(build_board(view, sessions, app.ctx.report_clock.now()))

    @bp.get("/api/reports/summary")
    @authenticated(Role.SUPERVISOR)
    async def summary(request: Request) -> HTTPResponse:
        return json_reply(await call(_reports(request).summary, period_of(request.args)))

    for name in TABLES:
        bp.add_route(_csv_route(name), f"/api/reports/{name}.csv", methods=["GET"], name=f"report_csv_{name}")

    @bp.get("/console/vendor/echarts.min.js")
    async def echarts(_request: Request) -> HTTPResponse:
        """The console's charting library, from node_modules (a clear 404 until `make web-deps` installed it)."""
        if not ECHARTS.is_file():
            raise NotFoundError("not_installed", "echarts is not installed: run `make web-deps` (npm ci)")
        return await file(ECHARTS, mime_type="application/javascript; charset=utf-8")

    return bp


async def open_reports(app: Sanic, _loop: Any) -> None:
    """An engine of the reports' own and the report service on the tracker store (desk/tracker_log.py)."""
    settings = app.ctx.settings
    app.ctx.reports_engine = make_engine(settings.database_url, pool_size=2, max_overflow=4)
    injected = getattr(app.ctx, "report_clock", None)
    app.ctx.report_clock = injected or Clock(settings.business_date)
    real = injected or Clock()  # the tracker's timestamps are real: an injected (test) clock is both
    fed = ConversationEventStore(app.ctx.reports_engine) if settings.scaled and settings.reports_from_events else None
    app.ctx.reports = ReportService(app.ctx.conversation_log, ReportRecords(app.ctx.reports_engine),
                                    app.ctx.report_clock, real, fed=fed)


async def close_reports(app: Sanic, _loop: Any) -> None:
    engine = getattr(app.ctx, "reports_engine", None)
    if engine is not None:
        engine.dispose()
        app.ctx.reports_engine = None


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    """The report routes in /openapi.json (desk/openapi_parts.PARTS)."""
    return reports_part(list(PERIODS), TABLES, groups)
