"""Refund progress and price protection (价保)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from service.access import Need, check_order, check_refund
from service.backends.base import Backends
from service.clock import Clock
from service.errors import NotAllowed, NotFound
from service.identity import Identity
from service.models import Order, OrderStatus, Refund
from service.policy import PRICE_PROTECTION_DAYS

PRICE_PROTECTION_REASON = "价保差价"


def add_workdays(start: datetime, days: int) -> datetime:
    """`days` working days (Mon–Fri) after `start`."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


@dataclass(frozen=True)
class PriceDrop:
    amount: Decimal
    paid: Decimal
    current: Decimal
    product_name: str


def price_drop(order: Order, current_prices: dict[str, Decimal], now: datetime) -> PriceDrop:
    """The difference owed for the order's items; raises NotAllowed with the reason code."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.UNPAID):
        raise NotAllowed("not_paid")
    if now - order.created_at > timedelta(days=PRICE_PROTECTION_DAYS):
        raise NotAllowed("expired")
    total = Decimal(0)
    paid = current = Decimal(0)
    name = order.items[0].product_name if order.items else ""
    for item in order.items:
        price_now = current_prices.get(item.sku)
        if price_now is not None and price_now < item.unit_price:
            total += (item.unit_price - price_now) * item.quantity
            paid, current, name = item.unit_price, price_now, item.product_name
    if total <= 0:
        raise NotAllowed("no_drop")
    return PriceDrop(total, paid, current, name)


class RefundService:
    def __init__(self, backends: Backends, clock: Clock) -> None:
        self._b = backends
        self._clock = clock

    async def get(self, refund_id: str) -> Refund:
        refund = await self._b.refunds.get_refund(refund_id)
        if refund is None:
            raise NotFound("refund", refund_id)
        return refund

    async def get_for(self, refund_id: str, identity: Identity) -> Refund:
        """The refund, for the owner of its order only (access.AccessDenied otherwise)."""
        refund = await self.get(refund_id)
        order = await self._b.orders.get_order(refund.order_id)
        if order is None:
            raise NotFound("order", refund.order_id)
        check_refund(identity, refund, order)
        return refund

    async def latest_for_order(self, order_id: str) -> Refund | None:
        refunds = await self._b.refunds.refunds_for_order(order_id)
        return refunds[0] if refunds else None

    @staticmethod
    def expected_by(refund: Refund) -> datetime:
        return add_workdays(refund.created_at, refund.expected_workdays)

    async def price_protect(self, order: Order, identity: Identity) -> tuple[PriceDrop, Refund]:
        """Pay out the price difference once per order, to its owner."""
        check_order(identity, order, Need.OWNER)
        existing = await self._b.refunds.refunds_for_order(order.id)
        if any(r.reason == PRICE_PROTECTION_REASON for r in existing):
            raise NotAllowed("already_done")
        prices: dict[str, Decimal] = {}
        for item in order.items:
            product = await self._b.products.get_product(item.sku)
            if product is not None:
                prices[item.sku] = product.price
        drop = price_drop(order, prices, self._clock.now())
        refund = await self._b.refunds.create_refund(order.id, drop.amount, PRICE_PROTECTION_REASON)
        return drop, refund
