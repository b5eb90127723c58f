"""The report routes (desk/reports_api.py) in OpenAPI 3: what they accept and answer."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from desk.openapi_parts import OpenApiPart, errors, ref
from handoff.queueing import AGENT_STATUSES
from service.reports.tables import KINDS

Schema = dict[str, Any]
TAG = "reports"
INT: Schema = {"type": "integer", "minimum": 0}
MAYBE_INT: Schema = {"type": "integer", "minimum": 0, "nullable": True}
TEXT: Schema = {"type": "string"}
WHEN: Schema = {"type": "string", "format": "date-time"}
DAY: Schema = {"type": "string", "format": "date"}
RATE: Schema = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True, "description": "a fraction, 0–1"}
SECONDS: Schema = {"type": "number", "minimum": 0, "nullable": True}
SUPERVISORS = "主管 only (坐席 get a 403; the bot's token is refused)."


def _object(properties: Mapping[str, Schema], required: Sequence[str] | None = None) -> Schema:
    return {"type": "object", "required": list(required if required is not None else properties),
            "properties": dict(properties)}


def _schemas(periods: Sequence[str], tables: Mapping[str, str]) -> dict[str, Schema]:
    durations = _object({"count": INT, "average_s": SECONDS, "median_s": SECONDS})
    csat = _object({"label": TEXT, "count": INT, "average": {"type": "number", "nullable": True},
                    "satisfied_rate": RATE, "distribution": _object({str(n): INT for n in range(1, 6)})})
    kpis = _object({
        "conversations": INT, "bot_only": INT, "bot_only_rate": RATE, "handoff_conversations": INT,
        "handoff_rate": RATE, "handoffs": INT, "abandoned": INT, "timed_out": INT, "customer_messages": INT,
        "fallbacks": INT, "fallback_rate": RATE, "wait": durations, "first_response": durations,
        "handling": durations, "csat": _object({"bot": csat, "agent": csat, "ticket": csat}),
        "tickets": _object({"opened": INT, "resolved": INT, "closed": INT,
                            "sla": _object({"due": INT, "hit": INT, "rate": RATE})})})
    table = _object({
        "name": {"type": "string", "enum": list(tables)}, "title": TEXT, "empty": TEXT,
        "columns": {"type": "array", "items": _object({"key": TEXT, "label": TEXT,
                                                       "kind": {"type": "string", "enum": list(KINDS)}})},
        "rows": {"type": "array", "items": {"type": "object"}}})
    group = _object({"group": TEXT, "waiting": INT, "urgent": INT, "longest_wait_s": MAYBE_INT, "agents_online": INT,
                     "agents_busy": INT, "free_slots": INT, "unreplied": INT})
    agent = _object({"username": TEXT, "name": TEXT, "status": {"type": "string", "enum": list(AGENT_STATUSES)},
                     "active": INT, "capacity": INT, "load": {"type": "number", "minimum": 0, "nullable": True},
                     "groups": {"type": "array", "items": TEXT}, "unreplied": INT})
    late = _object({"session_id": TEXT, "agent": {"type": "string", "nullable": True}, "agent_name": TEXT,
                    "group": TEXT, "reason": TEXT, "reason_label": TEXT, "assigned_at": WHEN, "waiting_s": INT})
    return {
        "ReportTable": table,
        "ReportSummary": _object({
            "period": _object({"name": {"type": "string", "enum": list(periods)}, "label": TEXT, "first_day": DAY,
                               "last_day": DAY, "days": {"type": "array", "items": DAY}}),
            "generated_at": WHEN,
            "truncated": {"type": "boolean", "description": "more data than one report reads: figures are partial"},
            "kpis": kpis, "tables": _object({name: ref("ReportTable") for name in tables})}),
        "ReportBoard": _object({
            "at": WHEN,
            "totals": _object({"waiting": INT, "longest_wait_s": MAYBE_INT, "agents_online": INT, "agents_busy": INT,
                               "agents_away": INT, "chats": INT, "unreplied": INT}),
            "groups": {"type": "array", "items": group}, "agents": {"type": "array", "items": agent},
            "unreplied": {"type": "array", "items": late, "description": "chats an agent took and has not answered "
                          "yet, the longest waiting first"}}),
    }


def reports_part(periods: Sequence[str], tables: Mapping[str, str], groups: Collection[str]) -> OpenApiPart:
    period = {"name": "period", "in": "query", "required": False, "allowEmptyValue": True,
              "description": "今日 (today, the default), 近7天 (7d) or 近30天 (30d), CST business days ending today",
              "schema": {"type": "string", "enum": list(periods), "default": "today"}}
    paths: dict[str, Schema] = {
        "/api/reports/board": {"get": {
            "summary": "The live board (现场管理): per skill group the queue and its longest wait, agents and their "
                       "load, chats assigned with no agent reply yet", "operationId": "reportBoard", "tags": [TAG],
            "description": SUPERVISORS + " No parameters; the console polls it every 5 s while the board is open.",
            "responses": {"200": {"description": "the board", "content": {"application/json": {
                "schema": ref("ReportBoard")}}}, **errors(400, 401, 403)}}},
        "/api/reports/summary": {"get": {
            "summary": "KPIs and every table of the period", "operationId": "reportSummary", "tags": [TAG],
            "description": SUPERVISORS + " The figures are defined in service/reports/__init__.py.",
            "parameters": [period],
            "responses": {"200": {"description": "the report", "content": {"application/json": {
                "schema": ref("ReportSummary")}}}, **errors(400, 401, 403, 422)}}},
    }
    for name, title in tables.items():
        paths[f"/api/reports/{name}.csv"] = {"get": {
            "summary": f"{title} as CSV", "operationId": f"reportCsv_{name}", "tags": [TAG],
            "description": SUPERVISORS + " UTF-8 with a byte order mark (Excel reads the Chinese), the header row "
                           "of the columns' labels; an attachment report-<table>-<period>-<day>.csv.",
            "parameters": [period],
            "responses": {"200": {"description": "the table", "headers": {"Content-Disposition": {
                "schema": {"type": "string"}, "description": "attachment; filename=…"}},
                "content": {"text/csv": {"schema": {"type": "string"}}}}, **errors(400, 401, 403, 422)}}}
    return OpenApiPart(tag=TAG, paths=paths, schemas=_schemas(periods, tables))
