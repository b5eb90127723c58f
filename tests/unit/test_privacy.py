import pytest

from service.privacy import (
    mask_address,
    mask_email,
    mask_name,
    mask_phone,
    scrub,
    scrub_all,
    scrub_data,
    scrub_event,
    scrub_identifiers,
)


def test_phone_is_masked_like_the_design_says() -> None:
    assert mask_phone("13800138000") == "138****8000"


def test_address_keeps_only_the_district() -> None:
    assert mask_address("浙江省杭州市西湖区文三路100号3幢201室") == "浙江省杭州市西湖区****"
    assert mask_address("上海市浦东新区世纪大道200号8楼") == "上海市浦东新区****"
    assert "文三路" not in mask_address("杭州西湖区文三路")


def test_names_and_emails() -> None:
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_email("zhangwei@example.com") == "zh****@example.com"


def test_scrub_masks_personal_data_inside_free_text() -> None:
    text = scrub("电话13800138000 身份证330106199001011234 地址浙江省杭州市西湖区文三路100号 邮箱zhangwei@example.com")
    for secret in ("13800138000", "330106199001011234", "文三路100号", "zhangwei@"):
        assert secret not in text
    assert "138****8000" in text


@pytest.mark.parametrize(("text", "masked"), [
    ("电话13800138000", "电话138****8000"),
    ("+86 138 0013 8000", "+86 138 **** 8000"),
    ("0086-138-0013-8000", "0086-138-****-8000"),
    ("8613800138000", "86138****8000"),
    ("１３８００１３８０００", "１３８****８０００"),  # full-width, as some input methods type it
    ("\\u53f713800138000", "\\u53f7138****8000"),  # 号 in JSON with ensure_ascii
    ("b'\\xe5\\x8f\\xb713800138000'", "b'\\xe5\\x8f\\xb7138****8000'"),  # 号 in the repr of bytes
    ("q=%E5%8F%B713800138000", "q=%E5%8F%B7138****8000"),  # 号 in a URL
    ("身份证330106199001011234", "身份证330106********4"),
    ("\\u8bc133010619900101123X", "\\u8bc1330106********X"),
    ("\\n330106199001011234\\t13800138000", "\\n330106********4\\t138****8000"),  # after an escaped line break, tab
])
def test_identifiers_are_masked_however_the_text_is_rendered(text: str, masked: str) -> None:
    assert scrub_identifiers(text) == masked
    assert scrub_identifiers(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", ["E202611010001", "SF1234567890", "R202611130001", "T2026112100001",
                                  "2613800138000", "1380013800012", "ts=1732150000.123456", "138****8000"])
def test_order_numbers_waybills_and_longer_numbers_are_left_alone(text: str) -> None:
    assert scrub_identifiers(text) == text


def test_scrub_all_masks_addresses_too_and_scrub_data_copies() -> None:
    masked = scrub_all("我在浙江省杭州市西湖区文三路100号，电话+86 138 0013 8000")
    assert masked == "我在浙江省杭州市西湖区****，电话+86 138 **** 8000"
    value = {"text": "13800138000", "slots": [("phone", "13900139000")], "n": 3, "ok": True}
    assert scrub_data(value) == {"text": "138****8000", "slots": [("phone", "139****9000")], "n": 3, "ok": True}
    assert value["text"] == "13800138000"


def test_an_events_generated_ids_are_kept() -> None:
    event = {"event": "user", "text": "电话13800138000", "message_id": "ab13912345678cd"}
    assert scrub_event(event) == {"event": "user", "text": "电话138****8000", "message_id": "ab13912345678cd"}
