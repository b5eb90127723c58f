"""The ticket routes: list and filter, one ticket with its trail, ratings and the statuses it may move to, who it may
be assigned to, assign, status, comments, notifications; and a ticket opened from a handoff chat (its prefill, then
the ticket).

A 坐席 works only on their department's tickets (service/tickets/access.py): the list is forced to it, another
department's ticket is a 403 other_department; a ticket from a chat is for the agent holding it (or a 主管), 403
not_owner. What a 主管 is shown whole is written to the 操作日志 first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.audit_trail import audited_reply
from desk.auth import Role, StaffDirectory, StaffMember
from desk.auth_api import authenticated
from desk.errors import Forbidden, NotFoundError, Unprocessable
from desk.params import comment_text, json_object, notification_query, status_value, ticket_query
from desk.rasa_client import AWAITING_CONFIRMATION, RESOLVED, RasaClient
from desk.ticket_from_chat import chat_facts, chat_ticket_body
from desk.views import event_view, json_reply, notification_view, rating_view, ticket_owner, ticket_view
from handoff.records import HandoffRecords
from service.audit import Owner
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event
from service.tickets.access import Scope, check_chat_owner, check_ticket, may_work_on, scope_for, scoped_filter
from service.tickets.drafting import ChatFacts, ChatSuggestion, draft_from_chat, suggest_ticket
from service.tickets.models import Created, Rating, Ticket, TicketEvent
from service.tickets.rules import Category, Status, TransitionError, department_for, next_statuses
from service.tickets.service import TicketService

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_SESSION_ID = 64
PROACTIVE = {Status.AWAITING_CUSTOMER: AWAITING_CONFIRMATION, Status.RESOLVED: RESOLVED}


async def run(call: Callable[..., T], *args: Any) -> T:
    """A TicketService call in a worker thread, its errors turned into API errors."""
    try:
        return await asyncio.to_thread(call, *args)
    except NotFound as exc:
        raise NotFoundError("not_found", f"no {exc.kind} {exc.key}") from exc
    except TransitionError as exc:
        raise Unprocessable("invalid_transition", str(exc), "status") from exc
    except InvalidInput as exc:
        raise Unprocessable("invalid_input", f"{exc.field}: {exc.reason}", exc.field) from exc
    except NotAllowed as exc:  # another department's ticket
        raise Forbidden(exc.code, str(exc)) from exc


def scope_of(member: StaffMember) -> Scope:
    return scope_for(member.role.value, member.department)


def within_scope(tickets: TicketService, scope: Scope, number: str, change: Callable[..., T], *args: Any) -> T:
    """`change(number, *args)` once the ticket is known to be in the scope (supervisors: no extra read)."""
    if not scope.everything:
        check_ticket(scope, tickets.get(number).department)
    return change(number, *args)


def proactive_intent(ticket: Ticket) -> str | None:
    """The intent that tells the customer about the ticket's new status, if any (only for known conversations)."""
    return PROACTIVE.get(ticket.status) if ticket.sender_id.strip() else None


def tell_customer(app: Sanic, ticket: Ticket) -> None:
    """Send the proactive message in the background: the staff request does not wait for Rasa."""
    intent = proactive_intent(ticket)
    if intent is None:
        return
    rasa: RasaClient = app.ctx.rasa
    task = asyncio.create_task(rasa.trigger_intent(ticket.sender_id, intent, {"ticket_id": ticket.number}))
    app.ctx.background.add(task)
    task.add_done_callback(app.ctx.background.discard)


def assign_within_scope(tickets: TicketService, scope: Scope, number: str, actor: str, target: StaffMember) -> Ticket:
    """Assign within the actor's scope, and only to someone who may work on the ticket (an agent of its department,
    or a supervisor)."""
    department = tickets.get(number).department
    check_ticket(scope, department)
    if not may_work_on(scope_of(target), department):
        raise InvalidInput("assignee", f"{target.username} 不属于{department}，不能处理该工单")
    return tickets.assign(number, actor, target.username)


def ticket_detail(tickets: TicketService, scope: Scope, number: str) -> tuple[Ticket, list[TicketEvent], list[Rating]]:
    ticket = tickets.get(number)
    check_ticket(scope, ticket.department)
    return ticket, tickets.trail(ticket.number), tickets.ratings(ticket.number)


def statuses_for(ticket: Ticket, role: Role) -> list[str]:
    """What the console offers as status buttons: the workflow's next statuses for this role."""
    return [s.value for s in next_statuses(ticket.status, role is Role.SUPERVISOR)]


def enveloped(ticket: Ticket) -> Callable[[Role], dict[str, Any]]:
    return lambda role: {"ticket": ticket_view(ticket, role), "next_statuses": statuses_for(ticket, role)}


def assignees_for(ticket: Ticket, staff: list[StaffMember], me: StaffMember) -> list[dict[str, Any]]:
    """Active staff who may work on the ticket (its department's agents, every 主管); `selectable`: whether `me` may
    assign it to them (a 坐席 only to themselves)."""
    return [{"username": m.username, "name": m.name, "role": m.role.value, "department": m.department,
             "selectable": me.role is Role.SUPERVISOR or m.username == me.username}
            for m in sorted(staff, key=lambda m: (m.role is Role.SUPERVISOR, m.username))
            if m.active and may_work_on(scope_of(m), ticket.department)]


def chat_of(records: HandoffRecords, session_id: str, me: StaffMember) -> ChatFacts:
    """The chat's facts, for the agent who holds it or a 主管 (NotFound, NotAllowed otherwise)."""
    session = records.get(session_id[:MAX_SESSION_ID])
    check_chat_owner(session.agent, me.username, me.role.value)
    return chat_facts(session, records.messages(session.id))


def draft_view(facts: ChatFacts, suggestion: ChatSuggestion, tickets: TicketService) -> dict[str, Any]:
    """The 新建工单 dialog's prefill; where each category would go (the routing rules, with the chat's topic)."""
    departments = {c.value: department_for(tickets.policy, c.value, suggestion.intent, suggestion.description)
                   for c in Category if c is not Category.IMPROVEMENT}
    return {"session_id": facts.session_id, "kind": suggestion.kind.value, "category": suggestion.category.value,
            "priority": suggestion.priority, "title": suggestion.title, "description": suggestion.description,
            "order_id": suggestion.order_id, "intent": suggestion.intent,
            "orders": [{"order_id": o.order_id, "summary": o.summary} for o in facts.orders],
            "customer_name": facts.customer_name, "customer_vip": facts.customer_vip,
            "departments": departments}


def created_view(created: Created, me: StaffMember, role: Role) -> dict[str, Any]:
    """The new (or, for a duplicate, the existing open) ticket: its number and where it went; the ticket itself only
    when `me` may work on it (another department's stays theirs)."""
    ticket = created.ticket
    mine = may_work_on(scope_of(me), ticket.department)
    body: dict[str, Any] = {"number": ticket.number, "duplicate": created.duplicate, "department": ticket.department,
                            "priority": ticket.priority, "status": ticket.status.value, "next_statuses": []}
    if mine:
        body.update(ticket=ticket_view(ticket, role), next_statuses=statuses_for(ticket, role))
    return body


def tickets_blueprint() -> Blueprint:
    bp = Blueprint("tickets", url_prefix="/api")

    def service(request: Request) -> TicketService:
        return request.app.ctx.tickets

    def staff_of(request: Request) -> StaffMember:
        return request.ctx.staff

    @bp.get("/tickets")
    @authenticated()
    async def list_tickets(request: Request) -> HTTPResponse:
        tickets = service(request)
        query = ticket_query(request.args, tickets.policy.supervisors)
        me = staff_of(request)
        filters = query.filters
        # filters add up: mine=true with assignee naming someone else matches no ticket
        nobody = query.mine and bool(filters.assignee) and filters.assignee != me.username
        if query.mine:
            filters = replace(filters, assignee=me.username)
        try:
            filters = scoped_filter(scope_of(me), filters)
        except NotAllowed as exc:
            raise Forbidden(exc.code, str(exc), "department") from exc
        if nobody:
            return json_reply({"items": [], "total": 0, "page": query.page, "page_size": query.page_size})
        page = await run(tickets.search, filters, query.page, query.page_size)
        return await audited_reply(request, lambda role: {
            "items": [ticket_view(t, role, whole=False) for t in page.items], "total": page.total,
            "page": page.page, "page_size": page.page_size}, ticket_owner)

    @bp.get("/tickets/<number>")
    @authenticated()
    async def show_ticket(request: Request, number: str) -> HTTPResponse:
        ticket, trail, ratings = await run(ticket_detail, service(request), scope_of(staff_of(request)), number)
        return await audited_reply(request, lambda role: {
            "ticket": ticket_view(ticket, role), "trail": [event_view(e, role) for e in trail],
            "ratings": [rating_view(r, role) for r in ratings], "next_statuses": statuses_for(ticket, role)},
            ticket_owner, default=Owner(ticket.customer_id or "", ticket.number))

    @bp.get("/tickets/<number>/assignees")
    @authenticated()
    async def assignees(request: Request, number: str) -> HTTPResponse:
        me = staff_of(request)
        ticket = await run(lambda: within_scope(service(request), scope_of(me), number, service(request).get))
        directory: StaffDirectory = request.app.ctx.staff
        staff = await asyncio.to_thread(directory.all)
        return json_reply({"number": ticket.number, "department": ticket.department,
                           "items": assignees_for(ticket, staff, me)})

    @bp.post("/tickets/<number>/assign")
    @authenticated()
    async def assign(request: Request, number: str) -> HTTPResponse:
        me = staff_of(request)
        assignee = json_object(request.body, required=("assignee",))["assignee"].strip()
        if me.role is Role.AGENT and assignee != me.username:
            raise Forbidden("forbidden", "坐席只能把工单分派给自己")
        directory: StaffDirectory = request.app.ctx.staff
        target = await asyncio.to_thread(directory.get, assignee) if assignee else None
        if target is None or not target.active:
            raise Unprocessable("unknown_assignee", f"no active staff account '{assignee}'", "assignee")
        ticket = await run(assign_within_scope, service(request), scope_of(me), number, me.username, target)
        return await audited_reply(request, enveloped(ticket), ticket_owner)

    @bp.post("/tickets/<number>/status")
    @authenticated()
    async def change_status(request: Request, number: str) -> HTTPResponse:
        me = staff_of(request)
        body = json_object(request.body, required=("status",), optional=("comment",))
        to = status_value(body["status"])
        comment = comment_text(body.get("comment", ""), required=False)
        tickets = service(request)
        ticket = await run(within_scope, tickets, scope_of(me), number, tickets.change_status, me.username, to, comment,
                           me.role is Role.AGENT)
        tell_customer(request.app, ticket)
        return await audited_reply(request, enveloped(ticket), ticket_owner)

    @bp.post("/tickets/<number>/comments")
    @authenticated()
    async def add_comment(request: Request, number: str) -> HTTPResponse:
        me = staff_of(request)
        text = comment_text(json_object(request.body, required=("comment",))["comment"], required=True)
        tickets = service(request)
        ticket = await run(within_scope, tickets, scope_of(me), number, tickets.comment, me.username, text)
        return await audited_reply(request, enveloped(ticket), ticket_owner, status=201)

    @bp.get("/handoff/sessions/<session_id>/ticket-draft")
    @authenticated()
    async def chat_ticket_draft(request: Request, session_id: str) -> HTTPResponse:
        tickets = service(request)
        facts = await run(chat_of, request.app.ctx.handoff_records, session_id, staff_of(request))
        return json_reply(draft_view(facts, suggest_ticket(facts, tickets.policy), tickets))

    @bp.post("/handoff/sessions/<session_id>/tickets")
    @authenticated()
    async def chat_ticket(request: Request, session_id: str) -> HTTPResponse:
        me = staff_of(request)
        wanted = chat_ticket_body(request.body)
        facts = await run(chat_of, request.app.ctx.handoff_records, session_id, me)
        tickets = service(request)
        if wanted.order_id is not None and wanted.order_id not in {o.order_id for o in facts.orders}:
            # a well-formed order number the chat does not know (like an assignee with no account)
            raise Unprocessable("unknown_order", "不是该会话涉及的订单", "order_id")
        created = await run(lambda: tickets.create(draft_from_chat(facts, wanted, me.username)))
        log_event(logger, "ticket_from_chat", number=created.ticket.number, session=facts.session_id,
                  agent=me.username, duplicate=created.duplicate)
        return await audited_reply(request, lambda role: created_view(created, me, role), ticket_owner,
                                   default=Owner(created.ticket.customer_id or "", created.ticket.number),
                                   status=200 if created.duplicate else 201)

    @bp.get("/notifications")
    @authenticated(Role.SUPERVISOR)
    async def notifications(request: Request) -> HTTPResponse:
        tickets = service(request)
        query = notification_query(request.args, tickets.policy.supervisors)
        notes = await run(tickets.notifications, query.department, query.unread_only, query.limit)
        return json_reply({"items": [notification_view(n) for n in notes]})

    return bp
