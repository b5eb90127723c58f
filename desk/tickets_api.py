"""The ticket routes: list and filter, one ticket with its trail and ratings, assign, status, comments, notifications.

A 坐席 works only on their department's tickets (service/tickets/access.py): the list is forced to it, another
department's ticket is a 403 other_department. What a 主管 is shown whole is written to the 操作日志 first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
from desk.views import event_view, json_reply, notification_view, rating_view, ticket_owner, ticket_view
from service.audit import Owner
from service.errors import InvalidInput, NotAllowed, NotFound
from service.tickets.access import Scope, check_ticket, may_work_on, scope_for, scoped_filter
from service.tickets.models import Rating, Ticket, TicketEvent
from service.tickets.rules import Status, TransitionError
from service.tickets.service import TicketService

T = TypeVar("T")
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


def enveloped(ticket: Ticket) -> Callable[[Role], dict[str, Any]]:
    return lambda role: {"ticket": ticket_view(ticket, role)}


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
        try:
            filters = scoped_filter(scope_of(staff_of(request)), query.filters)
        except NotAllowed as exc:
            raise Forbidden(exc.code, str(exc), "department") from exc
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
            "ratings": [rating_view(r, role) for r in ratings]}, ticket_owner,
            default=Owner(ticket.customer_id or "", ticket.number))

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
        ticket = await run(within_scope, tickets, scope_of(me), number, tickets.change_status, me.username, to, comment)
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

    @bp.get("/notifications")
    @authenticated(Role.SUPERVISOR)
    async def notifications(request: Request) -> HTTPResponse:
        tickets = service(request)
        query = notification_query(request.args, tickets.policy.supervisors)
        notes = await run(tickets.notifications, query.department, query.unread_only, query.limit)
        return json_reply({"items": [notification_view(n) for n in notes]})

    return bp
