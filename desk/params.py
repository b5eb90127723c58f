"""Parsing what staff send: query parameters and JSON bodies, as pure functions that raise ApiError."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from desk.errors import BadRequest, Unprocessable
from service.tickets.models import TicketFilter
from service.tickets.policy import PRIORITIES
from service.tickets.rules import Category, Status
from service.tickets.service import MAX_PAGE_SIZE

TICKET_QUERY = ("status", "priority", "department", "category", "assignee", "customer_id", "overdue", "open", "q",
                "page", "page_size")
NOTIFICATION_QUERY = ("department", "unread", "limit")
MAX_COMMENT = 2000
MAX_NOTIFICATIONS = 200
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class TicketQuery:
    filters: TicketFilter
    page: int
    page_size: int


@dataclass(frozen=True)
class NotificationQuery:
    department: str | None
    unread_only: bool
    limit: int


def _single(args: Mapping[str, list[str]], allowed: Collection[str]) -> dict[str, str]:
    """One value per known parameter; unknown or repeated parameters are a 400."""
    values: dict[str, str] = {}
    for name, given in args.items():
        if name not in allowed:
            raise BadRequest("bad_parameter", f"unknown query parameter '{name}'; known: {', '.join(allowed)}", name)
        if len(given) != 1:
            raise BadRequest("bad_parameter", f"query parameter '{name}' must be given once", name)
        values[name] = given[0].strip()
    return values


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
    if raw.lower() not in BOOLEANS:
        raise BadRequest("bad_parameter", f"{name} must be true or false; got '{raw}'", name)
    return BOOLEANS[raw.lower()]


def _int(values: dict[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = values.get(name)
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError as exc:
        raise BadRequest("bad_parameter", f"{name} must be a whole number; got '{raw}'", name) from exc
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Unprocessable("invalid_parameter", f"{name} must be {bounds}; got {number}", name)
    return number


def ticket_query(args: Mapping[str, list[str]], departments: Collection[str]) -> TicketQuery:
    """GET /api/tickets parameters as a service filter and a page."""
    values = _single(args, TICKET_QUERY)
    status = _choice(values, "status", [s.value for s in Status])
    filters = TicketFilter(
        status=Status(status) if status else None,
        priority=_choice(values, "priority", PRIORITIES),
        department=_choice(values, "department", list(departments)),
        category=_choice(values, "category", [c.value for c in Category]),
        assignee=values.get("assignee") or None,
        customer_id=values.get("customer_id") or None,
        overdue=_bool(values, "overdue"),
        open_only=bool(_bool(values, "open")),
        query=values.get("q", ""),
    )
    return TicketQuery(filters, _int(values, "page", 1, 1), _int(values, "page_size", 20, 1, MAX_PAGE_SIZE))


def notification_query(args: Mapping[str, list[str]], departments: Collection[str]) -> NotificationQuery:
    values = _single(args, NOTIFICATION_QUERY)
    return NotificationQuery(_choice(values, "department", list(departments)), bool(_bool(values, "unread")),
                             _int(values, "limit", 50, 1, MAX_NOTIFICATIONS))


# --- bodies ------------------------------------------------------------------------------------


def json_object(raw: bytes, required: Collection[str], optional: Collection[str] = ()) -> dict[str, str]:
    """A JSON object whose fields are all strings; missing, unknown or non-string fields are a 400."""
    try:
        body: Any = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("bad_json", "the body is not valid JSON") from exc
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
        return Status(raw.strip())
    except ValueError as exc:
        allowed = "、".join(s.value for s in Status)
        raise Unprocessable("invalid_status", f"status must be one of {allowed}; got '{raw}'", "status") from exc


def comment_text(raw: str, required: bool) -> str:
    text = raw.strip()
    if required and not text:
        raise Unprocessable("invalid_comment", "comment must not be empty", "comment")
    if len(text) > MAX_COMMENT:
        raise Unprocessable("invalid_comment", f"comment must be at most {MAX_COMMENT} characters", "comment")
    return text
