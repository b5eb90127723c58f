"""A real conversation over the REST channel, with both servers running."""

from __future__ import annotations

import pytest

from scripts.launch import http
from tests.e2e.conftest import Bot

pytestmark = pytest.mark.e2e
ZHANG = {"customer_id": "C001"}  # signed in (the embedded demo believes the page's claim)


def test_logistics_question_names_carrier_waybill_and_latest_node(bot: Bot) -> None:
    reply = bot.texts("e2e-logistics", "查一下E202611010001的物流", ZHANG)
    assert "顺丰" in reply
    assert "SF1234567890" in reply
    assert "杭州转运中心" in reply


def test_follow_up_uses_the_order_in_context(bot: Bot) -> None:
    bot.texts("e2e-followup", "查一下E202611010001的物流", ZHANG)
    reply = bot.texts("e2e-followup", "那它什么时候到", ZHANG)
    assert "E202611010001" in reply and "预计" in reply


def test_vip_greeting_and_recent_orders_to_pick(bot: Bot) -> None:
    who = {"customer_id": "C001"}
    assert "金卡会员" in bot.texts("e2e-vip", "你好", who)
    replies = bot.say("e2e-vip", "我的订单怎么样了", who)  # any of his orders may be meant: he picks one
    buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert any("E202611010001" in payload for payload in buttons)
    assert any("E202611150002" in payload for payload in buttons)
    reply = bot.texts("e2e-vip", '/inform{"order_id":"E202611010001"}', who)
    assert "E202611010001" in reply


def test_the_one_order_that_fits_is_used_and_named(bot: Bot) -> None:
    who = {"customer_id": "C001"}
    replies = bot.say("e2e-vip-parcel", "我的快递到哪了", who)  # only the earbuds have shipped
    assert not [b for r in replies for b in r.get("buttons", [])]
    reply = "\n".join(r.get("text", "") for r in replies)
    assert "E202611010001" in reply and "SF1234567890" in reply


def test_anonymous_customer_is_asked_for_an_order_number_then_its_phone_digits(bot: Bot) -> None:
    reply = bot.texts("e2e-anon", "我的订单发货了吗")
    assert "订单号" in reply
    reply = bot.texts("e2e-anon", "E202611150002")
    assert "后4位" in reply and "空气炸锅" not in reply
    reply = bot.texts("e2e-anon", "8000")
    assert "空气炸锅" in reply


def test_phone_numbers_in_replies_are_masked(bot: Bot) -> None:
    reply = bot.texts("e2e-mask", "我想修一下冰箱BCD-470", {"customer_id": "C001"})
    assert "13800138000" not in reply


def test_malformed_requests_get_a_400_with_a_reason(bot: Bot) -> None:
    url = f"{bot.rasa_url}/webhooks/rest/webhook"
    status, body = http("POST", url, {"sender": "x"})
    assert status == 400 and "message" in body["reason"]
    status, body = http("POST", url, ["not", "an", "object"])
    assert status == 400
    status, body = http("POST", url, {"sender": "x", "message": "你好", "metadata": "C001"})
    assert status == 400 and "metadata" in body["reason"]
