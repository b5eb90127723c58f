"""「查下物流，顺便开个发票」 over the REST channel: the logistics answer, then the invoice offered; 好的 starts it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Bot

pytestmark = pytest.mark.e2e
ZHANG = {"customer_id": "C001"}  # signed in (the embedded demo believes the page's claim)
TWO_REQUESTS = "查下物流，顺便开个发票"


def offers(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in replies if any(b.get("payload") == "/request_invoice" for b in r.get("buttons") or [])]


def test_the_message_is_read_as_logistics_with_the_invoice_to_come(bot: Bot) -> None:
    status, parsed = bot.api("POST", "/model/parse", {"text": TWO_REQUESTS})
    assert status == 200, parsed
    assert parsed["intent"]["name"] == "query_logistics"
    assert {"entity": "next_request", "value": "request_invoice"}.items() <= next(
        e for e in parsed["entities"] if e["entity"] == "next_request").items()
    assert parsed["next_request"]["name"] == "request_invoice"


def test_signed_in_the_logistics_answer_comes_first_then_the_invoice_offer(bot: Bot) -> None:
    sender = "e2e-two-requests"
    replies = bot.say(sender, TWO_REQUESTS, ZHANG)
    texts = [r.get("text") or "" for r in replies]
    answer = next(i for i, text in enumerate(texts) if "SF1234567890" in text)  # the earbuds, the one shipped order
    [offer] = offers(replies)
    assert replies.index(offer) > answer and replies[-1] is offer
    assert "开具发票" in offer["text"]
    assert [b["title"] for b in offer["buttons"]] == ["好的", "不用了"]
    assert [b["payload"] for b in offer["buttons"]] == ["/request_invoice", "/deny"]
    reply = bot.texts(sender, "好的", ZHANG)  # typed, not tapped: the button's title chooses the button
    assert "抬头" in reply  # the invoice form, on the order in context, asks for the invoice's title
    assert not offers(bot.say(sender, "个人", ZHANG))  # offered once


def test_after_a_proof_the_offer_still_follows_the_logistics_answer(bot: Bot) -> None:
    sender = "e2e-two-requests-anonymous"
    assert "订单号" in bot.texts(sender, TWO_REQUESTS)
    assert "后4位" in bot.texts(sender, "E202611010001")
    replies = bot.say(sender, "8000")
    assert "SF1234567890" in "\n".join(r.get("text") or "" for r in replies)
    assert offers(replies) and replies[-1] is offers(replies)[0]
    # an invoice needs the customer proven, not only the order: 好的 leads to the phone and its code
    assert "手机号" in bot.texts(sender, "/request_invoice")


def test_a_first_request_given_up_takes_the_second_with_it(bot: Bot) -> None:
    sender = "e2e-two-requests-stopped"
    assert "订单号" in bot.texts(sender, TWO_REQUESTS)
    bot.texts(sender, "算了")
    assert "后4位" in bot.texts(sender, "查一下E202611010001的物流")
    replies = bot.say(sender, "8000")
    assert "SF1234567890" in "\n".join(r.get("text") or "" for r in replies)
    assert not offers(replies)
