"""Schedules routes: skill groups' hours, holidays (days closed or with other hours) and agents' shifts (排班).

Every staff member may read them (GET /api/schedules); only 主管 change them. The rules (what "open" means, when a
group is back) are handoff/schedules.py's; these routes parse, call it, and say what it answered."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth import Role
from desk.auth_api import authenticated
from desk.errors import NotFoundError, in_thread
from desk.openapi_parts import DAY, OpenApiPart, Schema, answer, errors, nullable, ref
from desk.schedule_params import (
    HHMM,
    MAX_DAYS,
    MAX_ID,
    MAX_NOTE,
    MAX_USERNAME,
    day_rule_body,
    hours_body,
    row_id,
    schedule_query,
    shift_body,
)
from desk.views import iso, json_reply
from handoff.schedules import Schedules
from handoff.timetable import DayRule, Hours, Shift, hhmm
from service.clock import Clock


async def _call(fn: Any, *args: Any) -> Any:
    """A schedules call in a worker thread, its refusals turned into API errors."""
    return await in_thread(fn, *args)


def hours_view(group: str, hours: Hours, source: str) -> dict[str, Any]:
    return {"group": group, "start": hhmm(hours.start), "end": hhmm(hours.end), "days": sorted(hours.days),
            "text": hours.describe(), "source": source}


def rule_view(rule: DayRule) -> dict[str, Any]:
    return {"id": rule.id, "date": rule.day.isoformat(), "group": rule.group, "closed": rule.closed,
            "start": hhmm(rule.start) if rule.start else None, "end": hhmm(rule.end) if rule.end else None,
            "note": rule.note, "source": rule.source}


def shift_view(shift: Shift) -> dict[str, Any]:
    return {"id": shift.id, "username": shift.username, "date": shift.start.date().isoformat(),
            "start": hhmm(shift.start.time()), "end": hhmm(shift.end.time()), "groups": sorted(shift.groups)}


def schedule_view(schedules: Schedules, clock: Clock, args: Any) -> dict[str, Any]:
    """Everything the settings page shows: groups' hours and whether they are at work now, holidays from the first
    day on, and the shifts of the days asked for."""
    now = clock.now()
    first, days = schedule_query(args, now.date())
    last = first + timedelta(days=days - 1)
    table = schedules.timetable(now.date())
    groups = []
    for group, (hours, source) in schedules.group_hours().items():
        status = table.status(group, now)
        groups.append({**hours_view(group, hours, source), "open": status.open, "back_at": iso(status.back_at)})
    return {"now": iso(now), "from": first.isoformat(), "days": days, "editable": schedules.editable,
            "groups": groups, "holidays": [rule_view(r) for r in schedules.day_rules(min(first, now.date()))],
            "shifts": [shift_view(s) for s in schedules.shifts(first, last)],
            "agents": [{"username": u, "name": n, "groups": sorted(g)} for u, n, g in schedules.agents()]}


def _schedules(request: Request) -> Schedules:
    schedules: Schedules = request.app.ctx.schedules
    return schedules


def known_group(schedules: Schedules, raw: str) -> str:
    """The path's skill group, percent-decoded (Sanic leaves path parameters encoded); 404 for an unknown one."""
    try:
        group = unquote(raw, errors="strict")
    except UnicodeDecodeError:  # %FF: no group has that name
        group = ""
    if group not in schedules.config.groups:
        raise NotFoundError("not_found", f"no skill group {group[:20]}")
    return group


def _id(value: int, kind: str) -> int:
    checked = row_id(value)
    if checked is None:
        raise NotFoundError("not_found", f"no {kind} {value}")
    return checked


def schedules_blueprint() -> Blueprint:
    bp = Blueprint("schedules", url_prefix="/api/schedules")

    @bp.get("/", strict_slashes=False)
    @authenticated()
    async def read(request: Request) -> HTTPResponse:
        schedules = _schedules(request)
        return json_reply(await _call(schedule_view, schedules, schedules.clock, request.args))

    @bp.put("/groups/<group>")
    @authenticated(Role.SUPERVISOR)
    async def set_hours(request: Request, group: str) -> HTTPResponse:
        schedules = _schedules(request)
        group = known_group(schedules, group)
        hours = hours_body(request.body)
        await _call(schedules.set_group_hours, group, hours, request.ctx.staff.username)
        return json_reply(hours_view(group, hours, "desk"))

    @bp.delete("/groups/<group>")
    @authenticated(Role.SUPERVISOR)
    async def reset_hours(request: Request, group: str) -> HTTPResponse:
        schedules = _schedules(request)
        group = known_group(schedules, group)
        await _call(schedules.clear_group_hours, group)
        hours, source = (await _call(schedules.group_hours))[group]
        return json_reply(hours_view(group, hours, source))

    @bp.post("/holidays")
    @authenticated(Role.SUPERVISOR)
    async def add_holiday(request: Request) -> HTTPResponse:
        schedules = _schedules(request)
        rule = day_rule_body(request.body, list(schedules.config.groups))
        added = await _call(schedules.add_day_rule, rule, request.ctx.staff.username)
        return json_reply(rule_view(added), status=201)

    @bp.delete("/holidays/<rule_id:int>")
    @authenticated(Role.SUPERVISOR)
    async def delete_holiday(request: Request, rule_id: int) -> HTTPResponse:
        await _call(_schedules(request).delete_day_rule, _id(rule_id, "holiday"))
        return json_reply({"ok": True})

    @bp.post("/shifts")
    @authenticated(Role.SUPERVISOR)
    async def add_shift(request: Request) -> HTTPResponse:
        wanted = shift_body(request.body)
        shift = await _call(_schedules(request).add_shift, wanted.username, wanted.day, wanted.start, wanted.end,
                            request.ctx.staff.username)
        return json_reply(shift_view(shift), status=201)

    @bp.delete("/shifts/<shift_id:int>")
    @authenticated(Role.SUPERVISOR)
    async def delete_shift(request: Request, shift_id: int) -> HTTPResponse:
        await _call(_schedules(request).delete_shift, _id(shift_id, "shift"))
        return json_reply({"ok": True})

    return bp


# --- OpenAPI ---------------------------------------------------------------------------------------


def _body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    names = list(groups)
    group = {"type": "string", **({"enum": names} if names else {})}
    text, clock_time, day = {"type": "string"}, {"type": "string", "pattern": HHMM}, DAY
    weekdays = {"type": "array", "minItems": 1, "maxItems": 7, "items": {"type": "integer", "minimum": 1, "maximum": 7}}
    source = {"type": "string", "enum": ["desk", "handoff.yml", "working_hours"]}
    when = {"type": "string", "format": "date-time", "nullable": True}
    row = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    hours = {"type": "object", "required": ["group", "start", "end", "days", "text", "source"], "properties": {
        "group": group, "start": text, "end": text, "days": weekdays, "text": text, "source": source}}
    holiday = {"type": "object", "required": ["date", "closed"], "properties": {
        "id": {"type": "integer", "nullable": True}, "date": text, "group": nullable(group),
        "closed": {"type": "boolean"}, "start": {"type": "string", "nullable": True},
        "end": {"type": "string", "nullable": True}, "note": text, "source": {"type": "string"}}}
    shift = {"type": "object", "required": ["id", "username", "date", "start", "end", "groups"], "properties": {
        "id": {"type": "integer", "nullable": True}, "username": text, "date": text, "start": text, "end": text,
        "groups": {"type": "array", "items": text}}}
    schemas: dict[str, Schema] = {
        "GroupHours": hours,
        "Holiday": holiday,
        "Shift": shift,
        "Schedules": {"type": "object", "required": ["groups", "holidays", "shifts", "agents"], "properties": {
            "now": when, "from": text, "days": {"type": "integer"}, "editable": {"type": "boolean"},
            "groups": {"type": "array", "items": {"allOf": [ref("GroupHours"), {"type": "object", "properties": {
                "open": {"type": "boolean"}, "back_at": when}}]}},
            "holidays": {"type": "array", "items": ref("Holiday")},
            "shifts": {"type": "array", "items": ref("Shift")},
            "agents": {"type": "array", "items": {"type": "object", "properties": {
                "username": text, "name": text, "groups": {"type": "array", "items": text}}}}}},
    }
    group_param = {"name": "group", "in": "path", "required": True, "schema": group, "description": "a skill group"}
    id_param = {"in": "path", "required": True, "schema": row}
    supervisor = "主管 only (坐席 get 403)."
    end_note = "An end at or before the start is on the next day (overnight)."
    holiday_common: Schema = {"date": day, "group": nullable(group),
                              "note": {"type": "string", "maxLength": MAX_NOTE, "nullable": True}}
    paths: dict[str, Schema] = {
        "/api/schedules": {"get": {
            "summary": "Groups' hours, holidays and shifts (排班)", "operationId": "getSchedules",
            "tags": ["schedules"], "description": "Any staff token. Holidays from `from` (or today) on; shifts of "
                                                 "the `days` days from `from`.",
            "parameters": [
                {"name": "from", "in": "query", "required": False, "allowEmptyValue": True,
                 "description": "first day (YYYY-MM-DD), today by default", "schema": day},
                {"name": "days", "in": "query", "required": False, "allowEmptyValue": True,
                 "description": "how many days of shifts", "schema": {"type": "integer", "minimum": 1,
                                                                      "maximum": MAX_DAYS, "default": 7}}],
            "responses": {"200": answer(ref("Schedules"), "the schedules"), **errors(400, 401, 422)}}},
        "/api/schedules/groups/{group}": {
            "put": {"summary": "Set a skill group's weekly hours", "operationId": "setGroupHours",
                    "tags": ["schedules"], "description": f"{supervisor} {end_note}", "parameters": [group_param],
                    "requestBody": _body({"type": "object", "required": ["start", "end"],
                                          "additionalProperties": False, "properties": {
                                              "start": clock_time, "end": clock_time, "days": weekdays}}),
                    "responses": {"200": answer(ref("GroupHours"), "the group's hours"),
                                  **errors(400, 401, 403, 404, 413, 422)}},
            "delete": {"summary": "Back to handoff.yml's hours for the group", "operationId": "resetGroupHours",
                       "tags": ["schedules"], "description": supervisor, "parameters": [group_param],
                       "responses": {"200": answer(ref("GroupHours"), "the group's hours now"),
                                     **errors(401, 403, 404, 422)}}},
        "/api/schedules/holidays": {"post": {
            "summary": "Close a day, or give it other hours (all groups or one)", "operationId": "addHoliday",
            "tags": ["schedules"], "description": f"{supervisor} Closed unless start and end are given. {end_note}",
            "requestBody": _body({"oneOf": [
                {"type": "object", "required": ["date"], "additionalProperties": False, "description": "a closed day",
                 "properties": {**holiday_common, "closed": {"type": "boolean", "enum": [True]}}},
                {"type": "object", "required": ["date", "start", "end"], "additionalProperties": False,
                 "description": "other hours that day", "properties": {
                     **holiday_common, "closed": {"type": "boolean", "enum": [False]}, "start": clock_time,
                     "end": clock_time}}]}),
            "responses": {"201": answer(ref("Holiday"), "added"), **errors(400, 401, 403, 404, 413, 422)}}},
        "/api/schedules/holidays/{rule_id}": {"delete": {
            "summary": "Remove a holiday the desk added", "operationId": "deleteHoliday", "tags": ["schedules"],
            "description": supervisor, "parameters": [{**id_param, "name": "rule_id"}],
            "responses": {"200": answer(ref("Done"), "removed"), **errors(401, 403, 404, 405, 422)}}},
        "/api/schedules/shifts": {"post": {
            "summary": "Put an agent on a shift", "operationId": "addShift", "tags": ["schedules"],
            "description": f"{supervisor} The agent's skill groups count as at work during the shift. {end_note}",
            "requestBody": _body({"type": "object", "required": ["username", "date", "start", "end"],
                                  "additionalProperties": False, "properties": {
                                      "username": {"type": "string", "minLength": 1, "maxLength": MAX_USERNAME},
                                      "date": day, "start": clock_time, "end": clock_time}}),
            "responses": {"201": answer(ref("Shift"), "added"), **errors(400, 401, 403, 413, 422)}}},
        "/api/schedules/shifts/{shift_id}": {"delete": {
            "summary": "Remove a shift", "operationId": "deleteShift", "tags": ["schedules"],
            "description": supervisor, "parameters": [{**id_param, "name": "shift_id"}],
            "responses": {"200": answer(ref("Done"), "removed"), **errors(401, 403, 404, 405, 422)}}},
    }
    return OpenApiPart(tag="schedules", paths=paths, schemas=schemas)

