"""What the desk sends back: JSON bodies, datetimes as ISO strings, personal data masked for agents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

from sanic.response import HTTPResponse
from sanic.response import json as sanic_json

from desk.auth import Role
from service.audit import AuditEntry, Owner
from service.clock import iso
from service.privacy import conversation_ref, mask_address, mask_phone, scrub
from service.tickets.models import Notification, Rating, Ticket, TicketEvent

LIST_LEAVES_OUT = ("transcript",)  # the whole excerpt is on the ticket's own page
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    """JSON with readable Chinese (no \\u escapes)."""
    return sanic_json(body, status=status, headers=headers, dumps=_dumps)




def sees_personal_data(role: Role) -> bool:
    return role is Role.SUPERVISOR


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    return value


def ticket_view(ticket: Ticket, role: Role, whole: bool = True) -> dict[str, Any]:
    """A ticket as JSON; agents get the phone and address masked and free text scrubbed."""
    body = {key: _plain(value) for key, value in asdict(ticket).items()}
    body["conversation"] = conversation_ref(body.pop("sender_id"))  # never the conversation's key itself
    if not sees_personal_data(role):
        body["customer_phone"] = mask_phone(ticket.customer_phone) if ticket.customer_phone else ""
        body["customer_address"] = mask_address(ticket.customer_address) if ticket.customer_address else ""
        for key in ("description", "summary", "transcript"):
            body[key] = scrub(body[key])
    if not whole:
        for key in LIST_LEAVES_OUT:
            body.pop(key)
    return body


def event_view(event: TicketEvent, role: Role) -> dict[str, Any]:
    comment = event.comment if sees_personal_data(role) else scrub(event.comment)
    return {"at": iso(event.at), "actor": event.actor, "kind": event.kind, "from_status": event.from_status,
            "to_status": event.to_status, "comment": comment}


def rating_view(rating: Rating, role: Role) -> dict[str, Any]:
    comment = rating.comment if sees_personal_data(role) else scrub(rating.comment)
    return {"score": rating.score, "comment": comment, "at": iso(rating.at)}


def notification_view(note: Notification) -> dict[str, Any]:
    return {"id": note.id, "at": iso(note.at), "department": note.department, "recipient": note.recipient,
            "ticket_number": note.ticket_number, "kind": note.kind, "message": note.message, "read": note.read}


def ticket_owner(data: Mapping[str, Any]) -> Owner | None:
    """For the audit: a ticket's JSON is its customer's (anonymous tickets have no customer id)."""
    if "number" in data and "customer_id" in data:
        return Owner(str(data.get("customer_id") or ""), str(data["number"]))
    return None


def audit_entry_view(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": iso(entry.at), "viewer": entry.viewer, "role": entry.role,
            "customer_id": entry.customer_id, "shown": list(entry.shown), "source": entry.source,
            "reference": entry.reference}
