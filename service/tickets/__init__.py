"""The ticket system: tickets from conversations, routing, SLA, escalation, satisfaction."""

from __future__ import annotations

import threading

from service.clock import Clock
from service.db import make_engine
from service.migrate import upgrade
from service.settings import Settings, get_settings
from service.tickets.policy import load_policy
from service.tickets.service import TicketService

_lock = threading.Lock()
_default: TicketService | None = None


def build_ticket_service(settings: Settings, clock: Clock | None = None) -> TicketService:
    """Tickets on settings.database_url, migrated to the newest schema."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return TicketService(engine, load_policy(settings.ticketing_config), clock or Clock(settings.business_date))


def default_ticket_service() -> TicketService:
    global _default
    with _lock:
        if _default is None:
            _default = build_ticket_service(get_settings())
        return _default
