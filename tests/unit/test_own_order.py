"""The "about my own order" cues: which general wording sets which column, and what stays zero."""

from __future__ import annotations

import numpy as np
import pytest

from bench.own_order_cues import CUE_GROUPS, own_order_cues, own_order_features
from understanding.normalize import Normalizer


@pytest.mark.parametrize(("text", "groups"), [
    ("订单e202611010001什么时候发货", {"order_number"}),
    ("单号sf1234567890查不到", {"order_number"}),
    ("这单帮我包好一点", {"my_order", "asking"}),
    ("我买的冰箱明天几点装", {"my_order", "when"}),
    ("我的订单能改一下吗", {"my_order"}),
    ("我家的热水器坏了", {"my_order"}),
    ("东西到了但是少了一件", {"arrived"}),
    ("签收了还能退吗", {"arrived"}),
    ("麻烦给我改成周六送", {"asking", "when"}),
    ("11月20日 10:30 在家", {"when"}),
])
def test_each_group_reads_general_customer_service_wording(text: str, groups: set[str]) -> None:
    assert own_order_cues(text) == groups


@pytest.mark.parametrize("text", ["运费怎么算", "七天无理由退货怎么算", "支持货到付款吗", "你好", "7日内可以退吗",
                                  "我找到了", "你们是机器人吗"])
def test_policy_questions_and_small_talk_set_no_cue(text: str) -> None:
    assert own_order_cues(text) == frozenset()


def test_features_are_one_weighted_column_per_group_in_order() -> None:
    features = own_order_features(["这单明天能到吗", "运费怎么算", ""], weight=0.5)
    assert features.shape == (3, len(CUE_GROUPS)) and features.dtype == np.float32
    assert dict(zip(CUE_GROUPS, features[0], strict=True)) == {
        "order_number": 0.0, "my_order": 0.5, "arrived": 0.0, "asking": 0.0, "when": 0.5}
    assert not features[1:].any()
    assert own_order_features([]).shape == (0, len(CUE_GROUPS))


def test_it_reads_the_normalised_text_the_classifier_sees() -> None:
    normalised = Normalizer().normalize("這單ＥＤ202611010001幫我改下")  # traditional, full-width, upper case
    assert own_order_cues(normalised) == {"my_order", "order_number", "asking"}
