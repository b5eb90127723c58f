"""Parsing what customers type: time words, addresses, invoice fields."""

from datetime import date

import pytest

from service.addresses import parse_address, try_parse_address
from service.errors import InvalidInput
from service.invoices import PERSONAL_TITLE, is_company, normalise_email, normalise_tax_id, normalise_title
from service.timeparse import appointment, purchase_window

TODAY = date(2026, 11, 21)  # a Saturday


@pytest.mark.parametrize("text, start, end", [
    ("我上周买的", "2026-11-09", "2026-11-15"),
    ("昨天下的单", "2026-11-20", "2026-11-20"),
    ("3天前买的", "2026-11-17", "2026-11-19"),
    ("上个月", "2026-10-01", "2026-10-31"),
    ("双十一买的", "2026-11-08", "2026-11-13"),
])
def test_purchase_windows(text: str, start: str, end: str) -> None:
    window = purchase_window(text, TODAY)
    assert window is not None
    assert (window.start.isoformat(), window.end.isoformat()) == (start, end)


@pytest.mark.parametrize("text, expected", [
    ("明天上午", "2026-11-22（周日）上午"),
    ("周六下午", "2026-11-28（周六）下午"),
    ("下周一", "2026-11-30（周一）全天"),
    ("11月25号晚上", "2026-11-25（周三）晚上"),
    ("随时都行", None),
    ("12月30号", None),  # beyond the two-week horizon
])
def test_appointments(text: str, expected: str | None) -> None:
    assert appointment(text, TODAY) == expected


def test_addresses() -> None:
    parsed = parse_address("地址改成浙江省杭州市西湖区文三路100号")
    assert (parsed.province, parsed.city, parsed.district, parsed.detail) == ("浙江省", "杭州市", "西湖区", "文三路100号")
    assert try_parse_address("北京朝阳区建国路88号").city == "北京市"
    assert try_parse_address("杭州市余杭区文一西路1888号").province == "浙江省"
    for incomplete in ("西湖区文三路", "杭州", "浙江省杭州市西湖区"):
        with pytest.raises(InvalidInput):
            parse_address(incomplete)


def test_invoice_fields() -> None:
    assert normalise_title("抬头是杭州小智科技有限公司") == "杭州小智科技有限公司"
    assert normalise_title("个人的") == PERSONAL_TITLE
    assert is_company("杭州小智科技有限公司") and not is_company(PERSONAL_TITLE)
    assert normalise_tax_id("税号 91330106MA27XY1234") == "91330106MA27XY1234"
    assert normalise_email("发到 ZhangWei@Example.com 吧") == "zhangwei@example.com"
    with pytest.raises(InvalidInput):
        normalise_tax_id("12345")
    with pytest.raises(InvalidInput):
        normalise_email("zhangwei at example")
