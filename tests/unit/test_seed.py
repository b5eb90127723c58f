"""The demo dataset: the design's contract records exactly, the volumes, determinism."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from actions.deps import Services, build_services
from service.backends import build_backends
from service.backends.base import Backends
from service.backends.seed import DEMO_DAY, build_dataset, seed, seeded_for, shifted
from service.clock import fixed_clock
from service.db import make_engine
from service.models import MemberTier, OrderStatus, RefundStatus
from service.orders import Purpose, fits
from service.refunds import price_drop
from service.settings import load_settings
from service.tickets import build_ticket_service


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


def _walkthrough_services(tmp_path: Path, moment: datetime) -> Services:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path / moment.date().isoformat())})
    clock = fixed_clock(moment)
    return build_services(build_backends(settings, clock), clock, build_ticket_service(settings, clock), settings=settings)


@pytest.mark.parametrize("moment", [datetime(2026, 11, 21, 10, 0), datetime(2027, 3, 9, 15, 30)])
async def test_the_walkthrough_reads_true_on_any_business_day(tmp_path: Path, moment: datetime) -> None:
    services = _walkthrough_services(tmp_path, moment)
    now = services.clock.now()
    earbuds = await services.orders.get("E202611010001")
    tracking = await services.logistics.track(earbuds)
    assert earbuds.status is OrderStatus.SHIPPED and tracking.shipment is not None
    assert tracking.shipment.signed_at is None and not tracking.delayed  # in transit, not late
    assert "杭州转运中心" in tracking.latest_text
    assert tracking.eta == moment.date() + timedelta(days=1)  # 预计 明天 送达, as on 11-21

    fryer = await services.orders.get("E202611150002")
    product = await services.backends.products.get_product(fryer.items[0].sku)
    assert product is not None
    drop = price_drop(fryer, {product.sku: product.price}, now)  # inside 价保 (raises when expired)
    assert drop.amount == Decimal("30")
    assert fits(Purpose.PRICE_PROTECTION, fryer, now)

    refund = await services.refunds.get("R202611130001")
    assert (refund.order_id, refund.status) == ("E202611120004", RefundStatus.PROCESSING)
    dress = await services.orders.get("E202611120004")
    assert dress.signed_at is not None and (now.date() - dress.signed_at.date()).days == 8  # 7-day window closed


def test_a_later_business_day_moves_only_the_dates() -> None:
    on_demo_day, later = build_dataset(), build_dataset(date(2027, 3, 9))
    assert build_dataset(DEMO_DAY).tables == on_demo_day.tables
    days = (date(2027, 3, 9) - DEMO_DAY).days
    assert shifted(on_demo_day, days).tables == later.tables
    first = next(o for o in later.rows("orders") if o["id"] == "E202611010001")
    assert first["created_at"] == datetime(2026, 11, 1, 10, 12) + timedelta(days=days)
    assert first["waybill"] == "SF1234567890"


def test_a_seeded_database_knows_its_day(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'stub.db'}")
    assert seed(engine, date(2027, 3, 9))
    assert not seed(engine, date(2027, 3, 10))  # seeded once: the data stays (and a warning says it is dated)
    with engine.connect() as conn:
        assert seeded_for(conn) == date(2027, 3, 9)
    engine.dispose()
