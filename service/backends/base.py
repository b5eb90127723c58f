"""One interface per external system the bot talks to.

Every method is a coroutine so that a real HTTP client can implement it without blocking
the action server; the stub implementation (stub.py) runs on the seeded demo database.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from service.models import (
    Address,
    AfterSalesCase,
    CaseKind,
    Customer,
    InvoiceRequest,
    Order,
    Product,
    Refund,
    RepairRecord,
    Shipment,
    StockLevel,
    UrgeReceipt,
)


class OrderBackend(Protocol):
    """The shop's order management system."""

    async def get_order(self, order_id: str) -> Order | None: ...

    async def find_by_waybill(self, waybill: str) -> Order | None: ...

    async def recent_orders(self, customer_id: str, limit: int = 5) -> list[Order]: ...

    async def change_address(self, order_id: str, address: Address) -> Order: ...

    async def cancel_order(self, order_id: str, reason: str) -> Order: ...

    async def urge(self, order_id: str) -> UrgeReceipt: ...


class LogisticsBackend(Protocol):
    """Carrier tracking."""

    async def get_shipment(self, order_id: str) -> Shipment | None: ...


class CustomerBackend(Protocol):
    """The CRM: profile, member tier, tags."""

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def find_by_phone(self, phone: str) -> Customer | None: ...


class ProductBackend(Protocol):
    """Catalogue and inventory."""

    async def get_product(self, sku: str) -> Product | None: ...

    async def search(self, text: str, limit: int = 5) -> list[Product]: ...

    async def stock(self, sku: str) -> list[StockLevel]: ...


class RefundBackend(Protocol):
    """Payments: refunds and price-protection payouts."""

    async def get_refund(self, refund_id: str) -> Refund | None: ...

    async def refunds_for_order(self, order_id: str) -> list[Refund]: ...

    async def create_refund(self, order_id: str, amount: Decimal, reason: str) -> Refund: ...


class InvoiceBackend(Protocol):
    """Electronic invoicing."""

    async def request_invoice(
        self, order_id: str, title: str, tax_id: str | None, email: str
    ) -> InvoiceRequest: ...

    async def invoices_for_order(self, order_id: str) -> list[InvoiceRequest]: ...


class AfterSalesBackend(Protocol):
    """Returns, exchanges, repairs and carrier intercepts."""

    async def create_case(
        self,
        kind: CaseKind,
        order_id: str,
        reason: str,
        detail: str = "",
        contact_phone: str | None = None,
        preferred_time: str | None = None,
    ) -> AfterSalesCase: ...

    async def cases_for_order(self, order_id: str) -> list[AfterSalesCase]: ...

    async def repair_history(self, order_id: str) -> list[RepairRecord]: ...


@dataclass(frozen=True)
class Backends:
    """The set of backends an action or service works with."""

    orders: OrderBackend
    logistics: LogisticsBackend
    customers: CustomerBackend
    products: ProductBackend
    refunds: RefundBackend
    invoices: InvoiceBackend
    aftersales: AfterSalesBackend
