"""Logistics: the arrival question, the expected day, lateness."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from service.logistics import asks_arrival, estimated_arrival, is_delayed
from service.models import Shipment, TraceNode


@pytest.mark.parametrize("text", ["什么时候能到啊", "那它什么时候到", "几号能送到", "明天能到吗", "大概多久到", "预计哪天送达"])
def test_arrival_questions(text: str) -> None:
    assert asks_arrival(text)


@pytest.mark.parametrize("text", ["到哪了", "查一下物流", "我的快递在哪", "物流信息", "什么时候发货"])
def test_where_is_it_is_no_arrival_question(text: str) -> None:
    assert not asks_arrival(text)


def test_the_expected_day_is_the_carriers_or_computed_from_the_trace() -> None:
    nodes = (TraceNode(datetime(2026, 11, 20, 9, 30), "【杭州仓】商品已出库"),)
    with_eta = Shipment("E1", "顺丰速运", "SF1", nodes, eta=date(2026, 11, 22))
    assert estimated_arrival(with_eta) == date(2026, 11, 22)
    without = Shipment("E1", "顺丰速运", "SF1", nodes)
    assert estimated_arrival(without) == date(2026, 11, 23)
    assert not is_delayed(without, date(2026, 11, 23)) and is_delayed(without, date(2026, 11, 24))
    assert estimated_arrival(Shipment("E1", "顺丰速运", "SF1", ())) is None
