"""Where a parcel is: the latest trace node, carrier, waybill and expected arrival."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

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
        return estimated_arrival(self.shipment) if self.shipment else None


TRANSIT_DAYS = 3  # a parcel's usual time on the road, when the carrier gives no expected day

_ARRIVAL_QUESTION = re.compile(
    r"(什么时候|啥时候|什么时间|几时|何时|几号|哪天|多久|几天|多长时间|今天|明天|后天|今晚)[^，。,.？?！!]{0,4}"
    r"(到|送达|送到|收到|派送|送过来|能送)|预计.{0,6}(到|送达)|到货时间|送达时间"
)


def asks_arrival(text: str) -> bool:
    """Whether the customer asks when the parcel arrives ("什么时候能到啊"), not where it is."""
    return bool(_ARRIVAL_QUESTION.search(text or ""))


def estimated_arrival(shipment: Shipment) -> date | None:
    """The carrier's expected day, else the day of the first trace node plus the usual transit time."""
    if shipment.eta:
        return shipment.eta
    first = shipment.nodes[0] if shipment.nodes else None
    return first.time.date() + timedelta(days=TRANSIT_DAYS) if first else None


def is_delayed(shipment: Shipment | None, today: date) -> bool:
    """In transit past the expected arrival day."""
    if shipment is None or shipment.signed_at is not None:
        return False
    eta = estimated_arrival(shipment)
    return bool(eta and eta < today)


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
