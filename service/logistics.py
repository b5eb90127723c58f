"""Where a parcel is: the latest trace node, carrier, waybill and expected arrival."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.backends.base import Backends
from service.clock import Clock
from service.errors import NotFound
from service.models import Order, OrderStatus, Shipment


@dataclass(frozen=True)
class Tracking:
    order: Order
    shipment: Shipment | None
    delayed: bool

    @property
    def latest_text(self) -> str:
        node = self.shipment.latest if self.shipment else None
        return f"{node.time:%m-%d %H:%M} {node.description}" if node else "暂无物流信息"

    @property
    def eta(self) -> date | None:
        return self.shipment.eta if self.shipment else None


def is_delayed(shipment: Shipment | None, today: date) -> bool:
    """In transit past the expected arrival day."""
    return bool(shipment and shipment.signed_at is None and shipment.eta and shipment.eta < today)


class LogisticsService:
    def __init__(self, backends: Backends, clock: Clock) -> None:
        self._b = backends
        self._clock = clock

    async def track(self, order: Order) -> Tracking:
        if order.status not in (OrderStatus.SHIPPED, OrderStatus.SIGNED):
            return Tracking(order, None, False)
        shipment = await self._b.logistics.get_shipment(order.id)
        if shipment is None:
            raise NotFound("shipment", order.id)
        return Tracking(order, shipment, is_delayed(shipment, self._clock.today()))
