"""Chinese relative time words: purchase-time windows and appointment times."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


@dataclass(frozen=True)
class DateWindow:
    start: date
    end: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


def purchase_window(text: str, today: date) -> DateWindow | None:
    """The days a phrase like 上周 / 昨天 / 3天前 / 双十一 points at, or None."""
    monday = today - timedelta(days=today.weekday())
    if "大前天" in text:
        day = today - timedelta(days=3)
        return DateWindow(day, day)
    if "前天" in text:
        day = today - timedelta(days=2)
        return DateWindow(day, day)
    if "昨天" in text:
        day = today - timedelta(days=1)
        return DateWindow(day, day)
    if "今天" in text:
        return DateWindow(today, today)
    if re.search(r"上上(个)?(周|星期|礼拜)", text):
        return DateWindow(monday - timedelta(days=14), monday - timedelta(days=8))
    if re.search(r"上(个)?(周|星期|礼拜)", text):
        return DateWindow(monday - timedelta(days=7), monday - timedelta(days=1))
    if re.search(r"(这|本)(周|星期|礼拜)", text):
        return DateWindow(monday, today)
    if "上个月" in text or "上月" in text:
        first = today.replace(day=1)
        last_month_end = first - timedelta(days=1)
        return DateWindow(last_month_end.replace(day=1), last_month_end)
    if "这个月" in text or "本月" in text:
        return DateWindow(today.replace(day=1), today)
    if "半个月" in text:
        return DateWindow(today - timedelta(days=18), today - timedelta(days=12))
    if "前几天" in text or "最近" in text:
        return DateWindow(today - timedelta(days=7), today)
    if re.search(r"双(十一|11)", text):
        year = today.year if today >= date(today.year, 11, 11) else today.year - 1
        return DateWindow(date(year, 11, 8), date(year, 11, 13))
    match = re.search(r"([0-9一二两三四五六七八九十]+)\s*天(前|之前|以前)", text)
    if match:
        n = _number(match.group(1))
        if n is not None:
            day = today - timedelta(days=n)
            return DateWindow(day - timedelta(days=1), day + timedelta(days=1))
    return None


_PERIODS = (("上午", "上午"), ("早上", "上午"), ("中午", "中午"), ("下午", "下午"), ("晚上", "晚上"),
            ("傍晚", "晚上"), ("全天", "全天"), ("一天", "全天"), ("整天", "全天"))


def appointment(text: str, today: date, horizon_days: int = 14) -> str | None:
    """Normalise a preferred visit time: "明天上午" → "2026-11-22（周日）上午"; None if unclear.

    A day is required (今天/明天/后天/周X/下周X/X月X日/X号); the period defaults to 全天.
    """
    day = _appointment_day(text, today)
    if day is None or day < today or day > today + timedelta(days=horizon_days):
        return None
    period = next((norm for word, norm in _PERIODS if word in text), "全天")
    weekday = "一二三四五六日"[day.weekday()]
    return f"{day.isoformat()}（周{weekday}）{period}"


def _appointment_day(text: str, today: date) -> date | None:
    if "大后天" in text:
        return today + timedelta(days=3)
    if "后天" in text:
        return today + timedelta(days=2)
    if "明天" in text or "明日" in text:
        return today + timedelta(days=1)
    if "今天" in text or "今日" in text:
        return today
    match = re.search(r"(下)?(?:周|星期|礼拜)([一二三四五六日天])", text)
    if match:
        target = _WEEKDAYS[match.group(2)]
        delta = (target - today.weekday()) % 7
        if match.group(1):
            delta = delta + 7 if delta != 0 else 7
        elif delta == 0:
            delta = 7
        return today + timedelta(days=delta)
    match = re.search(r"(?:(\d{1,2})\s*月\s*)?(\d{1,2})\s*(?:日|号)", text)
    if match:
        month = int(match.group(1)) if match.group(1) else today.month
        day_of_month = int(match.group(2))
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day_of_month)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
    return None
