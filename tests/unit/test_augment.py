"""Dressed training examples: the same for the same data, never for greetings and thanks, never twice."""

from __future__ import annotations

from understanding.augment import UNDRESSED, dressed


def test_the_same_data_is_dressed_the_same_way_and_kept_first() -> None:
    texts, labels = ["查下物流", "我要退货", "你好", "谢谢"], ["query_logistics", "return_request", "greet", "thank"]
    once, again = dressed(texts, labels, copies=2, seed=7), dressed(texts, labels, copies=2, seed=7)
    assert once == again
    assert once[0][:4] == texts and once[1][:4] == labels  # the examples as written come first, untouched


def test_greetings_thanks_and_goodbyes_stay_bare_and_no_variant_repeats() -> None:
    texts = ["你好", "谢谢啦", "拜拜", *[f"发票开错了{i}" for i in range(50)]]
    labels = ["greet", "thank", "goodbye", *["request_invoice"] * 50]
    out_texts, out_labels = dressed(texts, labels, copies=3)
    added = list(zip(out_texts[len(texts):], out_labels[len(texts):], strict=True))
    assert added and all(label not in UNDRESSED for _, label in added)
    assert len(set(out_texts)) == len(out_texts)
    assert all(any(base in text for base in texts[3:]) for text, _ in added)
