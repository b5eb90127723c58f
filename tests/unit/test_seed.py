"""The demo dataset: the design's contract records exactly, the volumes, determinism."""

from __future__ import annotations

from decimal import Decimal

from service.backends.base import Backends
from service.backends.seed import build_dataset
from service.models import MemberTier, OrderStatus, RefundStatus


async def test_contract_customers(backends: Backends) -> None:
    zhang = await backends.customers.get_customer("C001")
    assert zhang is not None
    assert (zhang.name, zhang.phone, zhang.tier, zhang.tags) == ("张伟", "13800138000", MemberTier.GOLD, ("高价值客户",))
    assert zhang.is_vip
    li = await backends.customers.get_customer("C002")
    assert li is not None
    assert (li.name, li.phone, li.tier) == ("李娜", "13900139000", MemberTier.REGULAR)
    assert not li.is_vip


async def test_contract_orders(backends: Backends) -> None:
    earbuds = await backends.orders.get_order("E202611010001")
    assert earbuds is not None
    assert earbuds.customer_id == "C001" and earbuds.total == Decimal("399")
    assert [(i.product_name, i.quantity) for i in earbuds.items] == [("蓝牙耳机 X1", 1)]
    assert (earbuds.status, earbuds.carrier, earbuds.waybill) == (OrderStatus.SHIPPED, "顺丰速运", "SF1234567890")
    shipment = await backends.logistics.get_shipment("E202611010001")
    assert shipment is not None and shipment.latest is not None
    assert shipment.latest.description == "快件已到达【杭州转运中心】"

    fryer = await backends.orders.get_order("E202611150002")
    assert fryer is not None
    assert (fryer.customer_id, fryer.items[0].product_name, fryer.total, fryer.status) == (
        "C001", "空气炸锅 AF5", Decimal("299"), OrderStatus.PAID)

    fridge = await backends.orders.get_order("E202610200003")
    assert fridge is not None and fridge.signed_at is not None
    assert (fridge.items[0].product_name, fridge.total, fridge.status) == ("冰箱 BCD-470", Decimal("3999"), OrderStatus.SIGNED)
    assert fridge.signed_at.date().isoformat() == "2026-10-25"
    assert len(await backends.aftersales.repair_history("E202610200003")) == 1

    dress = await backends.orders.get_order("E202611120004")
    assert dress is not None
    assert (dress.customer_id, dress.items[0].product_name, dress.total, dress.status) == (
        "C002", "连衣裙", Decimal("259"), OrderStatus.SIGNED)
    refund = await backends.refunds.get_refund("R202611130001")
    assert refund is not None
    assert (refund.order_id, refund.status, refund.expected_workdays) == ("E202611120004", RefundStatus.PROCESSING, 3)


async def test_contract_product_stock(backends: Backends) -> None:
    found = await backends.products.search("蓝牙耳机 X1")
    assert found[0].name == "蓝牙耳机 X1"
    stock = {s.warehouse: s.quantity for s in await backends.products.stock(found[0].sku)}
    assert stock["杭州仓"] == 100


def test_volumes_and_determinism() -> None:
    first, second = build_dataset(), build_dataset()
    assert first.tables == second.tables
    assert len(first.rows("customers")) >= 50
    assert len(first.rows("orders")) >= 200
    assert len({o["id"] for o in first.rows("orders")}) == len(first.rows("orders"))
    shipped = [o for o in first.rows("orders") if o["status"] in ("已发货", "已签收")]
    traced = {n["order_id"] for n in first.rows("trace_nodes")}
    assert all(o["id"] in traced for o in shipped)
    assert len(first.rows("refunds")) >= 5 and len(first.rows("repair_history")) >= 3
    phones = [c["phone"] for c in first.rows("customers")]
    assert len(set(phones)) == len(phones)
