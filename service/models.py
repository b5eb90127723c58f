"""Records the backends return: plain frozen dataclasses, no ORM, no Rasa."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from service.privacy import mask_address, mask_phone


class MemberTier(str, Enum):
    REGULAR = "普通会员"
    SILVER = "银卡会员"
    GOLD = "金卡会员"
    DIAMOND = "钻石会员"

    @property
    def is_vip(self) -> bool:
        return self in (MemberTier.GOLD, MemberTier.DIAMOND)


class OrderStatus(str, Enum):
    UNPAID = "待付款"
    PAID = "待发货"
    SHIPPED = "已发货"
    SIGNED = "已签收"
    CANCELLED = "已取消"

    @property
    def before_shipment(self) -> bool:
        return self in (OrderStatus.UNPAID, OrderStatus.PAID)


class RefundStatus(str, Enum):
    PROCESSING = "退款中"
    DONE = "已退款"
    REJECTED = "已驳回"


class CaseKind(str, Enum):
    RETURN = "退货"
    EXCHANGE = "换货"
    REPAIR = "维修"
    INTERCEPT = "拦截改派"


@dataclass(frozen=True)
class Address:
    receiver: str
    phone: str
    province: str
    city: str
    district: str
    detail: str

    @property
    def full(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.detail}"

    @property
    def masked(self) -> str:
        return f"{self.receiver[:1]}** {mask_phone(self.phone)} {mask_address(self.full)}"


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    phone: str
    tier: MemberTier
    tags: tuple[str, ...] = ()
    points: int = 0
    city: str = ""

    @property
    def is_vip(self) -> bool:
        return self.tier.is_vip


@dataclass(frozen=True)
class OrderItem:
    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal

    @property
    def label(self) -> str:
        return f"{self.product_name} ×{self.quantity}"


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str
    items: tuple[OrderItem, ...]
    total: Decimal
    status: OrderStatus
    created_at: datetime
    address: Address
    warehouse: str
    carrier: str | None = None
    waybill: str | None = None
    shipped_at: datetime | None = None
    signed_at: datetime | None = None

    @property
    def summary(self) -> str:
        """蓝牙耳机 X1 ×1 等 (¥399)."""
        first = self.items[0].label if self.items else "商品"
        more = " 等" if len(self.items) > 1 else ""
        return f"{first}{more}（{yuan(self.total)}）"

    @property
    def product_names(self) -> tuple[str, ...]:
        return tuple(item.product_name for item in self.items)


@dataclass(frozen=True)
class TraceNode:
    time: datetime
    description: str


@dataclass(frozen=True)
class Shipment:
    order_id: str
    carrier: str
    waybill: str
    nodes: tuple[TraceNode, ...]
    eta: date | None = None
    signed_at: datetime | None = None

    @property
    def latest(self) -> TraceNode | None:
        return self.nodes[-1] if self.nodes else None


@dataclass(frozen=True)
class StockLevel:
    warehouse: str
    quantity: int


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    brand: str
    category: str
    price: Decimal
    warranty_months: int
    specs: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refund:
    id: str
    order_id: str
    amount: Decimal
    status: RefundStatus
    created_at: datetime
    expected_workdays: int
    reason: str = ""


@dataclass(frozen=True)
class InvoiceRequest:
    id: str
    order_id: str
    title: str
    tax_id: str | None
    email: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class AfterSalesCase:
    id: str
    kind: CaseKind
    order_id: str
    reason: str
    status: str
    created_at: datetime
    detail: str = ""
    contact_phone: str | None = None
    preferred_time: str | None = None


@dataclass(frozen=True)
class RepairRecord:
    order_id: str
    reported_at: datetime
    fault: str
    result: str


@dataclass(frozen=True)
class UrgeReceipt:
    order_id: str
    times: int
    target: str  # "仓库" before shipment, the carrier after


@dataclass(frozen=True)
class Warranty:
    product_name: str
    until: date
    active: bool
    repairs: tuple[RepairRecord, ...] = ()


def yuan(amount: Decimal) -> str:
    """¥399 / ¥12.50 : whole amounts without decimals."""
    return f"¥{amount:.0f}" if amount == amount.to_integral_value() else f"¥{amount:.2f}"
