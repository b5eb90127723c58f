"""Is the customer talking about their own order? Dense cues tried beside the intent classifier's features.

A variant of bench/nlu_ab.py only, not part of the model: on 2026-12-03 it won one out_of_scope message and lost
more elsewhere at every weight (docs/nlu.md).

「运费怎么算」 is a policy question (faq); 「这单帮我包好一点」 or 「我买的冰箱明天几点装」 is a request about one
order, which the bot either handles as a task or cannot do (out_of_scope). The TF-IDF n-grams see 这单 or 帮我
one string at a time; these cues group the general customer-service signs of "my own order" so the
regression can learn them once: an order number, words pointing at one's own purchase, the goods having
arrived, asking the shop to do something, and a date or time of day.

`own_order_features(texts)` reads texts as `understanding/normalize.py` gives them (lower case, half-width,
simplified) and returns one 0/1 column per cue group, in `CUE_GROUPS` order. Pure and cheap: no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Each group: general Chinese customer-service wording, not taken from any evaluation set.
_PATTERNS: dict[str, str] = {
    # an order, waybill or phone number (e202611010001, a 10+ digit JD number, sf1234567890), or the word for it
    "order_number": r"(?<![a-z0-9])[a-z]{0,4}\d{10,}(?![0-9])|订单号|单号|运单号",
    # pointing at one's own purchase: 这单, 我的订单, 我买的, 我家, 我下的, 我刚拍的 …
    "my_order": r"[这那]个?单|[这那]个订单|我的(?:订单|单子|快递|包裹|货|东西|商品)|我(?:刚|刚刚|昨天|前天|今天|上周)?"
                r"(?:买|下|订|拍|购买)的|我下单|我家|我们家",
    # the goods reached the customer (or are about to)
    "arrived": r"(?<![看找想听遇做得])到了|到货|签收|收到|送到|送来|送过来|派送",
    # asking the shop to act
    "asking": r"帮我|给我|麻烦|帮忙|替我",
    # a day or a time: 明天, 周六, 下周, 下午, 3点, 11月20日, 10:30
    "when": r"今天|明天|后天|今晚|明早|周[一二三四五六日天末]|星期[一二三四五六日天]|礼拜[一二三四五六日天]|"
            r"[这下]周|[上下]午|晚上|几点|\d{1,2}点|\d{1,2}号|\d{1,2}月\d{1,2}[日号]?|\d{1,2}:\d{2}",
}
CUE_GROUPS: tuple[str, ...] = tuple(_PATTERNS)
_COMPILED = tuple(re.compile(p) for p in _PATTERNS.values())


def own_order_cues(text: str) -> frozenset[str]:
    """The cue groups found in one normalised text."""
    return frozenset(name for name, pattern in zip(CUE_GROUPS, _COMPILED, strict=True) if pattern.search(text))


def own_order_features(texts: Sequence[str], weight: float = 1.0) -> np.ndarray:
    """(len(texts), len(CUE_GROUPS)) float32: `weight` where a cue group is present, else 0."""
    out = np.zeros((len(texts), len(CUE_GROUPS)), dtype=np.float32)
    for row, text in enumerate(texts):
        for column, pattern in enumerate(_COMPILED):
            if pattern.search(text):
                out[row, column] = weight
    return out
