"""The customer's profile, for greetings, the profile answer and the agents' context."""

from __future__ import annotations

from service.access import check_profile
from service.backends.base import Backends
from service.identity import Identity
from service.models import Customer


class CustomerService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends

    async def get(self, customer_id: str) -> Customer | None:
        return await self._b.customers.get_customer(customer_id)

    async def of(self, identity: Identity) -> Customer | None:
        """The proven customer's record; None when nobody is proven (never a customer someone only named)."""
        if not identity.proven or not identity.customer_id:
            return None
        return await self._b.customers.get_customer(identity.customer_id)

    async def profile(self, identity: Identity) -> Customer | None:
        """The profile, for its owner only (access.AccessDenied otherwise)."""
        return await self._b.customers.get_customer(check_profile(identity))
