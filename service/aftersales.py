"""Returns, exchanges, repairs and intercepts: eligibility rules and the requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from service.backends.base import Backends
from service.clock import Clock
from service.errors import NotAllowed
from service.models import AfterSalesCase, CaseKind, Order, OrderStatus, RepairRecord
from service.policy import NO_REASON_RETURN_DAYS, QUALITY_RETURN_DAYS

_MERCHANT_FAULT = re.compile(
    r"质量|坏|破损|破了|碎|裂|瑕疵|故障|不能用|用不了|没反应|不工作|有问题|划痕|脱线|开胶|掉色|起球|漏|异响|"
    r"发错|错发|少发|漏发|少件|假货|不制冷|不加热|充不进|连不上|没声音|黑屏|花屏|死机|过期|变质|色差"
)


class ReasonKind(str, Enum):
    MERCHANT = "商家原因"  # quality problem, damage, wrong or missing item
    CUSTOMER = "无理由"  # changed mind, size, colour


def classify_reason(text: str) -> ReasonKind:
    return ReasonKind.MERCHANT if _MERCHANT_FAULT.search(text or "") else ReasonKind.CUSTOMER


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    code: str  # ok | not_received | cancelled | no_reason_expired | quality_expired
    deadline: date | None = None


def return_eligibility(order: Order, reason: ReasonKind, now: datetime) -> Eligibility:
    """7 days without reason, 15 days for the merchant's faults, counted from the day after signing."""
    if order.status == OrderStatus.CANCELLED:
        return Eligibility(False, "cancelled")
    if order.status != OrderStatus.SIGNED or order.signed_at is None:
        return Eligibility(False, "not_received")
    days = NO_REASON_RETURN_DAYS if reason is ReasonKind.CUSTOMER else QUALITY_RETURN_DAYS
    deadline = order.signed_at.date() + timedelta(days=days)
    if now.date() > deadline:
        code = "no_reason_expired" if reason is ReasonKind.CUSTOMER else "quality_expired"
        return Eligibility(False, code, deadline)
    return Eligibility(True, "ok", deadline)


@dataclass(frozen=True)
class WarrantyStatus:
    product_name: str
    until: date | None
    active: bool
    repairs: tuple[RepairRecord, ...]


def warranty_until(order: Order, months: int) -> date | None:
    if months <= 0:
        return None
    start = (order.signed_at or order.created_at).date()
    year, month = divmod(start.month - 1 + months, 12)
    try:
        return start.replace(year=start.year + year, month=month + 1)
    except ValueError:  # 29/30/31 of a shorter month
        return start.replace(year=start.year + year, month=month + 1, day=28)


class AfterSalesService:
    def __init__(self, backends: Backends, clock: Clock) -> None:
        self._b = backends
        self._clock = clock

    def eligibility(self, order: Order, reason_text: str) -> Eligibility:
        return return_eligibility(order, classify_reason(reason_text), self._clock.now())

    async def open_return(
        self, order: Order, kind: CaseKind, reason_text: str, detail: str = ""
    ) -> AfterSalesCase:
        verdict = self.eligibility(order, reason_text)
        if not verdict.allowed:
            raise NotAllowed(verdict.code)
        reason = f"{classify_reason(reason_text).value}：{reason_text}"
        return await self._b.aftersales.create_case(kind, order.id, reason, detail=detail)

    async def warranty(self, order: Order) -> WarrantyStatus:
        item = order.items[0]
        product = await self._b.products.get_product(item.sku)
        until = warranty_until(order, product.warranty_months if product else 0)
        repairs = await self._b.aftersales.repair_history(order.id)
        active = until is not None and self._clock.today() <= until
        return WarrantyStatus(item.product_name, until, active, tuple(repairs))

    async def open_repair(
        self, order: Order, fault: str, contact_phone: str, preferred_time: str
    ) -> AfterSalesCase:
        warranty = await self.warranty(order)
        reason = "保修期内维修" if warranty.active else "保外付费维修"
        return await self._b.aftersales.create_case(
            CaseKind.REPAIR, order.id, reason, detail=fault,
            contact_phone=contact_phone, preferred_time=preferred_time,
        )

    async def open_intercept(self, order: Order, new_address: str = "") -> AfterSalesCase:
        if order.status != OrderStatus.SHIPPED:
            raise NotAllowed("not_in_transit")
        return await self._b.aftersales.create_case(
            CaseKind.INTERCEPT, order.id, "发货后修改地址，申请拦截改派", detail=new_address
        )


_SYMPTOM = re.compile(
    r"不制冷|不加热|不转|充不进|充不上|连不上|没声音|没反应|开不了机|开不开机|黑屏|花屏|死机|漏水|漏电|异响|"
    r"冒烟|起火|屏幕(?:碎|裂|坏)|断[了开]|卡顿|重启|发烫|不出水|不工作|按键失灵|噪音"
)


def describes_fault(text: str) -> bool:
    """Whether the text names a concrete symptom (not just 坏了 / 有问题)."""
    return bool(_SYMPTOM.search(text or ""))
