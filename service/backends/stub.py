"""Stub backends on the seeded demo database (SQLAlchemy; SQLite by default).

They behave like the real systems would for the bot: reads, and the few writes a
conversation makes (address change, cancel, urge, cases, invoices, refunds). The blocking
database work runs in a worker thread so the action server's event loop never waits on it.
`latency_ms` and `failing` simulate a slow or broken system for demos and benchmarks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine, Row

from service.backends import schema
from service.backends.base import Backends
from service.clock import Clock
from service.errors import NotAllowed, NotFound
from service.models import (
    Address,
    AfterSalesCase,
    CaseKind,
    Customer,
    InvoiceRequest,
    MemberTier,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Refund,
    RefundStatus,
    RepairRecord,
    Shipment,
    StockLevel,
    TraceNode,
    UrgeReceipt,
)

T = TypeVar("T")
CASE_PREFIX = {CaseKind.RETURN: "RT", CaseKind.EXCHANGE: "EX", CaseKind.REPAIR: "RP", CaseKind.INTERCEPT: "IC"}


def _yuan(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


@dataclass
class StubDatabase:
    """The demo database plus the simulated latency and failures."""

    engine: Engine
    clock: Clock
    latency_ms: float = 0.0
    failing: frozenset[str] = frozenset()

    async def run(self, operation: str, work: Callable[[Connection], T], write: bool = False) -> T:
        """Run `work` in a thread inside a transaction, after the simulated latency/failure."""
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        system = operation.split(".", 1)[0]
        if operation in self.failing or system in self.failing or "*" in self.failing:
            raise ConnectionError(f"simulated failure of {operation}")

        def call() -> T:
            context = self.engine.begin() if write else self.engine.connect()
            with context as conn:
                return work(conn)

        return await asyncio.to_thread(call)

    def next_id(self, conn: Connection, table: Any, prefix: str) -> str:
        """PREFIX + yyyymmdd + 4-digit sequence of the day."""
        day = self.clock.now().strftime("%Y%m%d")
        stem = f"{prefix}{day}"
        latest = conn.execute(
            select(func.max(table.c.id)).where(table.c.id.like(f"{stem}%"))
        ).scalar_one()
        seq = int(str(latest)[len(stem):]) + 1 if latest else 1
        return f"{stem}{seq:04d}"


def _order_from_rows(row: Row, items: list[Row]) -> Order:
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        items=tuple(
            OrderItem(i.sku, i.product_name, i.quantity, _yuan(i.unit_price_fen)) for i in items
        ),
        total=_yuan(row.total_fen),
        status=OrderStatus(row.status),
        created_at=row.created_at,
        address=Address(row.receiver, row.receiver_phone, row.province, row.city, row.district, row.detail),
        warehouse=row.warehouse,
        carrier=row.carrier,
        waybill=row.waybill,
        shipped_at=row.shipped_at,
        signed_at=row.signed_at,
    )


def _load_orders(conn: Connection, where: Any, limit: int | None = None) -> list[Order]:
    query = select(schema.orders).where(where).order_by(schema.orders.c.created_at.desc())
    if limit:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    items: dict[str, list[Row]] = {oid: [] for oid in ids}
    for item in conn.execute(
        select(schema.order_items).where(schema.order_items.c.order_id.in_(ids)).order_by(schema.order_items.c.id)
    ):
        items[item.order_id].append(item)
    return [_order_from_rows(r, items[r.id]) for r in rows]


def _one_order(conn: Connection, order_id: str) -> Order:
    found = _load_orders(conn, schema.orders.c.id == order_id)
    if not found:
        raise NotFound("order", order_id)
    return found[0]


class StubOrders:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def get_order(self, order_id: str) -> Order | None:
        found = await self._db.run(
            "orders.get_order", lambda c: _load_orders(c, schema.orders.c.id == order_id.upper())
        )
        return found[0] if found else None

    async def find_by_waybill(self, waybill: str) -> Order | None:
        found = await self._db.run(
            "orders.find_by_waybill", lambda c: _load_orders(c, schema.orders.c.waybill == waybill.upper())
        )
        return found[0] if found else None

    async def recent_orders(self, customer_id: str, limit: int = 5) -> list[Order]:
        return await self._db.run(
            "orders.recent_orders",
            lambda c: _load_orders(c, schema.orders.c.customer_id == customer_id, limit),
        )

    async def change_address(self, order_id: str, address: Address) -> Order:
        def work(conn: Connection) -> Order:
            order = _one_order(conn, order_id)
            if not order.status.before_shipment:
                raise NotAllowed("already_shipped")
            conn.execute(
                update(schema.orders).where(schema.orders.c.id == order_id).values(
                    receiver=address.receiver, receiver_phone=address.phone, province=address.province,
                    city=address.city, district=address.district, detail=address.detail,
                )
            )
            return _one_order(conn, order_id)

        return await self._db.run("orders.change_address", work, write=True)

    async def cancel_order(self, order_id: str, reason: str) -> Order:
        def work(conn: Connection) -> Order:
            order = _one_order(conn, order_id)
            if not order.status.before_shipment:
                raise NotAllowed("already_shipped")
            conn.execute(
                update(schema.orders).where(schema.orders.c.id == order_id)
                .values(status=OrderStatus.CANCELLED.value, cancel_reason=reason[:200])
            )
            return _one_order(conn, order_id)

        return await self._db.run("orders.cancel_order", work, write=True)

    async def urge(self, order_id: str) -> UrgeReceipt:
        def work(conn: Connection) -> UrgeReceipt:
            order = _one_order(conn, order_id)
            conn.execute(
                update(schema.orders).where(schema.orders.c.id == order_id)
                .values(urge_count=schema.orders.c.urge_count + 1)
            )
            times = conn.execute(
                select(schema.orders.c.urge_count).where(schema.orders.c.id == order_id)
            ).scalar_one()
            target = "仓库" if order.status.before_shipment else (order.carrier or "快递公司")
            return UrgeReceipt(order_id, int(times), target)

        return await self._db.run("orders.urge", work, write=True)


class StubLogistics:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def get_shipment(self, order_id: str) -> Shipment | None:
        def work(conn: Connection) -> Shipment | None:
            row = conn.execute(select(schema.orders).where(schema.orders.c.id == order_id)).first()
            if row is None or not row.waybill:
                return None
            nodes = conn.execute(
                select(schema.trace_nodes).where(schema.trace_nodes.c.order_id == order_id)
                .order_by(schema.trace_nodes.c.time, schema.trace_nodes.c.id)
            ).all()
            return Shipment(
                order_id=order_id,
                carrier=row.carrier,
                waybill=row.waybill,
                nodes=tuple(TraceNode(n.time, n.description) for n in nodes),
                eta=row.eta.date() if row.eta else None,
                signed_at=row.signed_at,
            )

        return await self._db.run("logistics.get_shipment", work)


def _customer(row: Row) -> Customer:
    return Customer(
        id=row.id, name=row.name, phone=row.phone, tier=MemberTier(row.tier),
        tags=tuple(t for t in row.tags.split(",") if t), points=row.points, city=row.city,
    )


class StubCustomers:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def get_customer(self, customer_id: str) -> Customer | None:
        def work(conn: Connection) -> Customer | None:
            row = conn.execute(select(schema.customers).where(schema.customers.c.id == customer_id.upper())).first()
            return _customer(row) if row else None

        return await self._db.run("customers.get_customer", work)

    async def find_by_phone(self, phone: str) -> Customer | None:
        def work(conn: Connection) -> Customer | None:
            row = conn.execute(select(schema.customers).where(schema.customers.c.phone == phone)).first()
            return _customer(row) if row else None

        return await self._db.run("customers.find_by_phone", work)


def _product(row: Row) -> Product:
    return Product(
        sku=row.sku, name=row.name, brand=row.brand, category=row.category,
        price=_yuan(row.price_fen), warranty_months=row.warranty_months,
        specs=json.loads(row.specs_json), aliases=tuple(a for a in row.aliases.split(",") if a),
    )


def _match_score(product: Product, text: str) -> int:
    """How well `text` names `product`: full name beats model code beats category word."""
    folded = text.lower().replace(" ", "")
    if product.name.lower().replace(" ", "") in folded:
        return 100
    best = 0
    for alias in product.aliases:
        if alias.lower() in folded:
            best = max(best, 50 if alias.isascii() else 10 + len(alias))
    return best


class StubProducts:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def get_product(self, sku: str) -> Product | None:
        def work(conn: Connection) -> Product | None:
            row = conn.execute(select(schema.products).where(schema.products.c.sku == sku)).first()
            return _product(row) if row else None

        return await self._db.run("products.get_product", work)

    async def search(self, text: str, limit: int = 5) -> list[Product]:
        def work(conn: Connection) -> list[Product]:
            scored = [(_match_score(p, text), p) for p in map(_product, conn.execute(select(schema.products)))]
            ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1].sku))
            return [p for _, p in ranked[:limit]]

        return await self._db.run("products.search", work)

    async def stock(self, sku: str) -> list[StockLevel]:
        def work(conn: Connection) -> list[StockLevel]:
            rows = conn.execute(
                select(schema.stock).where(schema.stock.c.sku == sku).order_by(schema.stock.c.quantity.desc())
            )
            return [StockLevel(r.warehouse, r.quantity) for r in rows]

        return await self._db.run("products.stock", work)


def _refund(row: Row) -> Refund:
    return Refund(
        id=row.id, order_id=row.order_id, amount=_yuan(row.amount_fen), status=RefundStatus(row.status),
        created_at=row.created_at, expected_workdays=row.expected_workdays, reason=row.reason,
    )


class StubRefunds:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def get_refund(self, refund_id: str) -> Refund | None:
        def work(conn: Connection) -> Refund | None:
            row = conn.execute(select(schema.refunds).where(schema.refunds.c.id == refund_id.upper())).first()
            return _refund(row) if row else None

        return await self._db.run("refunds.get_refund", work)

    async def refunds_for_order(self, order_id: str) -> list[Refund]:
        def work(conn: Connection) -> list[Refund]:
            rows = conn.execute(
                select(schema.refunds).where(schema.refunds.c.order_id == order_id)
                .order_by(schema.refunds.c.created_at.desc())
            )
            return [_refund(r) for r in rows]

        return await self._db.run("refunds.refunds_for_order", work)

    async def create_refund(self, order_id: str, amount: Decimal, reason: str) -> Refund:
        def work(conn: Connection) -> Refund:
            _one_order(conn, order_id)
            rid = self._db.next_id(conn, schema.refunds, "R")
            row = {"id": rid, "order_id": order_id, "amount_fen": int(amount * 100),
                   "status": RefundStatus.PROCESSING.value, "created_at": self._db.clock.now(),
                   "expected_workdays": 3, "reason": reason[:200]}
            conn.execute(schema.refunds.insert(), row)
            return _refund(conn.execute(select(schema.refunds).where(schema.refunds.c.id == rid)).one())

        return await self._db.run("refunds.create_refund", work, write=True)


class StubInvoices:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def request_invoice(
        self, order_id: str, title: str, tax_id: str | None, email: str
    ) -> InvoiceRequest:
        def work(conn: Connection) -> InvoiceRequest:
            _one_order(conn, order_id)
            iid = self._db.next_id(conn, schema.invoices, "INV")
            now = self._db.clock.now()
            conn.execute(schema.invoices.insert(), {
                "id": iid, "order_id": order_id, "title": title, "tax_id": tax_id, "email": email,
                "status": "开票中", "created_at": now,
            })
            return InvoiceRequest(iid, order_id, title, tax_id, email, "开票中", now)

        return await self._db.run("invoices.request_invoice", work, write=True)

    async def invoices_for_order(self, order_id: str) -> list[InvoiceRequest]:
        def work(conn: Connection) -> list[InvoiceRequest]:
            rows = conn.execute(select(schema.invoices).where(schema.invoices.c.order_id == order_id))
            return [InvoiceRequest(r.id, r.order_id, r.title, r.tax_id, r.email, r.status, r.created_at) for r in rows]

        return await self._db.run("invoices.invoices_for_order", work)


def _case(row: Row) -> AfterSalesCase:
    return AfterSalesCase(
        id=row.id, kind=CaseKind(row.kind), order_id=row.order_id, reason=row.reason, status=row.status,
        created_at=row.created_at, detail=row.detail, contact_phone=row.contact_phone,
        preferred_time=row.preferred_time,
    )


class StubAfterSales:
    def __init__(self, db: StubDatabase) -> None:
        self._db = db

    async def create_case(
        self,
        kind: CaseKind,
        order_id: str,
        reason: str,
        detail: str = "",
        contact_phone: str | None = None,
        preferred_time: str | None = None,
    ) -> AfterSalesCase:
        def work(conn: Connection) -> AfterSalesCase:
            _one_order(conn, order_id)
            cid = self._db.next_id(conn, schema.cases, CASE_PREFIX[kind])
            conn.execute(schema.cases.insert(), {
                "id": cid, "kind": kind.value, "order_id": order_id, "reason": reason[:200],
                "status": "待审核", "created_at": self._db.clock.now(), "detail": detail,
                "contact_phone": contact_phone, "preferred_time": preferred_time,
            })
            return _case(conn.execute(select(schema.cases).where(schema.cases.c.id == cid)).one())

        return await self._db.run("aftersales.create_case", work, write=True)

    async def cases_for_order(self, order_id: str) -> list[AfterSalesCase]:
        def work(conn: Connection) -> list[AfterSalesCase]:
            rows = conn.execute(
                select(schema.cases).where(schema.cases.c.order_id == order_id).order_by(schema.cases.c.created_at)
            )
            return [_case(r) for r in rows]

        return await self._db.run("aftersales.cases_for_order", work)

    async def repair_history(self, order_id: str) -> list[RepairRecord]:
        def work(conn: Connection) -> list[RepairRecord]:
            rows = conn.execute(
                select(schema.repair_history).where(schema.repair_history.c.order_id == order_id)
                .order_by(schema.repair_history.c.reported_at)
            )
            return [RepairRecord(r.order_id, r.reported_at, r.fault, r.result) for r in rows]

        return await self._db.run("aftersales.repair_history", work)


def stub_backends(db: StubDatabase) -> Backends:
    return Backends(
        orders=StubOrders(db),
        logistics=StubLogistics(db),
        customers=StubCustomers(db),
        products=StubProducts(db),
        refunds=StubRefunds(db),
        invoices=StubInvoices(db),
        aftersales=StubAfterSales(db),
    )
