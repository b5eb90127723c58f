"""Parsing what supervisors send to the schedules routes: pure functions that raise ApiError (desk/errors.py).

Exactly what desk/schedules_api.py's OpenAPI part says: bodies are JSON objects of known fields with the right
types; times HH:MM (CST), dates YYYY-MM-DD within DATE_RANGE, weekdays 1 (周一) to 7 (周日)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from desk.errors import BadRequest, Unprocessable
from desk.openapi_parts import DAY
from desk.params import MAX_ID, body_object, single_values, whole_number
from handoff.timetable import DayRule, Hours

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
YMD = DAY["pattern"]  # FIRST_DAY … LAST_DAY, as written
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MAX_NOTE = 60
MAX_USERNAME = 32
MAX_DAYS = 31
SCHEDULE_QUERY = ("from", "days")


@dataclass(frozen=True)
class ShiftRequest:
    username: str
    day: date
    start: time
    end: time


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest("bad_body", f"field '{name}' must be a string", name)
    return value


def clock_time(body: Mapping[str, Any], name: str) -> time:
    value = _text(body, name)
    if not re.fullmatch(HHMM, value):
        raise Unprocessable("invalid_time", f"{name} must be a time like 09:00; got '{value[:20]}'", name)
    return time(int(value[:2]), int(value[3:]))


def day_of(value: str, name: str) -> date:
    try:
        if not re.fullmatch(YMD, value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable("invalid_date", f"{name} must be a date like 2026-12-31; got '{value[:20]}'", name) from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Unprocessable("invalid_date", f"{name} must be between {FIRST_DAY} and {LAST_DAY}", name)
    return day


def _span(body: Mapping[str, Any]) -> tuple[time, time]:
    # an end before the start is the next day; the same time is 24 hours (00:00–00:00: round the clock)
    return clock_time(body, "start"), clock_time(body, "end")


def hours_body(raw: bytes) -> Hours:
    """PUT /api/schedules/groups/<group>: {start, end, days?} (days: weekdays 1–7, every day when left out)."""
    body = body_object(raw, ("start", "end"), ("days",))
    start, end = _span(body)
    days = body.get("days")
    if "days" not in body:
        return Hours(start, end)
    if (not isinstance(days, list) or not days or len(days) > 7
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)):
        raise Unprocessable("invalid_days", "days must list weekdays from 1 (周一) to 7 (周日)", "days")
    return Hours(start, end, frozenset(days))


def day_rule_body(raw: bytes, groups: Collection[str]) -> DayRule:
    """POST /api/schedules/holidays: a closed day {date, group?, closed?: true, note?} or other hours
    {date, group?, closed?: false, start, end, note?}; closed unless hours are given."""
    body = body_object(raw, ("date",), ("group", "closed", "start", "end", "note"))
    day = day_of(_text(body, "date"), "date")
    group = body.get("group")
    if group is not None:
        if not isinstance(group, str):
            raise BadRequest("bad_body", "field 'group' must be a string", "group")
        if group == "":
            group = None
        elif group not in groups:
            raise Unprocessable("invalid_group", f"group must be one of {'、'.join(groups)}", "group")
    closed = body.get("closed")
    if "closed" in body and not isinstance(closed, bool):
        raise BadRequest("bad_body", "field 'closed' must be true or false", "closed")
    note = "" if body.get("note") is None else body["note"]
    if not isinstance(note, str):
        raise BadRequest("bad_body", "field 'note' must be a string", "note")
    if len(note) > MAX_NOTE:
        raise Unprocessable("invalid_note", f"note must be at most {MAX_NOTE} characters", "note")
    has_hours = "start" in body or "end" in body  # given, they must be times (null too is refused)
    if closed is False or (closed is None and has_hours):
        start, end = _span(body)
        return DayRule(day, group, False, start, end, note.strip())
    if has_hours:
        raise Unprocessable("invalid_input", "a closed day has no start or end", "start")
    return DayRule(day, group, True, note=note.strip())


def shift_body(raw: bytes) -> ShiftRequest:
    """POST /api/schedules/shifts: {username, date, start, end} (an end at or before the start: the next day)."""
    body = body_object(raw, ("username", "date", "start", "end"))
    username = _text(body, "username").strip()
    if not username or len(username) > MAX_USERNAME:
        raise Unprocessable("invalid_username", f"username must have 1 to {MAX_USERNAME} characters", "username")
    start, end = _span(body)
    return ShiftRequest(username, day_of(_text(body, "date"), "date"), start, end)


def schedule_query(args: Mapping[str, list[str]], today: date) -> tuple[date, int]:
    """GET /api/schedules: from (a date, today by default) and days (1–31, 7 by default)."""
    values = single_values(args, SCHEDULE_QUERY)
    first = day_of(values["from"], "from") if values.get("from") else today
    return first, whole_number(values, "days", 7, 1, MAX_DAYS)


def row_id(value: int) -> int | None:
    """A path id within what the database stores (None: no such row)."""
    return value if 1 <= value <= MAX_ID else None
