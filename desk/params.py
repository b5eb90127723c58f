"""Parsing what staff send: query parameters and JSON bodies, as pure functions that raise ApiError.

What they accept is exactly what /openapi.json says (desk/openapi.py takes its bounds from here): enum and number
parameters are taken as sent, not trimmed; booleans are true, false, 1 or 0; an empty value is the same as leaving
the parameter out; every parameter at most once; bodies are JSON objects of known string fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from desk.errors import BadRequest, NotFoundError, Unprocessable
from service.clock import CST
from service.tickets.models import TicketFilter
from service.tickets.policy import PRIORITIES
from service.tickets.rules import Category, Status
from service.tickets.service import MAX_PAGE, MAX_PAGE_SIZE

TICKET_QUERY = ("status", "priority", "department", "category", "assignee", "customer_id", "overdue", "open", "mine",
                "q", "page", "page_size")
NOTIFICATION_QUERY = ("department", "unread", "limit")
MAX_COMMENT = 2000
MAX_NOTIFICATIONS = 200
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
MAX_ID = 2**31 - 1  # an INTEGER column's bound on every database
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WHOLE_NUMBER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() would also take "1_0", "１２" and "٣"
MOMENT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
                    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?)?")


@dataclass(frozen=True)
class TicketQuery:
    filters: TicketFilter
    page: int
    page_size: int
    mine: bool = False  # only the tickets assigned to whoever asks


@dataclass(frozen=True)
class NotificationQuery:
    department: str | None
    unread_only: bool
    limit: int


def single_values(args: Mapping[str, list[str]], allowed: Collection[str]) -> dict[str, str]:
    """One value per known parameter; unknown or repeated parameters are a 400."""
    values: dict[str, str] = {}
    for name, given in args.items():
        if name not in allowed:
            raise BadRequest("bad_parameter", f"unknown query parameter '{name}'; known: {', '.join(allowed)}", name)
        if len(given) != 1:
            raise BadRequest("bad_parameter", f"query parameter '{name}' must be given once", name)
        values[name] = given[0]
    return values


def free_text(values: dict[str, str], name: str) -> str | None:
    """A free-text filter, trimmed; None when empty."""
    return values.get(name, "").strip() or None


def _choice(values: dict[str, str], name: str, choices: Collection[str]) -> str | None:
    raw = values.get(name)
    if not raw:
        return None
    if raw not in choices:
        raise Unprocessable("invalid_parameter", f"{name} must be one of {'、'.join(choices)}; got '{raw}'", name)
    return raw


def _bool(values: dict[str, str], name: str) -> bool | None:
    raw = values.get(name)
    if not raw:
        return None
    if raw not in BOOLEANS:
        raise BadRequest("bad_parameter", f"{name} must be true, false, 1 or 0; got '{raw}'", name)
    return BOOLEANS[raw]


def whole_number(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = values.get(name)
    if not raw:
        return default
    if not WHOLE_NUMBER.fullmatch(raw):
        raise BadRequest("bad_parameter", f"{name} must be a whole number; got '{raw[:40]}'", name)
    digits = raw.lstrip("-").lstrip("0")
    if len(digits) > len(str(high)):  # far out of range: said without converting a 4,000-digit number
        raise Unprocessable("invalid_parameter", f"{name} must be between {low} and {high}", name)
    number = int(raw)
    if not low <= number <= high:
        raise Unprocessable("invalid_parameter", f"{name} must be between {low} and {high}; got {number}", name)
    return number


def one_of(values: Mapping[str, str], name: str, choices: Collection[str]) -> str | None:
    """An enum parameter, taken as sent; None when not given or empty, 422 for anything else."""
    value = values.get(name) or None
    if value is not None and value not in choices:
        raise Unprocessable("invalid_parameter", f"{name} must be one of {', '.join(choices)}; got '{value[:40]}'", name)
    return value


def day(values: Mapping[str, str], name: str, what: str = "a date like 2026-11-21") -> date | None:
    """A calendar day (YYYY-MM-DD, ASCII digits); None when not given or empty, 400 otherwise."""
    raw = values.get(name, "")
    if not raw:
        return None
    try:
        if not DAY.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest("bad_parameter", f"{name} must be {what}; got '{raw[:40]}'", name) from exc


def paging(values: Mapping[str, str], max_page: int, max_page_size: int, page_size: int) -> tuple[int, int]:
    """(page, page_size): page from 1 (the first by default), page_size from 1 (`page_size` by default)."""
    return (whole_number(values, "page", 1, 1, max_page),
            whole_number(values, "page_size", page_size, 1, max_page_size))


def path_id(text: str, what: str) -> int:
    """A row id in a path (1 to MAX_ID, no sign or leading zero); anything else is no such row (404)."""
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text) or int(text) > MAX_ID:
        raise NotFoundError("not_found", f"no {what} {text[:20]}")
    return int(text)


def moment(values: dict[str, str], name: str) -> datetime | None:
    """A date (2026-11-21) or an RFC 3339 date-time (2026-11-21T10:00:00+08:00, …Z); seconds and the offset may be
    left out (then it is CST). Naive CST, as stored; None when not given; 400 otherwise."""
    raw = values.get(name, "")
    if not raw:
        return None
    found = MOMENT.fullmatch(raw)
    try:
        if found is None:
            raise ValueError(raw)
        year, month, day, hour, minute, second, fraction, offset = found.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        when = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                        min(int(second or 0), 59), micro)  # :60 is a leap second in RFC 3339
        if offset and offset not in "Zz":
            sign = 1 if offset[0] == "+" else -1
            when = when.replace(tzinfo=timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))))
        elif offset:
            when = when.replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise BadRequest("bad_parameter", f"{name} must be a date or time like 2026-11-21 or "
                                          f"2026-11-21T10:00:00+08:00; got '{raw[:40]}'", name) from exc
    return when.astimezone(CST).replace(tzinfo=None) if when.tzinfo is not None else when


def ticket_query(args: Mapping[str, list[str]], departments: Collection[str]) -> TicketQuery:
    """GET /api/tickets parameters as a service filter and a page."""
    values = single_values(args, TICKET_QUERY)
    status = _choice(values, "status", [s.value for s in Status])
    filters = TicketFilter(
        status=Status(status) if status else None,
        priority=_choice(values, "priority", PRIORITIES),
        department=_choice(values, "department", list(departments)),
        category=_choice(values, "category", [c.value for c in Category]),
        assignee=free_text(values, "assignee"),
        customer_id=free_text(values, "customer_id"),
        overdue=_bool(values, "overdue"),
        open_only=bool(_bool(values, "open")),
        query=free_text(values, "q") or "",
    )
    return TicketQuery(filters, *paging(values, MAX_PAGE, MAX_PAGE_SIZE, 20), mine=bool(_bool(values, "mine")))


def notification_query(args: Mapping[str, list[str]], departments: Collection[str]) -> NotificationQuery:
    values = single_values(args, NOTIFICATION_QUERY)
    return NotificationQuery(_choice(values, "department", list(departments)), bool(_bool(values, "unread")),
                             whole_number(values, "limit", 50, 1, MAX_NOTIFICATIONS))


# --- bodies ------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable(value: Any) -> bool:
    """No lone UTF-16 surrogate ("\\ud800") and no NUL ("\\u0000") anywhere in `value`: both are valid JSON, but
    no database stores the first, and PostgreSQL's text refuses the second (a 500 there)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def parse_json(raw: bytes) -> Any:
    """The JSON value of a request body (None when empty); 400 for anything a strict JSON parser refuses: invalid
    UTF-8, NaN/Infinity, lone surrogates, NUL characters, and nesting deeper than Python's recursion limit."""
    if not raw:
        return None
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError as exc:
        raise BadRequest("bad_json", "the body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadRequest("bad_json", "the body is not valid JSON (UTF-8)") from exc
    if not _storable(value):
        raise BadRequest("bad_json", "the body has text a database cannot store (a NUL or a lone surrogate)")
    return value


def body_object(raw: bytes, required: Collection[str], optional: Collection[str] = ()) -> dict[str, Any]:
    """A JSON object with the required fields (not null) and no unknown ones; the values are checked by the caller."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise BadRequest("bad_body", "the body must be a JSON object")
    known = [*required, *optional]
    for name in body:
        if name not in known:
            raise BadRequest("bad_body", f"unknown field '{name}'; expected: {', '.join(known)}", name)
    for name in required:
        if body.get(name) is None:
            raise BadRequest("bad_body", f"field '{name}' is required", name)
    return body


def json_object(raw: bytes, required: Collection[str], optional: Collection[str] = ()) -> dict[str, str]:
    """A JSON object whose fields are all strings; missing, unknown or non-string fields are a 400."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise BadRequest("bad_body", "the body must be a JSON object")
    for name in body:
        if name not in required and name not in optional:
            known = ", ".join([*required, *optional])
            raise BadRequest("bad_body", f"unknown field '{name}'; expected: {known}", name)
    for name in required:
        if name not in body:
            raise BadRequest("bad_body", f"field '{name}' is required", name)
    for name, value in body.items():
        if not isinstance(value, str):
            raise BadRequest("bad_body", f"field '{name}' must be a string", name)
    return body


def status_value(raw: str) -> Status:
    try:
        return Status(raw)
    except ValueError as exc:
        allowed = "、".join(s.value for s in Status)
        raise Unprocessable("invalid_status", f"status must be one of {allowed}; got '{raw[:40]}'", "status") from exc


def comment_text(raw: str, required: bool) -> str:
    """The comment, trimmed; its length is counted as sent (what maxLength in the OpenAPI document says)."""
    if len(raw) > MAX_COMMENT:
        raise Unprocessable("invalid_comment", f"comment must be at most {MAX_COMMENT} characters", "comment")
    text = raw.strip()
    if required and not text:
        raise Unprocessable("invalid_comment", "comment must not be empty", "comment")
    return text
