"""Orders: finding the order a customer means, and what may be done with it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import Enum

from service.access import Need, check_order
from service.addresses import parse_address
from service.backends.base import Backends
from service.clock import Clock
from service.errors import NotAllowed, NotFound
from service.identity import Identity
from service.models import Address, Order, OrderStatus, UrgeReceipt
from service.policy import PRICE_PROTECTION_DAYS, RECENT_ORDER_DAYS, RECENT_ORDER_LIMIT
from service.timeparse import purchase_window

ORDER_ID = re.compile(r"(?<![A-Za-z0-9])[Ee]\d{12}(?!\d)")


def normalise_order_id(text: str) -> str | None:
    """The first well-formed order id in `text`, upper-cased; None if there is none."""
    match = ORDER_ID.search(text or "")
    return match.group(0).upper() if match else None


def address_change_block(order: Order) -> str | None:
    """Why the address can no longer be changed (a reason code), or None when it can."""
    if order.status.before_shipment:
        return None
    return {OrderStatus.SHIPPED: "shipped", OrderStatus.SIGNED: "signed"}.get(order.status, "cancelled")


def cancel_block(order: Order) -> str | None:
    """Why the order can no longer be cancelled, or None when it can."""
    return address_change_block(order)


def mention_score(order: Order, product_text: str) -> int:
    """How well a customer's words ("耳机", "蓝牙耳机 X1") name one of the order's products."""
    words = product_text.lower().replace(" ", "")
    if not words:
        return 0
    best = 0
    for name in order.product_names:
        folded = name.lower().replace(" ", "")
        if words == folded or folded in words:
            best = max(best, 3)
        elif words in folded:
            best = max(best, 2)
        elif any(part and part in words for part in name.lower().split(" ")):
            best = max(best, 1)
    return best


def rank_mentioned(
    orders: list[Order], product_text: str, time_text: str, now: datetime
) -> list[Order]:
    """Orders matching the product the customer named; inside the time window first."""
    window = purchase_window(time_text, now.date()) if time_text else None
    scored = []
    for order in orders:
        score = mention_score(order, product_text)
        if score == 0:
            continue
        in_window = window is not None and window.contains(order.created_at.date())
        scored.append((score, in_window, order.created_at, order))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    return [s[3] for s in scored]


class OrderService:
    def __init__(self, backends: Backends, clock: Clock) -> None:
        self._b = backends
        self._clock = clock

    async def get(self, order_id: str) -> Order:
        order = await self._b.orders.get_order(order_id)
        if order is None:
            raise NotFound("order", order_id)
        return order

    async def get_for(self, order_id: str, identity: Identity, need: Need = Need.OWNER) -> Order:
        """The order, if `identity` may see it for `need` (access.AccessDenied otherwise)."""
        order = await self.get(order_id)
        check_order(identity, order, need)
        return order

    async def recent(self, customer_id: str) -> list[Order]:
        since = self._clock.now() - timedelta(days=RECENT_ORDER_DAYS)
        orders = await self._b.orders.recent_orders(customer_id, limit=RECENT_ORDER_LIMIT * 2)
        return [o for o in orders if o.created_at >= since][:RECENT_ORDER_LIMIT]

    async def by_waybill(self, waybill: str) -> Order:
        order = await self._b.orders.find_by_waybill(waybill)
        if order is None:
            raise NotFound("waybill", waybill)
        return order

    async def mentioned(self, customer_id: str, product_text: str, time_text: str = "") -> list[Order]:
        """"我上周买的耳机" → the customer's matching orders, best first."""
        orders = await self._b.orders.recent_orders(customer_id, limit=20)
        return rank_mentioned(orders, product_text, time_text, self._clock.now())

    async def change_address(self, order_id: str, text: str, identity: Identity) -> Order:
        order = await self.get_for(order_id, identity)
        block = address_change_block(order)
        if block:
            raise NotAllowed(block)
        parsed = parse_address(text)
        new = Address(order.address.receiver, order.address.phone, parsed.province, parsed.city,
                      parsed.district, parsed.detail)
        return await self._b.orders.change_address(order_id, new)

    async def cancel(self, order_id: str, reason: str, identity: Identity) -> Order:
        order = await self.get_for(order_id, identity)
        block = cancel_block(order)
        if block:
            raise NotAllowed(block)
        return await self._b.orders.cancel_order(order_id, reason)

    async def urge(self, order_id: str, identity: Identity) -> UrgeReceipt:
        order = await self.get_for(order_id, identity)
        if order.status in (OrderStatus.SIGNED, OrderStatus.CANCELLED, OrderStatus.UNPAID):
            raise NotAllowed(order.status.name.lower())
        return await self._b.orders.urge(order_id)


class Purpose(str, Enum):
    """What the customer wants to do with the order they are about to pick."""

    STATUS = "status"
    LOGISTICS = "logistics"
    URGE = "urge"
    REFUND = "refund"
    PRICE_PROTECTION = "price_protection"
    CHANGE_ADDRESS = "change_address"
    CANCEL = "cancel"
    RETURN = "return"
    INVOICE = "invoice"
    REPAIR = "repair"


def fits(purpose: Purpose, order: Order, now: datetime) -> bool:
    """Whether `order` is a sensible candidate to offer for `purpose`."""
    status = order.status
    if purpose in (Purpose.STATUS, Purpose.REFUND):
        return True
    if purpose is Purpose.LOGISTICS:
        return status in (OrderStatus.SHIPPED, OrderStatus.SIGNED)
    if purpose is Purpose.URGE:
        return status in (OrderStatus.PAID, OrderStatus.SHIPPED)
    if purpose is Purpose.PRICE_PROTECTION:
        return status not in (OrderStatus.CANCELLED, OrderStatus.UNPAID) and (
            now - order.created_at <= timedelta(days=PRICE_PROTECTION_DAYS)
        )
    if purpose in (Purpose.CHANGE_ADDRESS, Purpose.CANCEL):
        return status.before_shipment
    if purpose is Purpose.RETURN:
        return status is OrderStatus.SIGNED
    if purpose is Purpose.INVOICE:
        return status not in (OrderStatus.CANCELLED, OrderStatus.UNPAID)
    return status in (OrderStatus.SIGNED, OrderStatus.SHIPPED)  # REPAIR
