"""connectors/wechat_text.py: what a WeChat customer reads of the bot's messages."""

from __future__ import annotations

import pytest

from connectors.wechat_text import WECHAT_TEXT_LIMIT, pack, render, split_text, wechat_texts

HINT = "请回复序号选择："


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_text_is_shown_as_it_is() -> None:
    assert render([{"text": "您好，我是小智。"}], HINT) == ["您好，我是小智。"]


def test_buttons_become_numbered_choices_after_the_hint() -> None:
    messages = [{"text": "请问您要查哪个订单？", "buttons": [
        {"title": "E202611010001 蓝牙耳机 X1", "payload": '/inform{"order_id": "E202611010001"}'},
        {"title": "E202611150002 空气炸锅 AF5", "payload": '/inform{"order_id": "E202611150002"}'},
    ]}]
    assert render(messages, HINT) == [
        "请问您要查哪个订单？\n请回复序号选择：\n1. E202611010001 蓝牙耳机 X1\n2. E202611150002 空气炸锅 AF5"]


def test_numbers_run_on_across_the_messages_of_one_reply() -> None:
    messages = [{"text": "第一个问题", "buttons": [{"title": "是", "payload": "/affirm"}]},
                {"text": "第二个问题", "quick_replies": [{"title": "好", "payload": "/affirm"},
                                                    {"title": "不用", "payload": "/deny"}]}]
    first, second = render(messages, HINT)
    assert first.endswith("1. 是") and second.endswith("2. 好\n3. 不用")


def test_a_card_is_short_text_only_when_its_message_has_no_text() -> None:
    card = {"type": "order_card", "order_id": "E202611010001", "product": "蓝牙耳机 X1", "status": "已发货"}
    assert render([{"custom": card}], HINT) == ["E202611010001 蓝牙耳机 X1 已发货"]
    assert render([{"text": "您的订单已发货。", "custom": card}], HINT) == ["您的订单已发货。"]
    assert render([{"custom": {"typing": True}}], HINT) == []  # nothing in it to read


CARD = {"order_card": {"order_id": "E202611010001", "product": "蓝牙耳机 X1", "status": "已发货", "amount": "¥399.00",
                       "carrier": "顺丰速运", "waybill": "SF1234567890"}}


def test_an_order_card_beside_its_answer_is_not_said_twice() -> None:
    assert render([{"text": "您的订单已发货。"}, {"custom": CARD}], HINT) == ["您的订单已发货。"]


def test_an_order_card_alone_reads_as_one_line() -> None:
    assert render([{"custom": CARD}], HINT) == ["E202611010001 蓝牙耳机 X1 已发货 ¥399.00 顺丰速运 SF1234567890"]


def test_a_status_custom_for_the_widget_shows_nothing() -> None:
    assert render([{"custom": {"handoff": {"state": "queued", "ahead": 2, "wait_minutes": 3}}}], HINT) == []


def test_an_image_is_sent_as_its_link() -> None:
    assert render([{"text": "商品图片：", "image": "https://shop.example/x1.jpg"}], HINT) == [
        "商品图片：\nhttps://shop.example/x1.jpg"]


def test_a_short_text_is_one_part() -> None:
    assert split_text("您好") == ["您好"]
    assert split_text("  \n ") == []


def test_a_long_text_is_cut_at_line_ends_within_the_limit() -> None:
    lines = [f"第{i}行：快件已到达【杭州转运中心】，正在发往下一站。" for i in range(120)]
    parts = split_text("\n".join(lines))
    assert len(parts) > 1
    assert all(size(p) <= WECHAT_TEXT_LIMIT for p in parts)
    assert "\n".join(parts) == "\n".join(lines)  # nothing lost, no line cut in two


def test_a_long_line_is_cut_after_a_sentence() -> None:
    sentence = "您的退款已在处理中，预计3个工作日内到账。"
    parts = split_text(sentence * 10, limit_bytes=200)
    assert all(size(p) <= 200 for p in parts)
    assert all(p.endswith("。") for p in parts)
    assert "".join(parts) == sentence * 10


def test_a_text_without_breaks_is_cut_between_characters() -> None:
    text = "耳" * 1000 + "😀" * 10  # 3-byte and 4-byte characters
    parts = split_text(text, limit_bytes=2047)
    assert all(size(p) <= 2047 for p in parts)
    assert "".join(parts) == text  # every part decodes, no character was cut


def test_the_limit_must_hold_a_character() -> None:
    with pytest.raises(ValueError):
        split_text("耳", limit_bytes=3)


def test_short_messages_are_packed_into_one() -> None:
    assert pack(["您好", "请问有什么可以帮您？"]) == ["您好\n\n请问有什么可以帮您？"]
    long = "耳" * 600  # 1800 bytes
    assert pack([long, long]) == [long, long]


def test_a_reply_becomes_wechat_messages_within_the_limit() -> None:
    reply = [{"text": "您好"}, {"text": "物流轨迹：\n" + "\n".join(f"{i}. 快件已到达【杭州转运中心】" for i in range(200))}]
    texts = wechat_texts(reply, HINT)
    assert texts[0].startswith("您好\n\n物流轨迹：")
    assert all(size(t) <= WECHAT_TEXT_LIMIT for t in texts)


def test_the_numbers_are_those_the_gate_maps_back_to_payloads() -> None:
    from rasa.shared.core.events import BotUttered, UserUttered

    from connectors.gate import chosen_payload, offered_buttons

    first = {"buttons": [{"title": "查物流", "payload": "/query_logistics"}, {"title": "官网", "url": "https://shop.example"}]}
    second = {"buttons": [{"title": "转人工", "payload": "/request_human"}],
              "quick_replies": [{"title": "不用了", "payload": "/deny"}]}
    shown = render([{"text": "选一个", **first}, {"text": "或者", **second}], HINT)
    # a link has no number
    assert shown == ["选一个\n请回复序号选择：\n1. 查物流", "或者\n请回复序号选择：\n2. 转人工\n3. 不用了"]
    offered = offered_buttons([UserUttered("你好"), BotUttered("选一个", first), BotUttered("或者", second)])
    assert [chosen_payload(n, offered) for n in ("1", "2", "3")] == ["/query_logistics", "/request_human", "/deny"]
