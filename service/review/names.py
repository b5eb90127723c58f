"""The names a conversation's customer is known by, to mask them in what is collected: those on tickets and in
handoff context packages (the bot's database), and the CRM's name of each customer id (service/backends)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection

from service.backends.base import Backends
from service.logs import log_event
from service.review.facts import ConversationFacts

logger = logging.getLogger(__name__)
CustomerName = Callable[[str], "str | None"]  # a customer id → the CRM's name for it


class KnownNames:
    """names_of(sender, customer_ids) for the inbox collector."""

    def __init__(self, facts: ConversationFacts, customer_name: CustomerName | None = None) -> None:
        self._facts = facts
        self._customer_name = customer_name

    def __call__(self, sender: str, customer_ids: Collection[str]) -> set[str]:
        names = self._facts.names_of(sender, customer_ids)
        if self._customer_name is not None:
            for customer in customer_ids:
                name = self._customer_name(customer)
                if name:
                    names.add(name)
        return names


class CrmNames:
    """The CRM's names through the backends (built on first use), from a worker thread: each lookup runs the
    backend's coroutine to completion there. Never raises: a CRM that fails or times out gives no name."""

    def __init__(self, backends: Callable[[], Backends]) -> None:
        self._build = backends
        self._backends: Backends | None = None
        self._lock = threading.Lock()

    def __call__(self, customer_id: str) -> str | None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:  # on an event loop's thread a lookup would block it: callers run collection in a worker thread
            return None
        try:
            with self._lock:
                if self._backends is None:
                    self._backends = self._build()
                backends = self._backends
            customer = asyncio.run(backends.customers.get_customer(customer_id))
        except Exception as exc:  # a name we cannot learn is a name the reviewer must catch
            log_event(logger, "review_crm_name_failed", level=logging.WARNING, error=type(exc).__name__)
            return None
        return customer.name if customer is not None else None
