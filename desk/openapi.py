"""The desk API described in OpenAPI 3 (GET /openapi.json) and as a plain HTML page (GET /docs), no external assets."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, html

from desk.auth import Role
from desk.docs_page import render_docs
from desk.handoff_api import MAX_TEXT
from desk.openapi_parts import load_parts
from desk.params import BOOLEANS, MAX_COMMENT, MAX_NOTIFICATIONS
from desk.views import json_reply
from handoff.queueing import AGENT_STATUSES
from handoff.summary import MAX_SUMMARY
from service.text_patterns import NOT_BLANK
from service.tickets.drafting import MAX_DESCRIPTION, MAX_TITLE
from service.tickets.policy import PRIORITIES
from service.tickets.rules import Category, Kind, Status
from service.tickets.service import MAX_PAGE, MAX_PAGE_SIZE

Schema = dict[str, Any]
STATUSES = [s.value for s in Status]
ROLES = [r.value for r in Role]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 413: "PayloadTooLarge",
             422: "Unprocessable"}
    return {str(status): {"$ref": f"#/components/responses/{names[status]}"} for status in statuses}


def _query(name: str, description: str, schema: Schema) -> Schema:
    """An optional query parameter, at most once; an empty value (?name=) is the same as leaving it out."""
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True, "description": description,
            "schema": schema}


NUMBER = {"name": "number", "in": "path", "required": True, "description": "ticket number, e.g. T2026112100001",
          "schema": {"type": "string"}}
SECURED: list[dict[str, list[str]]] = [{"bearerAuth": []}]
BOT_ONLY: list[dict[str, list[str]]] = [{"botAuth": []}]
BOOLEAN_QUERY: Schema = {"type": "string", "enum": list(BOOLEANS)}


def _schemas(departments: list[str]) -> dict[str, Schema]:
    text, when = {"type": "string"}, {"type": "string", "format": "date-time"}
    nullable_text, nullable_when = {"type": "string", "nullable": True}, {**when, "nullable": True}
    next_statuses = {"type": "array", "items": {"type": "string", "enum": STATUSES},
                     "description": "the statuses this ticket may move to now, for the caller's role (workflow order)"}
    ticket_fields: dict[str, Schema] = {
        "id": {"type": "integer"}, "number": text, "kind": {"type": "string", "enum": [k.value for k in Kind]},
        "category": {"type": "string", "enum": [c.value for c in Category]},
        "status": {"type": "string", "enum": STATUSES}, "priority": {"type": "string", "enum": list(PRIORITIES)},
        "department": {"type": "string", "enum": departments}, "assignee": nullable_text,
        "customer_id": nullable_text, "customer_name": text,
        "customer_phone": {"type": "string", "description": "masked (138****8000) for 坐席, whole for 主管"},
        "customer_address": {"type": "string", "description": "masked after the district for 坐席, whole for 主管"},
        "customer_vip": {"type": "boolean"}, "channel": text,
        "conversation": {"type": "string", "description": "a pseudonym of the conversation the ticket came from "
                         "(never its sender id, which would let the reader continue it as the customer)"},
        "order_id": nullable_text,
        "product": text, "intent": text, "description": text, "summary": text,
        "linked_ticket_id": {"type": "integer", "nullable": True}, "created_at": when, "updated_at": when,
        "first_response_due": when, "resolution_due": when, "first_responded_at": nullable_when,
        "resolved_at": nullable_when, "closed_at": nullable_when, "overdue": {"type": "boolean"},
        "escalation_level": {"type": "integer"}, "rating_requested_at": nullable_when,
    }
    return {
        "Error": {"type": "object", "required": ["error", "reason"], "properties": {
            "error": {"type": "string", "description": "a code: bad_json, bad_body, bad_parameter, invalid_parameter, "
                      "missing_token, invalid_token, token_expired, token_revoked, account_disabled, bad_credentials, "
                      "account_locked, address_locked, forbidden, other_department, not_owner, supervisor_only, "
                      "not_found, invalid_status, invalid_transition, invalid_input, unknown_assignee, ..."},
            "reason": {"type": "string", "description": "for people; a refused status change gives the workflow's "
                       "Chinese message"},
            "field": {"type": "string", "description": "the parameter or field at fault, when there is one"}}},
        "LoginRequest": {"type": "object", "required": ["username", "password"], "additionalProperties": False,
                         "properties": {"username": text, "password": {"type": "string", "format": "password"}}},
        "LoginResponse": {"type": "object", "required": ["token", "role", "name", "expires_at"], "properties": {
            "token": {"type": "string", "description": "JWT (HS256), valid for 8 hours"},
            "role": {"type": "string", "enum": ROLES}, "name": text, "username": text, "expires_at": when}},
        "Me": {"type": "object", "properties": {"username": text, "name": text, "role": {"type": "string", "enum": ROLES},
                                                "department": text, "expires_at": when}},
        "TicketSummary": {"type": "object", "properties": ticket_fields,
                          "description": "a ticket as listed: everything but the transcript"},
        "Ticket": {"type": "object", "properties": {**ticket_fields, "transcript": {
            "type": "string", "description": "the conversation's last lines, personal data masked"}}},
        "TicketPage": {"type": "object", "required": ["items", "total", "page", "page_size"], "properties": {
            "items": {"type": "array", "items": _ref("TicketSummary")}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "page_size": {"type": "integer"}}},
        "TrailEvent": {"type": "object", "properties": {
            "at": when, "actor": {"type": "string", "description": "a staff username, bot, customer or system"},
            "kind": {"type": "string", "enum": ["created", "status", "comment", "assign", "escalation", "rating",
                                                "duplicate"]},
            "from_status": nullable_text, "to_status": nullable_text, "comment": text}},
        "Rating": {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5},
                                                    "comment": text, "at": when}},
        "TicketDetail": {"type": "object", "required": ["ticket", "trail", "ratings", "next_statuses"], "properties": {
            "ticket": _ref("Ticket"), "trail": {"type": "array", "items": _ref("TrailEvent")},
            "ratings": {"type": "array", "items": _ref("Rating")}, "next_statuses": next_statuses}},
        "TicketEnvelope": {"type": "object", "required": ["ticket", "next_statuses"], "properties": {
            "ticket": _ref("Ticket"), "next_statuses": next_statuses}},
        **_chat_ticket_schemas(departments),
        "AssignRequest": {"type": "object", "required": ["assignee"], "additionalProperties": False, "properties": {
            "assignee": {"type": "string", "description": "a staff username; 坐席 may only name themselves; one "
                         "that is not an active account is a 422 unknown_assignee"}}},
        "StatusRequest": {"type": "object", "required": ["status"], "additionalProperties": False, "properties": {
            "status": {"type": "string", "enum": STATUSES},
            "comment": {"type": "string", "maxLength": MAX_COMMENT, "description": "optional; trimmed"}}},
        "CommentRequest": {"type": "object", "required": ["comment"], "additionalProperties": False, "properties": {
            "comment": {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT, "pattern": NOT_BLANK,
                        "description": "trimmed; not only whitespace"}}},
        "Notification": {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": when, "department": text, "recipient": text, "ticket_number": text,
            "kind": {"type": "string", "enum": ["escalation", "low_rating"],
                     "description": "escalation: an overdue ticket went up a level; low_rating: a low rating opened "
                     "an improvement ticket"},
            "message": text, "read": {"type": "boolean"}}},
        "NotificationList": {"type": "object", "properties": {"items": {"type": "array",
                                                                        "items": _ref("Notification")}}},
        "Health": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}},
    }


_THROTTLED: dict[str, Schema] = {
    "429": {"description": "too many failed logins for this account or address (account_locked, address_locked, "
                           "too_many_attempts); come back after Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": _ref("Error")}}},
    "503": {"description": "too many logins being checked right now (login_busy); retry after Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": _ref("Error")}}},
}
_AUDIT_ENTRY: Schema = {"type": "object", "properties": {
    "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
    "viewer": {"type": "string", "description": "the staff username who saw it"},
    "role": {"type": "string", "enum": ROLES}, "customer_id": {"type": "string", "description": "whose data; "
                                                              "empty for an anonymous conversation"},
    "shown": {"type": "array", "items": {"type": "string", "enum": ["address", "email", "id_number", "phone"]}},
    "source": {"type": "string", "description": "the route (GET /api/tickets/<number>) or push (ws:assigned)"},
    "reference": {"type": "string", "description": "the ticket number or handoff session id"}}}
_AUDIT_PAGE: Schema = {"type": "object", "required": ["items", "total", "page", "page_size"], "properties": {
    "items": {"type": "array", "items": _AUDIT_ENTRY}, "total": {"type": "integer"}, "page": {"type": "integer"},
    "page_size": {"type": "integer"}, "since": {"type": "string", "format": "date-time", "nullable": True}}}


def _paths(departments: list[str]) -> dict[str, Schema]:
    boolean = BOOLEAN_QUERY
    ticket_filters = [
        _query("status", "only tickets in this status", {"type": "string", "enum": STATUSES}),
        _query("priority", "only this priority", {"type": "string", "enum": list(PRIORITIES)}),
        _query("department", "only this department", {"type": "string", "enum": departments}),
        _query("category", "only this category", {"type": "string", "enum": [c.value for c in Category]}),
        _query("assignee", "only tickets assigned to this username", {"type": "string"}),
        _query("customer_id", "only this customer's tickets", {"type": "string"}),
        _query("overdue", "only tickets marked overdue (true or 1) or not (false or 0)", boolean),
        _query("open", "true or 1: leave out 已解决 and 已关闭", boolean),
        _query("mine", "true or 1: only tickets assigned to me (with assignee naming someone else: none)", boolean),
        _query("q", "a ticket number, an order id or a phone number", {"type": "string"}),
        _query("page", "page number, from 1", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
        _query("page_size", "tickets per page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                                 "default": 20}),
    ]
    post_ticket = {"200": _json(_ref("TicketEnvelope"), "the ticket after the change"),
                   **_errors(400, 401, 403, 404, 413, 422)}
    return {
        "/health": {"get": {"summary": "Liveness", "operationId": "health", "security": [], "tags": ["meta"],
                            "responses": {"200": _json(_ref("Health"), "the desk is up")}}},
        "/openapi.json": {"get": {"summary": "This description", "operationId": "openapi", "security": [],
                                  "tags": ["meta"], "responses": {"200": _json({"type": "object"}, "OpenAPI 3")}}},
        "/docs": {"get": {"summary": "This description as a page", "operationId": "docs", "security": [],
                          "tags": ["meta"], "responses": {"200": {"description": "HTML",
                                                                  "content": {"text/html": {"schema": {"type": "string"}}}}}}},
        "/api/auth/token": {"post": {
            "summary": "Log in", "operationId": "login", "security": [], "tags": ["auth"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("LoginRequest")}}},
            "description": "Throttled: 5 failures of an account (20 of an address) within 15 minutes lock it for 15 "
                           "minutes, the right password included; the answer is then 429 with Retry-After.",
            "responses": {"200": _json(_ref("LoginResponse"), "a token for the Authorization: Bearer header"),
                          **_errors(400, 401, 413), **_THROTTLED}}},
        "/api/me": {"get": {"summary": "The logged-in staff member", "operationId": "me", "tags": ["auth"],
                            "responses": {"200": _json(_ref("Me"), "who the token belongs to"), **_errors(401)}}},
        "/api/auth/logout": {"post": {
            "summary": "Log out: revoke the token sent", "operationId": "logout", "tags": ["auth"],
            "description": "The token stops working at once, on every desk; the agent's open WebSockets are closed.",
            "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": _json({"type": "object", "properties": {"ok": {"type": "boolean"}}}, "logged out"),
                          **_errors(401)}}},
        "/api/tickets": {"get": {
            "summary": "List and filter tickets, newest first", "operationId": "listTickets", "tags": ["tickets"],
            "parameters": ticket_filters,
            "description": "A 坐席 sees only their own department's tickets (the department filter is forced to it; "
                           "another department is a 403 other_department); a 主管 sees all.",
            "responses": {"200": _json(_ref("TicketPage"), "one page of tickets"), **_errors(400, 401, 403, 422)}}},
        "/api/tickets/{number}": {"get": {
            "summary": "One ticket with its audit trail and ratings", "operationId": "getTicket", "tags": ["tickets"],
            "parameters": [NUMBER],
            "responses": {"200": _json(_ref("TicketDetail"), "the ticket"), **_errors(401, 403, 404)}}},
        "/api/tickets/{number}/assignees": {"get": {
            "summary": "Who the ticket may be assigned to", "operationId": "listTicketAssignees", "tags": ["tickets"],
            "description": "Active staff who may work on it: its department's 坐席 and every 主管. `selectable` says "
                           "whom the caller may pick (a 坐席 only themselves).", "parameters": [NUMBER],
            "responses": {"200": _json(_ref("AssigneeList"), "the candidates"), **_errors(401, 403, 404)}}},
        **_chat_ticket_paths(),
        "/api/tickets/{number}/assign": {"post": {
            "summary": "Assign a ticket", "operationId": "assignTicket", "tags": ["tickets"],
            "description": "坐席 may assign only to themselves; 主管 to anyone. A 新建 or 重新打开 ticket becomes 已分派.",
            "parameters": [NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AssignRequest")}}},
            "responses": post_ticket}},
        "/api/tickets/{number}/status": {"post": {
            "summary": "Move a ticket along the workflow", "operationId": "changeStatus", "tags": ["tickets"],
            "description": "A move the workflow does not allow is a 422 whose reason lists the allowed ones; one "
                           "reserved for 主管 (已关闭 → 重新打开) is a 403 supervisor_only for a 坐席 (GET "
                           "/api/tickets/{number} lists next_statuses for the caller). Moving "
                           "to 待客户确认 or 已解决 sends the customer a message through the bot.",
            "parameters": [NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("StatusRequest")}}},
            "responses": post_ticket}},
        "/api/tickets/{number}/comments": {"post": {
            "summary": "Comment on a ticket", "operationId": "commentTicket", "tags": ["tickets"],
            "description": "A staff comment counts as the first response.", "parameters": [NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CommentRequest")}}},
            "responses": {"201": _json(_ref("TicketEnvelope"), "the ticket after the comment"),
                          **_errors(400, 401, 403, 404, 413, 422)}}},
        "/api/notifications": {"get": {
            "summary": "Escalation notifications, newest first (主管 only)", "operationId": "listNotifications",
            "tags": ["tickets"],
            "parameters": [_query("department", "only this department", {"type": "string", "enum": departments}),
                           _query("unread", "true or 1: only unread ones", boolean),
                           _query("limit", "at most this many", {"type": "integer", "minimum": 1,
                                                                 "maximum": MAX_NOTIFICATIONS, "default": 50})],
            "responses": {"200": _json(_ref("NotificationList"), "the notifications"), **_errors(400, 401, 403, 422)}}},
        "/api/audit": {"get": {
            "summary": "操作日志: who saw which customer's personal data whole, newest first (主管 only)",
            "operationId": "listAudit", "tags": ["audit"],
            "description": "One row each time a 主管 was shown a phone number, address, ID number or e-mail whole, "
                           "in an answer or a WebSocket push. Read-only: no route changes or deletes a row.",
            "parameters": [_query("viewer", "only what this staff username saw", {"type": "string"}),
                           _query("customer_id", "only this customer's data", {"type": "string"}),
                           _query("since", "from this time on: a date (2026-11-21) or an RFC 3339 date-time "
                                  "(2026-11-21T10:00:00+08:00); seconds and offset may be left out (CST)",
                                  {"anyOf": [{"type": "string", "format": "date"},
                                             {"type": "string", "format": "date-time"}]}),
                           _query("page", "page number, from 1", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                                                  "default": 1}),
                           _query("page_size", "rows per page", {"type": "integer", "minimum": 1, "maximum": 100,
                                                                 "default": 50})],
            "responses": {"200": _json(_AUDIT_PAGE, "one page of the log"), **_errors(400, 401, 403, 422)}}},
    }


SESSION_ID = {"name": "session_id", "in": "path", "required": True, "description": "a handoff session's id",
              "schema": {"type": "string"}}


def _chat_ticket_schemas(departments: list[str]) -> dict[str, Schema]:
    """新建工单 from a handoff chat: its prefill, the request, the answer; and a ticket's candidate assignees."""
    text = {"type": "string"}
    categories = [c.value for c in Category]
    chat_ticket_common: Schema = {
        "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE, "pattern": NOT_BLANK},
        "priority": {"type": "string", "enum": ["", *PRIORITIES], "description": "at least this; the rules may "
                     "raise it (safety words: 特急, VIP: 紧急); empty: not chosen, as a form's blank select sends it"},
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION, "description": "default: the title"},
        "order_id": {"type": "string", "pattern": "^(E[0-9]{12})?$", "description": "one of the chat's orders "
                     "(the draft's orders); another is a 422 invalid_input; empty: no order"}}
    return {
        "AssigneeList": {"type": "object", "required": ["number", "department", "items"], "properties": {
            "number": text, "department": {"type": "string", "enum": departments},
            "items": {"type": "array", "items": {"type": "object", "required": ["username", "selectable"],
                      "properties": {"username": text, "name": text, "role": {"type": "string", "enum": ROLES},
                                     "department": text, "selectable": {"type": "boolean"}}}}}},
        "ChatTicketDraft": {"type": "object", "required": ["session_id", "kind", "category", "priority", "title"],
                            "properties": {
            "session_id": text, "kind": {"type": "string", "enum": [k.value for k in Kind]},
            "category": {"type": "string", "enum": categories}, "priority": {"type": "string", "enum": list(PRIORITIES)},
            "title": {"type": "string", "maxLength": MAX_TITLE}, "description": {"type": "string",
                                                                               "maxLength": MAX_DESCRIPTION},
            "order_id": {"type": "string", "nullable": True}, "intent": text,
            "orders": {"type": "array", "items": {"type": "object", "properties": {"order_id": text, "summary": text}}},
            "customer_name": text, "customer_vip": {"type": "boolean"},
            "departments": {"type": "object", "description": "where a ticket of each category would go",
                            "additionalProperties": {"type": "string", "enum": departments}}}},
        # a ticket about the customer's case (问题: any category but 改进) or an improvement task (改进 / 改进)
        "ChatTicketRequest": {"oneOf": [
            {"type": "object", "required": ["category", "title"], "additionalProperties": False,
             "description": "a ticket about the customer's case", "properties": {
                 **chat_ticket_common, "category": {
                     "type": "string", "enum": [c for c in categories if c != Category.IMPROVEMENT.value]},
                 "kind": {"type": "string", "enum": ["", Kind.ISSUE.value], "description": "default (and empty) 问题"}}},
            {"type": "object", "required": ["category", "kind", "title"], "additionalProperties": False,
             "description": "an improvement task", "properties": {
                 **chat_ticket_common, "category": {"type": "string", "enum": [Category.IMPROVEMENT.value]},
                 "kind": {"type": "string", "enum": [Kind.IMPROVEMENT.value]}}}]},
        "ChatTicketCreated": {"type": "object", "required": ["number", "duplicate", "department", "next_statuses"],
                              "properties": {
            "number": text, "duplicate": {"type": "boolean", "description": "true: the customer's open ticket for "
                                                  "this order and category got a comment instead (200)"},
            "department": {"type": "string", "enum": departments}, "priority": {"type": "string",
                                                                                "enum": list(PRIORITIES)},
            "status": {"type": "string", "enum": STATUSES},
            "ticket": {**_ref("Ticket"), "description": "only when the caller may work on it"},
            "next_statuses": {"type": "array", "items": {"type": "string", "enum": STATUSES}}}},
    }


def _chat_ticket_paths() -> dict[str, Schema]:
    who = "For the agent holding (or who last held) the chat, or a 主管; anyone else: 403 not_owner."
    return {
        "/api/handoff/sessions/{session_id}/ticket-draft": {"get": {
            "summary": "Prefill of 新建工单 from a handoff chat", "operationId": "draftChatTicket", "tags": ["tickets"],
            "description": f"{who} Category from the customer's topic, the chat's order, the customer's words "
                           "(phones and addresses masked).", "parameters": [SESSION_ID],
            "responses": {"200": _json(_ref("ChatTicketDraft"), "the prefill"), **_errors(401, 403, 404)}}},
        "/api/handoff/sessions/{session_id}/tickets": {"post": {
            "summary": "Open a ticket from a handoff chat", "operationId": "createChatTicket", "tags": ["tickets"],
            "description": f"{who} The customer, the conversation and the order come from the chat's record; the "
                           "body gives only the choices. The department follows the routing rules. The trail's "
                           "first event names the chat. 201 new; 200 when an open ticket for the same customer, "
                           "order and category got a comment instead.",
            "parameters": [SESSION_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ChatTicketRequest")}}},
            "responses": {"201": _json(_ref("ChatTicketCreated"), "the new ticket"),
                          "200": _json(_ref("ChatTicketCreated"), "the customer's open ticket, commented"),
                          **_errors(400, 401, 403, 404, 413, 422)}}},
    }


def _body(description: str, properties: dict[str, Schema], required: list[str], **extra: Any) -> Schema:
    """A handoff body: a JSON object; required fields present, not null and not empty; fields it does not name are
    ignored; optional fields may be null (the same as leaving them out)."""
    return {"required": True, "description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": required, **extra}}}}


def _ignored_body(description: str) -> Schema:
    return {"required": False, "description": f"{description}: any JSON or none; not read",
            "content": {"application/json": {"schema": {}}}}


def _handoff_schemas() -> dict[str, Schema]:
    """What the handoff routes answer (desk/handoff_api.py, handoff/bridge.py's views)."""
    text, maybe_text = {"type": "string"}, {"type": "string", "nullable": True}
    when, maybe_int = {"type": "string", "format": "date-time"}, {"type": "integer", "nullable": True}
    anything = {"type": "object", "additionalProperties": True}
    return {
        "HandoffStart": {"type": "object", "required": ["status", "session_id"], "properties": {
            "status": {"type": "string", "enum": ["queued", "assigned", "unavailable"]},
            "session_id": maybe_text, "group": text, "position": maybe_int, "eta_minutes": maybe_int,
            "agent_name": maybe_text,
            "unavailable": {"type": "string", "nullable": True, "enum": ["off_hours", "no_agent", None]},
            "next_contact": {**when, "nullable": True, "description": "off hours: when the group is back"},
            "hours": {"type": "string", "description": "the group's usual hours, e.g. 每天 09:00–22:00"},
            "closed_at": {**when, "nullable": True, "description": "off hours: when the group stopped today"}}},
        "HandoffQueue": {"type": "object", "required": ["waiting", "groups", "agents"], "properties": {
            "waiting": {"type": "array", "items": {"type": "object", "properties": {
                "session_id": text, "group": text, "priority": {"type": "integer"}, "position": {"type": "integer"},
                "waited_s": {"type": "integer"}, "summary": text, "reason": text, "channel": text,
                "customer_name": text, "vip": {"type": "boolean"},
                "offered_to": {"type": "array", "items": text, "description": "the groups that may take the "
                               "customer: its own, and its overflow group once the wait passed the limit"}}}},
            "groups": {"type": "array", "items": text},
            "agents": {"type": "array", "items": {"type": "object", "properties": {
                "username": text, "name": text, "status": text, "active": {"type": "integer"},
                "capacity": {"type": "integer"}, "groups": {"type": "array", "items": text}}}}}},
        "HandoffSession": {"type": "object", "required": ["session_id", "status", "messages"], "properties": {
            "session_id": text, "status": text, "group": text, "reason": text, "priority": {"type": "integer"},
            "agent": maybe_text, "summary": text, "context": anything, "queued_at": {**when, "nullable": True},
            "closing_summary": {**maybe_text, "description": "服务小结: the agent's line when the chat ended"},
            "messages": {"type": "array", "items": {"type": "object", "properties": {
                "at": {**when, "nullable": True}, "direction": text, "author": maybe_text, "text": text,
                "intent": maybe_text, "entities": {"type": "array", "nullable": True, "items": {}},
                "channel": maybe_text}}}}},
        "HandoffChange": {"type": "object", "required": ["status"], "properties": {
            "session_id": text, "status": text, "agent": maybe_text, "group": text}},
        "AgentStatus": {"type": "object", "required": ["username", "status"], "properties": {
            "username": text, "status": {"type": "string", "enum": list(AGENT_STATUSES)}}},
        "Done": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean", "enum": [True]}}},
    }


def _handoff_paths(groups: list[str]) -> dict[str, Schema]:
    """Human handoff: the bot's calls (token role bot) and the agents' (staff tokens)."""
    session = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
    anything = {"type": "object", "additionalProperties": True, "nullable": True}
    maybe_text = {"type": "string", "nullable": True}
    text = {"text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": NOT_BLANK,
                     "description": "trimmed; not only whitespace"}}
    needed = {"type": "string", "minLength": 1}
    left_out = {"type": "string", "nullable": True, "enum": ["", None]}  # absent, empty or null: not given
    group = {"type": "string", "minLength": 1, **({"enum": groups} if groups else {})}
    agent_answer = {"200": _json(_ref("HandoffChange"), "done"), **_errors(401, 404, 422)}
    return {
        "/api/handoff/sessions": {"post": {
            "summary": "Queue a customer for a human agent (the bot only)", "operationId": "startHandoff",
            "tags": ["handoff"], "security": BOT_ONLY,
            "description": "Carries the context package. Answers queued (position, estimated wait), assigned, or "
                           "unavailable (off_hours with next_contact, or no_agent): the bot then opens a ticket.",
            "requestBody": _body("the handoff request", {
                "sender_id": needed, "channel": maybe_text, "reason": needed, "intent": maybe_text,
                "summary": {**maybe_text, "description": "the first 500 characters are kept"}, "context": anything,
                "customer_id": maybe_text, "customer_vip": {"type": "boolean", "nullable": True}},
                ["sender_id", "reason"]),
            "responses": {"201": _json(_ref("HandoffStart"), "queued or assigned"),
                          "200": _json(_ref("HandoffStart"), "unavailable"), **_errors(400, 401, 403, 413, 422)}}},
        "/api/handoff/sessions/{session_id}/messages": {"post": {
            "summary": "Relay a customer message with its NLU result to the agent (the bot only)",
            "operationId": "relayMessage", "tags": ["handoff"], "parameters": [session], "security": BOT_ONLY,
            "requestBody": _body("the message", {**text, "intent": maybe_text, "channel": maybe_text,
                                                 "kind": {"type": "string", "nullable": True,
                                                          "description": "customer (default) or system: a note for the agent"},
                                                 "entities": {"type": "array", "nullable": True, "items": {}}},
                                 ["text"]),
            "responses": {"202": _json(_ref("Done"), "relayed"), **_errors(400, 401, 403, 404, 413, 422)}}},
        "/api/handoff/sessions/{session_id}/leave": {"post": {
            "summary": "The customer stops waiting (the bot only)", "operationId": "leaveQueue", "tags": ["handoff"],
            "parameters": [session], "security": BOT_ONLY, "requestBody": _ignored_body("empty"),
            "responses": {"200": _json(_ref("HandoffChange"), "the session's status (left, or as it was)"),
                          **_errors(401, 403, 404, 422)}}},
        "/api/handoff/queue": {"get": {
            "summary": "Waiting customers and agents at work", "operationId": "handoffQueue", "tags": ["handoff"],
            "responses": {"200": _json(_ref("HandoffQueue"), "the queue; phone numbers and addresses masked for 坐席"),
                          **_errors(401)}}},
        "/api/handoff/sessions/{session_id}": {"get": {
            "summary": "A handoff with its context package and messages", "operationId": "getHandoff",
            "tags": ["handoff"], "parameters": [session],
            "responses": {"200": _json(_ref("HandoffSession"), "the session; phone numbers and addresses masked for 坐席"),
                          **_errors(401, 404)}}},
        "/api/handoff/sessions/{session_id}/pick": {"post": {
            "summary": "Take a waiting customer", "operationId": "pickHandoff", "tags": ["handoff"],
            "parameters": [session], "requestBody": _ignored_body("empty"), "responses": agent_answer}},
        "/api/handoff/sessions/{session_id}/reply": {"post": {
            "summary": "Reply to the customer (through the bot, on their own channel)", "operationId": "replyHandoff",
            "tags": ["handoff"], "parameters": [session], "requestBody": _body("the reply", text, ["text"]),
            "responses": {"200": _json(_ref("Done"), "sent"), **_errors(400, 401, 404, 413, 422)}}},
        "/api/handoff/sessions/{session_id}/transfer": {"post": {
            "summary": "Transfer to another skill group or agent, context kept", "operationId": "transferHandoff",
            "tags": ["handoff"], "parameters": [session],
            "requestBody": {"required": True, "description": "exactly one of group (a skill group) or agent (a "
                            "username); an empty or null one counts as not given", "content": {"application/json": {
                                "schema": {"anyOf": [  # whole objects: generators mishandle anyOf beside properties
                                    {"type": "object", "required": ["group"],
                                     "properties": {"group": group, "agent": left_out}},
                                    {"type": "object", "required": ["agent"],
                                     "properties": {"agent": needed, "group": left_out}}]}}}},
            "responses": {**agent_answer, **_errors(400, 413)}}},
        "/api/handoff/sessions/{session_id}/end": {"post": {
            "summary": "End the chat with a 服务小结; the bot takes over and asks for a rating",
            "operationId": "endHandoff", "tags": ["handoff"], "parameters": [session],
            "description": "The summary is stored on the record and sent to the customer (服务小结：…) before the "
                           "rating question. Required while the chat is open (422 invalid_input, field summary); "
                           "when the customer already left, one given is only stored. GET …/summary-draft drafts one.",
            "requestBody": {"required": True, "description": "{summary}; fields it does not name are ignored",
                            "content": {"application/json": {"schema": {
                                "type": "object", "required": ["summary"], "properties": {
                                    "summary": {"type": "string", "minLength": 1, "maxLength": MAX_SUMMARY,
                                                "pattern": NOT_BLANK,
                                                "description": "one line: whitespace collapsed, 1–200 characters"}}}}}},
            "responses": {**agent_answer, **_errors(400, 413)}}},
        "/api/agents/me/status": {"put": {
            "summary": "Set my status: 在线, 忙碌 or 离开", "operationId": "setAgentStatus", "tags": ["handoff"],
            "requestBody": _body("the status", {"status": {"type": "string", "enum": list(AGENT_STATUSES)}},
                                 ["status"]),
            "responses": {"200": _json(_ref("AgentStatus"), "my status"), **_errors(400, 401, 413, 422)}}},
        "/ws/agent": {"get": {
            "summary": "Agents' WebSocket (first frame: {\"type\": \"auth\", \"token\": <staff token>})",
            "operationId": "agentSocket", "security": [], "tags": ["handoff"],
            "description": "No token in the URL (?token= is refused): the first frame must be {type: auth, token} "
                           "within 5 seconds, else an error frame {type: error, error: unauthorized, code, reason} "
                           "and the socket closes (4401); so it does when the token is logged out or expires. "
                           "Pushes hello (me, queue, my sessions; for 主管 also the team's), queue, assigned (with "
                           "the context package), customer_message (with intent and entities), agent_message, "
                           "session_ended, session_transferred, presence. Accepts JSON commands: status, pick, reply, "
                           "transfer, end, ping; each is answered with ok or error {reason}, echoing an optional id.",
            "responses": {"101": {"description": "switching to the WebSocket protocol"},
                          "426": {"description": "a plain HTTP request (no Upgrade: websocket)",
                                  "headers": {"Upgrade": {"schema": {"type": "string", "enum": ["websocket"]}}},
                                  "content": {"application/json": {"schema": _ref("Error")}}},
                          **_errors(400)}}},
    }


def openapi_spec(departments: Collection[str], groups: Collection[str] = ()) -> Schema:
    """The whole description; `departments` come from ticketing.yml, the skill `groups` from handoff.yml."""
    names = list(departments)
    parts = load_parts(list(groups))
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    challenge = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="desk"'}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "小智客服 staff desk", "version": "1.0",
                 "description": "Tickets for 坐席 (agents) and 主管 (supervisors). Log in with POST /api/auth/token, "
                                "then send `Authorization: Bearer <token>`. Errors are JSON {error, reason}. No text "
                                "anywhere (path, query or body) may hold a NUL character (U+0000): that is a 400."},
        "servers": [{"url": "/"}],
        "security": SECURED,
        "tags": [{"name": "auth"}, {"name": "tickets"}, {"name": "handoff"}, {"name": "audit"}, {"name": "meta"},
                 *({"name": part.tag} for part in parts)],
        "paths": {**_paths(names), **_handoff_paths(list(groups)), **{k: v for p in parts for k, v in p.paths.items()}},
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "botAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                            "description": "the action server's token: role bot, signed with the desk key"}},
            "schemas": {**_schemas(names), **_handoff_schemas(), **{k: v for p in parts for k, v in p.schemas.items()}},
            "responses": {
                "BadRequest": {"description": "malformed JSON, body shape or parameter", **error},
                "Unauthorized": {"description": "no token, a forged or expired token, or wrong credentials",
                                 "headers": challenge, **error},
                "Forbidden": {"description": "the role does not allow it, or (坐席) the ticket is another department's",
                              **error},
                "NotFound": {"description": "no such ticket or handoff session", **error},
                "Unprocessable": {"description": "well-formed but not acceptable", **error},
                "PayloadTooLarge": {"description": "the body is over 64 KiB", **error},
                "MethodNotAllowed": {"description": "an id left empty (or a path that ends on another route) names "
                                                    "a route without this method; Allow lists its methods",
                                     "headers": {"Allow": {"schema": {"type": "string"}}}, **error},
            },
        },
    }


def meta_blueprint(departments: Collection[str], groups: Collection[str] | None = None) -> Blueprint:
    """GET /openapi.json, /docs and /health. Without `groups`, the skill groups are the running desk's (its handoff
    bridge's configuration), read on the first request for the description."""
    bp = Blueprint("meta")
    described: list[tuple[Schema, str]] = []

    def description(request: Request) -> tuple[Schema, str]:
        if not described:
            bridge = getattr(request.app.ctx, "bridge", None)
            known = groups if groups is not None else (list(bridge.config.groups) if bridge is not None else [])
            spec = openapi_spec(departments, known)
            described.append((spec, render_docs(spec)))
        return described[0]

    @bp.get("/openapi.json")
    async def openapi(request: Request) -> HTTPResponse:
        return json_reply(description(request)[0])

    @bp.get("/docs")
    async def docs(request: Request) -> HTTPResponse:
        return html(description(request)[1])

    @bp.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json_reply({"status": "ok"})

    return bp
