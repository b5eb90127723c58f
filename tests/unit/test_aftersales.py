"""Return/exchange eligibility (7 / 15 days), warranty and repair requests."""

from __future__ import annotations

from datetime import datetime

import pytest

from actions.deps import Services
from service.aftersales import ReasonKind, classify_reason, describes_fault, return_eligibility
from service.errors import NotAllowed
from service.models import CaseKind


def test_reasons_are_classified() -> None:
    assert classify_reason("尺码小了") is ReasonKind.CUSTOMER
    assert classify_reason("不想要了") is ReasonKind.CUSTOMER
    assert classify_reason("质量问题，开线了") is ReasonKind.MERCHANT
    assert classify_reason("发错货了") is ReasonKind.MERCHANT


async def test_seven_and_fifteen_day_windows(services: Services) -> None:
    dress = await services.orders.get("E202611120004")  # signed 2026-11-13
    assert return_eligibility(dress, ReasonKind.CUSTOMER, datetime(2026, 11, 20, 23, 0)).allowed
    late = return_eligibility(dress, ReasonKind.CUSTOMER, datetime(2026, 11, 21, 9, 0))
    assert (late.allowed, late.code, late.deadline.isoformat()) == (False, "no_reason_expired", "2026-11-20")
    assert return_eligibility(dress, ReasonKind.MERCHANT, datetime(2026, 11, 28, 9, 0)).allowed
    assert return_eligibility(dress, ReasonKind.MERCHANT, datetime(2026, 11, 29, 9, 0)).code == "quality_expired"


async def test_not_received_orders_cannot_be_returned(services: Services) -> None:
    earbuds = await services.orders.get("E202611010001")
    assert services.aftersales.eligibility(earbuds, "不想要了").code == "not_received"
    with pytest.raises(NotAllowed):
        await services.aftersales.open_return(earbuds, CaseKind.RETURN, "不想要了")


async def test_quality_return_creates_a_case(services: Services) -> None:
    dress = await services.orders.get("E202611120004")
    case = await services.aftersales.open_return(dress, CaseKind.EXCHANGE, "质量问题，脱线")
    assert case.id.startswith("EX20261121") and case.kind is CaseKind.EXCHANGE
    assert case.reason.startswith("商家原因")


async def test_fridge_warranty_and_repair(services: Services) -> None:
    fridge = await services.orders.get("E202610200003")
    warranty = await services.aftersales.warranty(fridge)
    assert warranty.active and warranty.until.isoformat() == "2029-10-25"
    assert warranty.repairs[0].fault == "冷藏室不制冷"
    case = await services.aftersales.open_repair(fridge, "不制冷", "13800138000", "2026-11-22（周日）上午")
    assert case.id.startswith("RP") and case.reason == "保修期内维修"


def test_concrete_symptoms_are_recognised() -> None:
    assert describes_fault("冰箱不制冷了")
    assert not describes_fault("我上周买的耳机坏了")
