"""Order rules: which order the customer means, address change, cancel, urge."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from actions.deps import Services
from service.access import AccessDenied, Need
from service.errors import InvalidInput, NotAllowed
from service.identity import ANONYMOUS, Identity, Proof
from service.models import OrderStatus
from service.orders import Purpose, address_change_block, fits, normalise_order_id, pick_mentioned

ZHANG = Identity("C001", Proof.SIGNED)
LI = Identity("C002", Proof.OTP)


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


async def test_lookup_by_waybill(services: Services) -> None:
    assert (await services.orders.by_waybill("sf1234567890")).id == "E202611010001"


async def test_ownership_is_checked(services: Services) -> None:
    await services.orders.get_for("E202611010001", ZHANG)
    with pytest.raises(AccessDenied, match="not_owner"):
        await services.orders.get_for("E202611010001", LI)
    with pytest.raises(AccessDenied, match="proof_needed"):
        await services.orders.get_for("E202611010001", ANONYMOUS)
    with pytest.raises(AccessDenied, match="order_proof_needed"):
        await services.orders.get_for("E202611010001", ANONYMOUS, Need.STATUS)
    one_order = Identity(proof=Proof.ORDER, order_id="E202611010001")
    await services.orders.get_for("E202611010001", one_order, Need.STATUS)
    with pytest.raises(AccessDenied, match="proof_needed"):  # status and logistics, nothing else
        await services.orders.get_for("E202611010001", one_order)
    with pytest.raises(AccessDenied):  # and only that order
        await services.orders.get_for("E202611150002", one_order, Need.STATUS)


async def test_nobody_changes_an_order_without_owning_it(services: Services) -> None:
    for stranger in (ANONYMOUS, LI, Identity(proof=Proof.ORDER, order_id="E202611150002")):
        with pytest.raises(AccessDenied):
            await services.orders.cancel("E202611150002", "不想要了", stranger)
        with pytest.raises(AccessDenied):
            await services.orders.change_address("E202611150002", "上海市浦东新区世纪大道1号2楼", stranger)
        with pytest.raises(AccessDenied):
            await services.orders.urge("E202611150002", stranger)
    assert (await services.orders.get("E202611150002")).status is OrderStatus.PAID


async def test_address_change_only_before_shipment(services: Services) -> None:
    changed = await services.orders.change_address("E202611150002", "上海市浦东新区世纪大道1号2楼", ZHANG)
    assert (changed.address.city, changed.address.district, changed.address.detail) == ("上海市", "浦东新区", "世纪大道1号2楼")
    shipped = await services.orders.get("E202611010001")
    assert address_change_block(shipped) == "shipped"
    with pytest.raises(NotAllowed):
        await services.orders.change_address("E202611010001", "上海市浦东新区世纪大道1号", ZHANG)
    with pytest.raises(InvalidInput):
        await services.orders.change_address("E202611150002", "随便哪里", ZHANG)


async def test_cancel_only_unshipped(services: Services) -> None:
    cancelled = await services.orders.cancel("E202611150002", "不想要了", ZHANG)
    assert cancelled.status is OrderStatus.CANCELLED
    with pytest.raises(NotAllowed):
        await services.orders.cancel("E202611010001", "不想要了", ZHANG)


async def test_urging_counts_and_targets(services: Services) -> None:
    first = await services.orders.urge("E202611150002", ZHANG)
    second = await services.orders.urge("E202611150002", ZHANG)
    assert (first.times, second.times, first.target) == (1, 2, "仓库")
    assert (await services.orders.urge("E202611010001", ZHANG)).target == "顺丰速运"
    with pytest.raises(NotAllowed):
        await services.orders.urge("E202610200003", ZHANG)


async def test_a_product_word_names_the_order_by_the_catalogue(services: Services) -> None:
    # 裙子 is the catalogue's alias of 连衣裙; 衣服 names its category (服装)
    for words in ("裙子", "连衣裙", "衣服"):
        mention = await services.orders.mentioned_order("C002", words)
        assert [o.id for o in mention.matches] == ["E202611120004"], words
        assert mention.chosen is not None and mention.chosen.id == "E202611120004"
    assert (await services.orders.mentioned_order("C002", "耳机")).matches == ()
    # a longer name wins over an alias inside it: 蓝牙耳机 is the X1, not any 耳机
    assert [o.id for o in await services.orders.mentioned("C001", "蓝牙耳机")] == ["E202611010001"]


async def test_several_orders_of_the_named_product_are_no_choice(services: Services) -> None:
    dress = await services.orders.get("E202611120004")
    now = services.clock.now()
    old_dress = replace(dress, id="E202609010009", created_at=datetime(2026, 9, 1, 9, 0),
                        signed_at=datetime(2026, 9, 3, 9, 0))
    products = {dress.items[0].sku: await services.products.find("连衣裙")}
    catalogue = {sku: found[0] for sku, found in products.items()}
    mention = pick_mentioned([dress, old_dress], "裙子", "", now, catalogue)
    assert mention.chosen is None and [o.id for o in mention.matches] == ["E202611120004", "E202609010009"]
    # among equals, the one that can still be returned
    assert pick_mentioned([dress, old_dress], "裙子", "", now, catalogue, Purpose.RETURN).chosen == dress


async def test_candidates_are_the_orders_that_fit_the_purpose(services: Services) -> None:
    async def ids(customer: str, purpose: Purpose) -> list[str]:
        return [o.id for o in await services.orders.candidates(customer, purpose)]

    assert await ids("C002", Purpose.REFUND) == ["E202611120004"]  # the one with a refund
    assert await ids("C002", Purpose.RETURN) == ["E202611120004"]  # 面霜 is past the 15 days
    assert await ids("C001", Purpose.LOGISTICS) == ["E202611010001"]  # the one parcel on its way
    assert await ids("C001", Purpose.RETURN) == []
    assert len(await ids("C001", Purpose.STATUS)) > 1
