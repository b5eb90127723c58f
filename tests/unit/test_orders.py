"""Order rules: which order the customer means, address change, cancel, urge."""

from __future__ import annotations

import pytest

from actions.deps import Services
from service.errors import InvalidInput, NotAllowed, NotFound
from service.models import OrderStatus
from service.orders import Purpose, address_change_block, fits, normalise_order_id


def test_order_ids_are_found_in_text_and_upper_cased() -> None:
    assert normalise_order_id("订单号e202611010001的物流") == "E202611010001"
    assert normalise_order_id("E2026110100011") is None
    assert normalise_order_id("没有订单号") is None


async def test_last_week_earbuds_resolve_to_the_matching_order(services: Services) -> None:
    matches = await services.orders.mentioned("C001", "耳机", "上周")
    assert matches[0].id == "E202611010001"
    fridge = await services.orders.mentioned("C001", "冰箱")
    assert fridge[0].id == "E202610200003"
    assert await services.orders.mentioned("C001", "洗衣机") == []


async def test_recent_orders_and_purpose_filter(services: Services) -> None:
    recent = await services.orders.recent("C001")
    ids = [o.id for o in recent]
    assert ids[:3] == ["E202611150002", "E202611010001", "E202610200003"]
    now = services.clock.now()
    assert [o.id for o in recent if fits(Purpose.CANCEL, o, now)] == ["E202611150002"]
    assert [o.id for o in recent if fits(Purpose.LOGISTICS, o, now)][0] == "E202611010001"


async def test_lookup_by_waybill_and_phone(services: Services) -> None:
    assert (await services.orders.by_waybill("sf1234567890")).id == "E202611010001"
    lookup = await services.orders.by_phone("13900139000")
    assert lookup.customer_id == "C002"
    with pytest.raises(NotFound):
        await services.orders.by_phone("13000000000")


async def test_ownership_is_checked(services: Services) -> None:
    await services.orders.get_for("E202611010001", "C001")
    with pytest.raises(NotAllowed):
        await services.orders.get_for("E202611010001", "C002")


async def test_address_change_only_before_shipment(services: Services) -> None:
    changed = await services.orders.change_address("E202611150002", "上海市浦东新区世纪大道1号2楼")
    assert (changed.address.city, changed.address.district, changed.address.detail) == ("上海市", "浦东新区", "世纪大道1号2楼")
    shipped = await services.orders.get("E202611010001")
    assert address_change_block(shipped) == "shipped"
    with pytest.raises(NotAllowed):
        await services.orders.change_address("E202611010001", "上海市浦东新区世纪大道1号")
    with pytest.raises(InvalidInput):
        await services.orders.change_address("E202611150002", "随便哪里")


async def test_cancel_only_unshipped(services: Services) -> None:
    cancelled = await services.orders.cancel("E202611150002", "不想要了")
    assert cancelled.status is OrderStatus.CANCELLED
    with pytest.raises(NotAllowed):
        await services.orders.cancel("E202611010001", "不想要了")


async def test_urging_counts_and_targets(services: Services) -> None:
    first = await services.orders.urge("E202611150002")
    second = await services.orders.urge("E202611150002")
    assert (first.times, second.times, first.target) == (1, 2, "仓库")
    assert (await services.orders.urge("E202611010001")).target == "顺丰速运"
    with pytest.raises(NotAllowed):
        await services.orders.urge("E202610200003")
