"""Orders: finding the order a customer means, and what may be done with it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from service.access import Need, check_order
from service.addresses import parse_address
from service.aftersales import ReasonKind, return_eligibility
from service.backends.base import Backends
from service.clock import Clock
from service.errors import NotAllowed, NotFound
from service.identity import Identity
from service.models import Address, Order, OrderStatus, Product, UrgeReceipt
from service.policy import PRICE_PROTECTION_DAYS, RECENT_ORDER_DAYS, RECENT_ORDER_LIMIT
from service.products import categories_named
from service.timeparse import purchase_window

CANDIDATE_SCAN = 20  # how many of the latest orders are looked at to find the ones a customer may mean
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


def _fold(text: str) -> str:
    return (text or "").lower().replace(" ", "")


def mention_score(order: Order, product_text: str, products: Mapping[str, Product] | None = None) -> int:
    """How well a customer's words name one of the order's products, by the catalogue's names,
    aliases and categories (`products`: the catalogue entry of each of the order's SKUs):
    3 the whole name ("蓝牙耳机 X1"), 2 part of the name or an alias ("耳机", "裙子" → 连衣裙),
    1 a word of the name, an alias inside longer words, or the category ("衣服" → 服装)."""
    words = _fold(product_text)
    if not words:
        return 0
    categories = categories_named(product_text)
    best = 0
    for item in order.items:
        name = _fold(item.product_name)
        product = (products or {}).get(item.sku)
        aliases = [_fold(alias) for alias in product.aliases] if product else []
        if words == name or name in words:
            score = 3
        elif words in name or words in aliases:
            score = 2
        elif (any(part and part in words for part in item.product_name.lower().split(" "))
              or any(alias and alias in words for alias in aliases)
              or (product is not None and product.category in categories)):
            score = 1
        else:
            score = 0
        best = max(best, score)
    return best


@dataclass(frozen=True)
class Mention:
    """The customer's orders their words name, best first, and the one they clearly mean (if any)."""

    matches: tuple[Order, ...]
    chosen: Order | None


def _scored(orders: list[Order], product_text: str, time_text: str, now: datetime,
            products: Mapping[str, Product] | None) -> list[tuple[int, bool, datetime, Order]]:
    window = purchase_window(time_text, now.date()) if time_text else None
    scored = []
    for order in orders:
        score = mention_score(order, product_text, products)
        if score == 0:
            continue
        in_window = window is not None and window.contains(order.created_at.date())
        scored.append((score, in_window, order.created_at, order))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    return scored


def rank_mentioned(
    orders: list[Order], product_text: str, time_text: str, now: datetime,
    products: Mapping[str, Product] | None = None,
) -> list[Order]:
    """Orders matching the product the customer named; inside the time window first."""
    return [s[3] for s in _scored(orders, product_text, time_text, now, products)]


def pick_mentioned(
    orders: list[Order], product_text: str, time_text: str, now: datetime,
    products: Mapping[str, Product] | None = None, purpose: Purpose | None = None,
) -> Mention:
    """The order the words name: the only match, or the one match that scores best (a better name
    match, or bought in the time said); among equals, the only one that fits `purpose`."""
    scored = _scored(orders, product_text, time_text, now, products)
    matches = tuple(s[3] for s in scored)
    if not scored:
        return Mention(matches, None)
    best = [s[3] for s in scored if s[:2] == scored[0][:2]]
    if len(best) == 1:
        return Mention(matches, best[0])
    fitting = [o for o in best if purpose is not None and fits(purpose, o, now)]
    return Mention(matches, fitting[0] if len(fitting) == 1 else None)


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

    async def candidates(self, customer_id: str, purpose: Purpose) -> list[Order]:
        """The customer's recent orders worth offering for `purpose`, newest first: the ones that `fit`
        it, and for a refund question only the orders that have a refund."""
        now = self._clock.now()
        since = now - timedelta(days=RECENT_ORDER_DAYS)
        orders = await self._b.orders.recent_orders(customer_id, limit=CANDIDATE_SCAN)
        fitting = [o for o in orders if o.created_at >= since and fits(purpose, o, now)]
        if purpose is Purpose.REFUND:
            fitting = [o for o in fitting if await self._b.refunds.refunds_for_order(o.id)]
        return fitting[:RECENT_ORDER_LIMIT]

    async def mentioned(self, customer_id: str, product_text: str, time_text: str = "") -> list[Order]:
        """"我上周买的耳机" → the customer's matching orders, best first."""
        return list((await self.mentioned_order(customer_id, product_text, time_text)).matches)

    async def mentioned_order(self, customer_id: str, product_text: str, time_text: str = "",
                              purpose: Purpose | None = None) -> Mention:
        """"裙子不合适想退" → the customer's orders of a product the words name (catalogue names,
        aliases, categories), and the one they clearly mean (see `pick_mentioned`)."""
        orders = await self._b.orders.recent_orders(customer_id, limit=CANDIDATE_SCAN)
        return pick_mentioned(orders, product_text, time_text, self._clock.now(),
                              await self._products_of(orders), purpose)

    async def _products_of(self, orders: list[Order]) -> dict[str, Product]:
        """The catalogue entry of every SKU in `orders`."""
        products: dict[str, Product] = {}
        for sku in dict.fromkeys(item.sku for order in orders for item in order.items):
            product = await self._b.products.get_product(sku)
            if product is not None:
                products[sku] = product
        return products

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
    """Whether `order` is a sensible candidate to offer for `purpose` (by its own data: whether it has a
    refund is asked by `OrderService.candidates`)."""
    status = order.status
    if purpose in (Purpose.STATUS, Purpose.REFUND):
        return True
    if purpose is Purpose.LOGISTICS:  # a parcel on its way
        return status is OrderStatus.SHIPPED
    if purpose is Purpose.URGE:
        return status in (OrderStatus.PAID, OrderStatus.SHIPPED)
    if purpose is Purpose.PRICE_PROTECTION:
        return status not in (OrderStatus.CANCELLED, OrderStatus.UNPAID) and (
            now - order.created_at <= timedelta(days=PRICE_PROTECTION_DAYS)
        )
    if purpose in (Purpose.CHANGE_ADDRESS, Purpose.CANCEL):
        return status.before_shipment
    if purpose is Purpose.RETURN:  # still inside the longest window (a quality problem's)
        return return_eligibility(order, ReasonKind.MERCHANT, now).allowed
    if purpose is Purpose.INVOICE:
        return status not in (OrderStatus.CANCELLED, OrderStatus.UNPAID)
    return status in (OrderStatus.SIGNED, OrderStatus.SHIPPED)  # REPAIR
