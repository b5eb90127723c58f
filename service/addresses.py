"""Parsing a delivery address the customer typed into its parts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.errors import InvalidInput

_MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
_PROVINCE = re.compile(r"^(.{2,7}?(?:省|自治区)|(?:北京|上海|天津|重庆)市?)")
_CITY = re.compile(r"^(.{1,7}?市|.{1,9}?(?:自治州|地区|盟|州))")
_DISTRICT = re.compile(r"^(.{1,7}?(?:区|县|旗|市))")
_DETAIL_HINT = re.compile(r"\d|路|街|道|巷|弄|号|村|镇|乡|小区|大厦|公寓|栋|幢|楼|室|单元|园")
# Provinces of the cities customers most often write without their province.
_CITY_PROVINCE = {
    "杭州": "浙江省", "宁波": "浙江省", "温州": "浙江省", "绍兴": "浙江省", "嘉兴": "浙江省", "金华": "浙江省",
    "南京": "江苏省", "苏州": "江苏省", "无锡": "江苏省", "常州": "江苏省", "广州": "广东省", "深圳": "广东省",
    "东莞": "广东省", "佛山": "广东省", "成都": "四川省", "武汉": "湖北省", "长沙": "湖南省", "西安": "陕西省",
    "郑州": "河南省", "济南": "山东省", "青岛": "山东省", "合肥": "安徽省", "福州": "福建省", "厦门": "福建省",
}


@dataclass(frozen=True)
class ParsedAddress:
    province: str
    city: str
    district: str
    detail: str

    @property
    def full(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.detail}"


_LEAD_IN = re.compile(r"^(?:新的?|收货)?地址(?:改成|改为|换成|是|为|：|:)?|^(?:改成|改到|改为|换成|送到|寄到)")


def parse_address(text: str) -> ParsedAddress:
    """Split "浙江省杭州市西湖区文三路100号" into parts; raise InvalidInput when incomplete."""
    rest = re.sub(r"\s+", "", text)
    rest = _LEAD_IN.sub("", rest).strip("，,。.：:")
    province = city = district = ""
    match = _PROVINCE.match(rest)
    if match:
        province = match.group(1)
        rest = rest[match.end():]
        if province.rstrip("市") in _MUNICIPALITIES:
            province = province.rstrip("市") + "市"
            city = province
    if not city:
        match = _CITY.match(rest)
        if match:
            city = match.group(1)
            rest = rest[match.end():]
    match = _DISTRICT.match(rest)
    if match:
        district = match.group(1)
        rest = rest[match.end():]
    if not city:
        raise InvalidInput("address", "missing_city")
    if not district:
        raise InvalidInput("address", "missing_district")
    if len(rest) < 3 or not _DETAIL_HINT.search(rest):
        raise InvalidInput("address", "missing_detail")
    if not province:
        province = _CITY_PROVINCE.get(city.rstrip("市"), "")
    return ParsedAddress(province, city, district, rest)


def try_parse_address(text: str) -> ParsedAddress | None:
    try:
        return parse_address(text)
    except InvalidInput:
        return None
