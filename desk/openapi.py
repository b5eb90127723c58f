"""The desk API described in OpenAPI 3 (GET /openapi.json) and as a plain HTML page (GET /docs), no external assets."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, html

from desk.auth import Role
from desk.docs_page import render_docs
from desk.params import MAX_COMMENT, MAX_NOTIFICATIONS
from desk.views import json_reply
from service.tickets.policy import PRIORITIES
from service.tickets.rules import Category, Kind, Status
from service.tickets.service import MAX_PAGE_SIZE

Schema = dict[str, Any]
STATUSES = [s.value for s in Status]
ROLES = [r.value for r in Role]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 422: "Unprocessable"}
    return {str(status): {"$ref": f"#/components/responses/{names[status]}"} for status in statuses}


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


NUMBER = {"name": "number", "in": "path", "required": True, "description": "ticket number, e.g. T2026112100001",
          "schema": {"type": "string"}}
SECURED: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _schemas(departments: list[str]) -> dict[str, Schema]:
    text, when = {"type": "string"}, {"type": "string", "format": "date-time"}
    nullable_text, nullable_when = {"type": "string", "nullable": True}, {**when, "nullable": True}
    ticket_fields: dict[str, Schema] = {
        "id": {"type": "integer"}, "number": text, "kind": {"type": "string", "enum": [k.value for k in Kind]},
        "category": {"type": "string", "enum": [c.value for c in Category]},
        "status": {"type": "string", "enum": STATUSES}, "priority": {"type": "string", "enum": list(PRIORITIES)},
        "department": {"type": "string", "enum": departments}, "assignee": nullable_text,
        "customer_id": nullable_text, "customer_name": text,
        "customer_phone": {"type": "string", "description": "masked (138****8000) for 坐席, whole for 主管"},
        "customer_address": {"type": "string", "description": "masked after the district for 坐席, whole for 主管"},
        "customer_vip": {"type": "boolean"}, "channel": text, "sender_id": text, "order_id": nullable_text,
        "product": text, "intent": text, "description": text, "summary": text,
        "linked_ticket_id": {"type": "integer", "nullable": True}, "created_at": when, "updated_at": when,
        "first_response_due": when, "resolution_due": when, "first_responded_at": nullable_when,
        "resolved_at": nullable_when, "closed_at": nullable_when, "overdue": {"type": "boolean"},
        "escalation_level": {"type": "integer"}, "rating_requested_at": nullable_when,
    }
    return {
        "Error": {"type": "object", "required": ["error", "reason"], "properties": {
            "error": {"type": "string", "description": "a code: bad_json, bad_body, bad_parameter, invalid_parameter, "
                      "missing_token, invalid_token, token_expired, bad_credentials, forbidden, not_found, "
                      "invalid_status, invalid_transition, unknown_assignee, ..."},
            "reason": {"type": "string", "description": "for people; a refused status change gives the workflow's "
                       "Chinese message"},
            "field": {"type": "string", "description": "the parameter or field at fault, when there is one"}}},
        "LoginRequest": {"type": "object", "required": ["username", "password"],
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
        "TicketDetail": {"type": "object", "required": ["ticket", "trail", "ratings"], "properties": {
            "ticket": _ref("Ticket"), "trail": {"type": "array", "items": _ref("TrailEvent")},
            "ratings": {"type": "array", "items": _ref("Rating")}}},
        "TicketEnvelope": {"type": "object", "required": ["ticket"], "properties": {"ticket": _ref("Ticket")}},
        "AssignRequest": {"type": "object", "required": ["assignee"], "properties": {"assignee": {
            "type": "string", "description": "a staff username; 坐席 may only name themselves"}}},
        "StatusRequest": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": STATUSES},
            "comment": {"type": "string", "maxLength": MAX_COMMENT}}},
        "CommentRequest": {"type": "object", "required": ["comment"],
                           "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT}}},
        "Notification": {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": when, "department": text, "recipient": text, "ticket_number": text,
            "kind": {"type": "string", "enum": ["escalation"]}, "message": text, "read": {"type": "boolean"}}},
        "NotificationList": {"type": "object", "properties": {"items": {"type": "array",
                                                                        "items": _ref("Notification")}}},
        "Health": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}},
    }


def _paths(departments: list[str]) -> dict[str, Schema]:
    boolean = {"type": "string", "enum": ["true", "false"]}
    ticket_filters = [
        _query("status", "only tickets in this status", {"type": "string", "enum": STATUSES}),
        _query("priority", "only this priority", {"type": "string", "enum": list(PRIORITIES)}),
        _query("department", "only this department", {"type": "string", "enum": departments}),
        _query("category", "only this category", {"type": "string", "enum": [c.value for c in Category]}),
        _query("assignee", "only tickets assigned to this username", {"type": "string"}),
        _query("customer_id", "only this customer's tickets", {"type": "string"}),
        _query("overdue", "only tickets marked overdue (true) or not (false)", boolean),
        _query("open", "true: leave out 已解决 and 已关闭", boolean),
        _query("q", "a ticket number, an order id or a phone number", {"type": "string"}),
        _query("page", "page number, from 1", {"type": "integer", "minimum": 1, "default": 1}),
        _query("page_size", "tickets per page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                                 "default": 20}),
    ]
    post_ticket = {"200": _json(_ref("TicketEnvelope"), "the ticket after the change"),
                   **_errors(400, 401, 403, 404, 422)}
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
            "responses": {"200": _json(_ref("LoginResponse"), "a token for the Authorization: Bearer header"),
                          **_errors(400, 401)}}},
        "/api/me": {"get": {"summary": "The logged-in staff member", "operationId": "me", "tags": ["auth"],
                            "responses": {"200": _json(_ref("Me"), "who the token belongs to"), **_errors(401)}}},
        "/api/tickets": {"get": {
            "summary": "List and filter tickets, newest first", "operationId": "listTickets", "tags": ["tickets"],
            "parameters": ticket_filters,
            "responses": {"200": _json(_ref("TicketPage"), "one page of tickets"), **_errors(400, 401, 422)}}},
        "/api/tickets/{number}": {"get": {
            "summary": "One ticket with its audit trail and ratings", "operationId": "getTicket", "tags": ["tickets"],
            "parameters": [NUMBER],
            "responses": {"200": _json(_ref("TicketDetail"), "the ticket"), **_errors(401, 404)}}},
        "/api/tickets/{number}/assign": {"post": {
            "summary": "Assign a ticket", "operationId": "assignTicket", "tags": ["tickets"],
            "description": "坐席 may assign only to themselves; 主管 to anyone. A 新建 or 重新打开 ticket becomes 已分派.",
            "parameters": [NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AssignRequest")}}},
            "responses": post_ticket}},
        "/api/tickets/{number}/status": {"post": {
            "summary": "Move a ticket along the workflow", "operationId": "changeStatus", "tags": ["tickets"],
            "description": "A move the workflow does not allow is a 422 whose reason lists the allowed ones. Moving "
                           "to 待客户确认 or 已解决 sends the customer a message through the bot.",
            "parameters": [NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("StatusRequest")}}},
            "responses": post_ticket}},
        "/api/tickets/{number}/comments": {"post": {
            "summary": "Comment on a ticket", "operationId": "commentTicket", "tags": ["tickets"],
            "description": "A staff comment counts as the first response.", "parameters": [NUMBER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CommentRequest")}}},
            "responses": {"201": _json(_ref("TicketEnvelope"), "the ticket after the comment"),
                          **_errors(400, 401, 404, 422)}}},
        "/api/notifications": {"get": {
            "summary": "Escalation notifications, newest first (主管 only)", "operationId": "listNotifications",
            "tags": ["tickets"],
            "parameters": [_query("department", "only this department", {"type": "string", "enum": departments}),
                           _query("unread", "true: only unread ones", boolean),
                           _query("limit", "at most this many", {"type": "integer", "minimum": 1,
                                                                 "maximum": MAX_NOTIFICATIONS, "default": 50})],
            "responses": {"200": _json(_ref("NotificationList"), "the notifications"), **_errors(400, 401, 403, 422)}}},
    }


def _body(description: str, properties: dict[str, Schema], required: list[str]) -> Schema:
    return {"required": True, "description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}


def _handoff_paths() -> dict[str, Schema]:
    """Human handoff: the bot's calls (token role bot) and the agents' (staff tokens)."""
    session = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
    anything = {"type": "object", "additionalProperties": True}
    ok = {"200": _json(anything, "done"), **_errors(400, 401, 403, 404, 422)}
    text = {"text": {"type": "string", "maxLength": 2000}}
    return {
        "/api/handoff/sessions": {"post": {
            "summary": "Queue a customer for a human agent (the bot only)", "operationId": "startHandoff",
            "tags": ["handoff"],
            "description": "Carries the context package. Answers queued (position, estimated wait), assigned, or "
                           "unavailable (off_hours with next_contact, or no_agent): the bot then opens a ticket.",
            "requestBody": _body("the handoff request", {
                "sender_id": {"type": "string"}, "channel": {"type": "string"}, "reason": {"type": "string"},
                "intent": {"type": "string"}, "summary": {"type": "string"}, "context": anything,
                "customer_id": {"type": "string"}, "customer_vip": {"type": "boolean"}}, ["sender_id", "reason"]),
            "responses": {"201": _json(anything, "queued or assigned"), "200": _json(anything, "unavailable"),
                          **_errors(400, 401, 403, 422)}}},
        "/api/handoff/sessions/{session_id}/messages": {"post": {
            "summary": "Relay a customer message with its NLU result to the agent (the bot only)",
            "operationId": "relayMessage", "tags": ["handoff"], "parameters": [session],
            "requestBody": _body("the message", {**text, "intent": {"type": "string"},
                                                 "entities": {"type": "array", "items": {}}}, ["text"]),
            "responses": {"202": _json(anything, "relayed"), **_errors(400, 401, 403, 404, 422)}}},
        "/api/handoff/sessions/{session_id}/leave": {"post": {
            "summary": "The customer stops waiting (the bot only)", "operationId": "leaveQueue", "tags": ["handoff"],
            "parameters": [session], "requestBody": _body("empty", {}, []), "responses": ok}},
        "/api/handoff/queue": {"get": {
            "summary": "Waiting customers and agents at work", "operationId": "handoffQueue", "tags": ["handoff"],
            "responses": {"200": _json(anything, "the queue"), **_errors(401)}}},
        "/api/handoff/sessions/{session_id}": {"get": {
            "summary": "A handoff with its context package and messages", "operationId": "getHandoff",
            "tags": ["handoff"], "parameters": [session],
            "responses": {"200": _json(anything, "the session; phone numbers and addresses masked for 坐席"),
                          **_errors(401, 404)}}},
        "/api/handoff/sessions/{session_id}/pick": {"post": {
            "summary": "Take a waiting customer", "operationId": "pickHandoff", "tags": ["handoff"],
            "parameters": [session], "requestBody": _body("empty", {}, []), "responses": ok}},
        "/api/handoff/sessions/{session_id}/reply": {"post": {
            "summary": "Reply to the customer (through the bot, on their own channel)", "operationId": "replyHandoff",
            "tags": ["handoff"], "parameters": [session], "requestBody": _body("the reply", text, ["text"]),
            "responses": ok}},
        "/api/handoff/sessions/{session_id}/transfer": {"post": {
            "summary": "Transfer to another skill group or agent, context kept", "operationId": "transferHandoff",
            "tags": ["handoff"], "parameters": [session],
            "requestBody": _body("exactly one of group or agent", {"group": {"type": "string"},
                                                                   "agent": {"type": "string"}}, []),
            "responses": ok}},
        "/api/handoff/sessions/{session_id}/end": {"post": {
            "summary": "End the chat; the bot takes over and asks for a rating", "operationId": "endHandoff",
            "tags": ["handoff"], "parameters": [session], "requestBody": _body("empty", {}, []), "responses": ok}},
        "/api/agents/me/status": {"put": {
            "summary": "Set my status: 在线, 忙碌 or 离开", "operationId": "setAgentStatus", "tags": ["handoff"],
            "requestBody": _body("the status", {"status": {"type": "string", "enum": ["在线", "忙碌", "离开"]}},
                                 ["status"]), "responses": ok}},
        "/ws/agent": {"get": {
            "summary": "Agents' WebSocket (?token=<staff token>)", "operationId": "agentSocket", "security": [],
            "tags": ["handoff"],
            "description": "Pushes hello (me, queue, my sessions; for 主管 also the team's), queue, assigned (with "
                           "the context package), customer_message (with intent and entities), agent_message, "
                           "session_ended, session_transferred, presence. Accepts JSON commands: status, pick, reply, "
                           "transfer, end, ping; each is answered with ok or error {reason}, echoing an optional id.",
            "parameters": [{"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"101": {"description": "switching to the WebSocket protocol"}}}},
    }


def openapi_spec(departments: Collection[str]) -> Schema:
    """The whole description; `departments` come from ticketing.yml."""
    names = list(departments)
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "小智客服 staff desk", "version": "1.0",
                 "description": "Tickets for 坐席 (agents) and 主管 (supervisors). Log in with POST /api/auth/token, "
                                "then send `Authorization: Bearer <token>`. Errors are JSON {error, reason}."},
        "servers": [{"url": "/"}],
        "security": SECURED,
        "tags": [{"name": "auth"}, {"name": "tickets"}, {"name": "handoff"}, {"name": "meta"}],
        "paths": {**_paths(names), **_handoff_paths()},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": _schemas(names),
            "responses": {
                "BadRequest": {"description": "malformed JSON, body shape or parameter", **error},
                "Unauthorized": {"description": "no token, a forged or expired token, or wrong credentials", **error},
                "Forbidden": {"description": "the role does not allow it", **error},
                "NotFound": {"description": "no such ticket", **error},
                "Unprocessable": {"description": "well-formed but not acceptable", **error},
            },
        },
    }


def meta_blueprint(departments: Collection[str]) -> Blueprint:
    bp = Blueprint("meta")
    spec = openapi_spec(departments)
    page = render_docs(spec)

    @bp.get("/openapi.json")
    async def openapi(_request: Request) -> HTTPResponse:
        return json_reply(spec)

    @bp.get("/docs")
    async def docs(_request: Request) -> HTTPResponse:
        return html(page)

    @bp.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json_reply({"status": "ok"})

    return bp
