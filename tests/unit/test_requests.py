"""Two requests in one message: where a message splits, and when the second clause is a request of its own."""

from __future__ import annotations

import pytest

from understanding.requests import (
    NEXT_REQUEST,
    REQUEST_INTENTS,
    Clause,
    decide,
    request_clauses,
    split_requests,
    two_requests,
)


@pytest.mark.parametrize("text, clauses", [
    ("查下物流，顺便开个发票", ["查下物流", "开个发票"]),
    ("查下物流顺便开个发票", ["查下物流", "开个发票"]),  # 顺便 needs no comma
    ("帮我查下订单，另外我想退货", ["帮我查下订单", "我想退货"]),
    ("我的快递到哪了 还有 帮我开个发票", ["我的快递到哪了", "帮我开个发票"]),  # spaces are customers' commas
    ("查物流，还有一个问题，发票怎么开", ["查物流", "发票怎么开"]),  # the filler goes with the connector
    ("查下物流，再帮我开个发票", ["查下物流", "帮我开个发票"]),
    ("查下物流，再开张发票", ["查下物流", "开张发票"]),
    ("先查下物流，然后再帮我开个发票", ["先查下物流", "帮我开个发票"]),
    ("查下物流；开个发票", ["查下物流", "开个发票"]),
    ("查一下订单状态; 我要退货", ["查一下订单状态", "我要退货"]),
    ("帮我催一下发货，同时把地址改一下", ["帮我催一下发货", "把地址改一下"]),
    ("查下物流，以及退款到哪了", ["查下物流", "退款到哪了"]),
    ("帮我开个发票，我还想查下物流", ["帮我开个发票", "查下物流"]),
    ("查下物流！顺便问下退款到账没", ["查下物流", "问下退款到账没"]),
    ("查物流，顺便开发票，另外我要退货", ["查物流", "开发票", "我要退货"]),
])
def test_connectors_that_join_two_requests_split_the_message(text: str, clauses: list[str]) -> None:
    assert split_requests(text) == clauses


@pytest.mark.parametrize("text", [
    "还没到",
    "再见",
    "行 那就这样 再见",
    "就这些了，再会",
    "退货还要运费吗",
    "买了运费险退货还要付钱吗",
    "我的快递到哪了，还有几天能到",  # 还有 + how long: "still"
    "这个耳机，还有货吗",
    "现在到武汉了吗 还要多久到长沙",
    "查物流，另外一个订单也查下",  # 另外一个: "the other one"
    "不是这个，是另外一笔",
    "差评 再也不买了",
    "先不弄了 回头再说",
    "我再想想",
    "快递先别派 下周再给我送",  # 再给我 inside a clause
    "你再帮我查一下",  # nothing worth a clause before it
    "满减和店铺券能一起用吗 再加个平台券也可以吗",
    "羽绒服物流显示已揽收 然后就没动静了",  # 然后 on its own tells what happened
    "我昨天下的单，然后一直没发货",
    "顺便问一下运费怎么算",  # 顺便 first: one request
    "对了 还有个情况",
    "可以同时用两张店铺券吗",
    "发票另外收费不",
    "",
    "   ",
])
def test_words_that_only_look_like_connectors_keep_the_message_whole(text: str) -> None:
    assert split_requests(text) == ([text.strip()] if text.strip() else [""])


def test_clauses_know_where_they_stand_in_the_message() -> None:
    text = "查下物流，顺便开个发票。"
    first, second = request_clauses(text)
    assert text[first.start:first.end] == "查下物流" and text[second.start:second.end] == "开个发票"


FAKE_RANKINGS = {
    "查下物流": [("query_logistics", 0.91), ("urge_delivery", 0.05)],
    "开个发票": [("request_invoice", 0.88), ("faq", 0.07)],
    "我想退货": [("return_request", 0.62), ("exchange_request", 0.3)],
    "你好": [("greet", 0.97)],
    "随便看看": [("query_order_status", 0.31), ("chitchat", 0.3)],
    "物流到哪了": [("query_logistics", 0.93)],
}


def fake_rank(text: str) -> list[tuple[str, float]]:
    return FAKE_RANKINGS.get(text, [("out_of_scope", 0.9)])


def test_two_different_requests_make_the_first_the_intent_and_the_second_the_next_request() -> None:
    two = two_requests("查下物流，顺便开个发票", fake_rank)
    assert two is not None
    assert two.first[0] == ("query_logistics", 0.91)
    assert (two.next_intent, two.next_confidence, two.next_clause.text) == ("request_invoice", 0.88, "开个发票")
    assert two.output() == {"name": "request_invoice", "confidence": 0.88, "text": "开个发票"}
    assert two.entity("SentenceIntentClassifier") == {
        "entity": NEXT_REQUEST, "value": "request_invoice", "start": 7, "end": 11, "confidence_entity": 0.88,
        "extractor": "SentenceIntentClassifier"}


@pytest.mark.parametrize("text, why", [
    ("查下物流，顺便物流到哪了", "the same request twice"),
    ("你好，顺便开个发票", "a greeting is not a request"),
    ("开个发票，再帮我随便看看", "the second clause is not sure enough"),
    ("随便看看，顺便开个发票", "the first clause is not sure enough"),
    ("查下物流，顺便说一下你们是谁", "the second clause is no request"),
    ("查下物流", "one clause"),
])
def test_no_second_request(text: str, why: str) -> None:
    assert two_requests(text, fake_rank) is None, why


def test_the_first_later_clause_that_is_another_request_is_the_one_offered() -> None:
    clauses = [Clause("查下物流", 0, 4), Clause("物流到哪了", 5, 10), Clause("我想退货", 11, 15), Clause("开个发票", 16, 20)]
    two = decide(clauses, [fake_rank(c.text) for c in clauses], REQUEST_INTENTS)
    assert two is not None and two.next_intent == "return_request"


def test_the_request_intents_and_the_threshold_are_the_callers() -> None:
    assert two_requests("查下物流，顺便开个发票", fake_rank, request_intents={"query_logistics"}) is None
    assert two_requests("查下物流，另外我想退货", fake_rank, min_confidence=0.7) is None
    assert two_requests("查下物流，另外我想退货", fake_rank, min_confidence=0.6) is not None


def test_chitchat_faq_and_small_turns_are_not_requests() -> None:
    for intent in ("greet", "thank", "affirm", "deny", "goodbye", "chitchat", "faq", "out_of_scope", "inform"):
        assert intent not in REQUEST_INTENTS


def test_clauses_are_ranked_only_when_the_message_splits() -> None:
    ranked: list[str] = []

    def counting_rank(text: str) -> list[tuple[str, float]]:
        ranked.append(text)
        return fake_rank(text)

    assert two_requests("我的快递到哪了，还有几天能到", counting_rank) is None and ranked == []
    two_requests("查下物流；开个发票；我想退货；你好；物流到哪了", counting_rank)
    assert len(ranked) == 4  # at most MAX_CLAUSES classifications for one message
