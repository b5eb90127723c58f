"""Ticket records as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from service.tickets.rules import Category, Kind, Status


@dataclass(frozen=True)
class TicketDraft:
    """What a conversation knows when it opens a ticket."""

    category: Category
    description: str
    summary: str = ""
    transcript: str = ""
    customer_id: str | None = None
    customer_name: str = ""
    customer_phone: str = ""
    customer_address: str = ""
    customer_vip: bool = False
    channel: str = ""
    sender_id: str = ""
    order_id: str | None = None
    product: str = ""
    intent: str = ""
    kind: Kind = Kind.ISSUE
    linked_ticket_id: int | None = None
    priority: str | None = None  # at least this (a staff member's choice); the rules may still raise it
    actor: str = "bot"  # who opened it, for the trail: the bot, or the agent who made it from a chat
    origin: str = ""  # the handoff session it was made from, named in the trail's first event

    @property
    def owner(self) -> str:
        """Who the duplicate guard groups by: the customer, else the conversation."""
        return self.customer_id or f"conv:{self.sender_id}"


@dataclass(frozen=True)
class Ticket:
    id: int
    number: str
    kind: Kind
    category: str
    status: Status
    priority: str
    department: str
    assignee: str | None
    customer_id: str | None
    customer_name: str
    customer_phone: str
    customer_address: str
    customer_vip: bool
    channel: str
    sender_id: str
    order_id: str | None
    product: str
    intent: str
    description: str
    summary: str
    transcript: str
    linked_ticket_id: int | None
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    escalation_level: int
    rating_requested_at: datetime | None


@dataclass(frozen=True)
class TicketEvent:
    at: datetime
    actor: str
    kind: str  # created | status | comment | assign | escalation | rating | duplicate
    from_status: str | None
    to_status: str | None
    comment: str


@dataclass(frozen=True)
class Rating:
    ticket_number: str
    score: int
    comment: str
    at: datetime


@dataclass(frozen=True)
class Notification:
    id: int
    at: datetime
    department: str
    recipient: str
    ticket_number: str
    kind: str
    message: str
    read: bool


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    duplicate: bool  # True: an open ticket already existed and got a comment instead


@dataclass(frozen=True)
class Escalation:
    ticket_number: str
    reason: str
    old_priority: str
    new_priority: str
    department: str
    supervisor: str


@dataclass(frozen=True)
class TicketFilter:
    status: Status | None = None
    priority: str | None = None
    department: str | None = None
    category: str | None = None
    assignee: str | None = None
    customer_id: str | None = None
    overdue: bool | None = None
    open_only: bool = False
    query: str = ""  # a ticket number, order id or phone


@dataclass(frozen=True)
class Page:
    items: list[Ticket] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 20
