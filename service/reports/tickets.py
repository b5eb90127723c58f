"""Figures of the tickets, from the ticket records (service/tickets/schema.py). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from service.reports.periods import Period
from service.reports.records import TicketFact
from service.tickets.rules import Kind


@dataclass(frozen=True)
class SlaCount:
    due: int  # resolution due in the period, at or before now
    hit: int  # of those, resolved (or closed) at or before the due time

    @property
    def rate(self) -> float | None:
        return round(self.hit / self.due, 4) if self.due else None


@dataclass(frozen=True)
class DepartmentRow:
    department: str
    opened: int
    resolved: int
    closed: int
    sla: SlaCount


@dataclass(frozen=True)
class TicketFigures:
    opened: int
    resolved: int
    closed: int
    sla: SlaCount
    departments: list[DepartmentRow]
    senders: set[str]  # conversations that opened a ticket (问题, not 改进) in the period


def done_at(ticket: TicketFact) -> datetime | None:
    """When the ticket was done with: resolved, else closed."""
    return ticket.resolved_at or ticket.closed_at


def sla_of(tickets: Iterable[TicketFact], period: Period, now: datetime) -> SlaCount:
    due = [t for t in tickets if period.contains(t.resolution_due) and t.resolution_due <= now]
    hit = [t for t in due if (finished := done_at(t)) is not None and finished <= t.resolution_due]
    return SlaCount(len(due), len(hit))


def read_tickets(tickets: Iterable[TicketFact], period: Period, now: datetime) -> TicketFigures:
    facts = list(tickets)

    def figures(chosen: list[TicketFact]) -> tuple[int, int, int, SlaCount]:
        return (sum(1 for t in chosen if period.contains(t.created_at)),
                sum(1 for t in chosen if period.contains(t.resolved_at)),
                sum(1 for t in chosen if period.contains(t.closed_at)), sla_of(chosen, period, now))

    departments = []
    for department in sorted({t.department for t in facts}):
        opened, resolved, closed, sla = figures([t for t in facts if t.department == department])
        departments.append(DepartmentRow(department, opened, resolved, closed, sla))
    opened, resolved, closed, sla = figures(facts)
    senders = {t.sender_id for t in facts
               if t.sender_id and t.kind != Kind.IMPROVEMENT.value and period.contains(t.created_at)}
    return TicketFigures(opened, resolved, closed, sla, departments, senders)
