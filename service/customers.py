"""Who the customer is: identity from channel metadata, profile for greetings and context."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from service.backends.base import Backends
from service.models import Customer

_PHONE = re.compile(r"^1[3-9]\d{9}$")


class CustomerService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends

    async def get(self, customer_id: str) -> Customer | None:
        return await self._b.customers.get_customer(customer_id)

    async def identify(self, metadata: Mapping[str, Any] | None) -> Customer | None:
        """The customer named by the channel's metadata (`customer_id` or `phone`), if known."""
        if not metadata:
            return None
        customer_id = str(metadata.get("customer_id") or "").strip()
        if customer_id:
            found = await self._b.customers.get_customer(customer_id)
            if found:
                return found
        phone = str(metadata.get("phone") or "").strip()
        if _PHONE.match(phone):
            return await self._b.customers.find_by_phone(phone)
        return None

    async def by_phone(self, phone: str) -> Customer | None:
        return await self._b.customers.find_by_phone(phone)
