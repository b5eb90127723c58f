from datetime import datetime
from decimal import Decimal

import pytest

from actions.deps import Services
from service.access import AccessDenied
from service.errors import NotAllowed, NotFound
from service.identity import ANONYMOUS, Identity, Proof
from service.refunds import add_workdays

ZHANG = Identity("C001", Proof.SIGNED)
LI = Identity("C002", Proof.SIGNED)


def test_working_days_skip_weekends() -> None:
    friday = datetime(2026, 11, 13, 15, 30)
    assert add_workdays(friday, 3).date().isoformat() == "2026-11-18"


async def test_refund_by_id_and_by_order(services: Services) -> None:
    refund = await services.refunds.get("r202611130001")
    assert refund.amount == Decimal("259")
    assert services.refunds.expected_by(refund).date().isoformat() == "2026-11-18"
    assert (await services.refunds.latest_for_order("E202611120004")).id == "R202611130001"
    assert await services.refunds.latest_for_order("E202611150002") is None
    with pytest.raises(NotFound):
        await services.refunds.get("R209901010001")


async def test_a_refund_is_its_buyers_business_only(services: Services) -> None:
    assert (await services.refunds.get_for("R202611130001", LI)).order_id == "E202611120004"
    with pytest.raises(AccessDenied, match="not_owner"):
        await services.refunds.get_for("R202611130001", ZHANG)
    with pytest.raises(AccessDenied, match="proof_needed"):
        await services.refunds.get_for("R202611130001", ANONYMOUS)
    with pytest.raises(AccessDenied):  # an anonymous order proof opens status and logistics only
        await services.refunds.get_for("R202611130001", Identity(proof=Proof.ORDER, order_id="E202611120004"))


async def test_price_protection_pays_the_difference_once(services: Services) -> None:
    fryer = await services.orders.get("E202611150002")  # paid 299, now 269
    with pytest.raises(AccessDenied):
        await services.refunds.price_protect(fryer, LI)
    drop, refund = await services.refunds.price_protect(fryer, ZHANG)
    assert (drop.paid, drop.current, drop.amount) == (Decimal("299"), Decimal("269"), Decimal("30"))
    assert refund.id.startswith("R20261121")
    with pytest.raises(NotAllowed, match="already_done"):
        await services.refunds.price_protect(fryer, ZHANG)


async def test_price_protection_refusals(services: Services) -> None:
    earbuds = await services.orders.get("E202611010001")  # ordered 20 days ago
    with pytest.raises(NotAllowed, match="expired"):
        await services.refunds.price_protect(earbuds, ZHANG)
