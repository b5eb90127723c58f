"""The escalation job: every policy.escalation_interval_s seconds, escalate overdue tickets (errors logged, never raised)."""

from __future__ import annotations

import asyncio
import logging

from service.logs import log_event
from service.tickets.service import TicketService

logger = logging.getLogger(__name__)


async def escalate_once(tickets: TicketService) -> int:
    """One pass; the number of tickets escalated (0 when the pass failed)."""
    try:
        escalations = await asyncio.to_thread(tickets.escalate_overdue)
    except Exception as exc:  # a failed pass (database away, ...) is retried at the next interval
        log_event(logger, "escalation_failed", level=logging.ERROR, error=type(exc).__name__)
        return 0
    if escalations:
        log_event(logger, "escalation_pass", escalated=len(escalations))
    return len(escalations)


async def run_escalation(tickets: TicketService, interval_s: float | None = None) -> None:
    """Pass after pass until cancelled: the first right away, then one every interval."""
    interval = tickets.policy.escalation_interval_s if interval_s is None else interval_s
    log_event(logger, "escalation_started", interval_s=interval)
    while True:
        await escalate_once(tickets)
        await asyncio.sleep(interval)
