"""When a skill group is at work, as pure functions over frozen dataclasses (all times naive CST).

A group's week comes from its Hours (handoff.yml's group_hours, else working_hours, or the desk's own override);
a DayRule closes a day or gives it other hours (a holiday); agents' shifts (排班) count as the group being at work
too. "Is G open at t" and "when is G back after t" are answered over those spans; online status still decides who
gets a chat (handoff/queueing.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

ALL_DAYS = frozenset(range(1, 8))  # ISO weekdays: 1 周一 … 7 周日
DAY_NAMES = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
HORIZON_DAYS = 31  # how far ahead "when is it back" looks
Span = tuple[datetime, datetime]


def hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def span_of(day: date, start: time, end: time) -> Span:
    """The span from `start` on `day` to `end`; an end at or before the start is on the next day (overnight)."""
    begin = datetime.combine(day, start)
    finish = datetime.combine(day, end)
    if finish <= begin:
        finish += timedelta(days=1)
    return begin, finish


@dataclass(frozen=True)
class Hours:
    """A weekly pattern: from `start` to `end` (past midnight when end <= start; start = end is 24 hours) on the ISO
    weekdays in `days`."""

    start: time
    end: time
    days: frozenset[int] = ALL_DAYS

    def span_on(self, day: date) -> Span | None:
        return span_of(day, self.start, self.end) if day.isoweekday() in self.days else None

    def describe(self) -> str:
        """In Chinese: 每天 09:00–22:00, 周一至周五 09:00–18:00, 每天 20:00–次日 02:00, 每天 24 小时 (start = end)."""
        if self.start == self.end:
            return f"{describe_days(self.days)} 24 小时" if self.start == time(0) else \
                f"{describe_days(self.days)} {hhmm(self.start)}–次日 {hhmm(self.end)}"
        until = f"次日 {hhmm(self.end)}" if self.end <= self.start else hhmm(self.end)
        return f"{describe_days(self.days)} {hhmm(self.start)}–{until}"


def describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if set(ordered) == set(ALL_DAYS):
        return "每天"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]]}至{DAY_NAMES[ordered[-1]]}"
    return "、".join(DAY_NAMES[d] for d in ordered)


@dataclass(frozen=True)
class DayRule:
    """One date closed, or with other hours: for one skill group, or for all (group None). A holiday."""

    day: date
    group: str | None = None
    closed: bool = True
    start: time | None = None
    end: time | None = None
    note: str = ""
    id: int | None = None  # the desk's row; None for handoff.yml's
    source: str = "handoff.yml"

    def span(self) -> Span | None:
        if self.closed or self.start is None or self.end is None:
            return None
        return span_of(self.day, self.start, self.end)


@dataclass(frozen=True)
class Shift:
    """An agent on duty (排班) from `start` to `end`, for their skill groups."""

    username: str
    groups: frozenset[str]
    start: datetime
    end: datetime
    id: int | None = None


@dataclass(frozen=True)
class GroupStatus:
    group: str
    open: bool
    hours: str  # the group's usual hours, in Chinese
    back_at: datetime | None  # now when open; None when nothing is scheduled within HORIZON_DAYS
    closed_at: datetime | None  # when it stopped today, if it worked earlier today


@dataclass(frozen=True)
class Timetable:
    default: Hours
    groups: Mapping[str, Hours] = field(default_factory=dict)
    rules: tuple[DayRule, ...] = ()
    shifts: tuple[Shift, ...] = ()

    def hours_of(self, group: str) -> Hours:
        return self.groups.get(group, self.default)

    def rule_for(self, group: str, day: date) -> DayRule | None:
        """The group's own rule for the day, else the one for all groups (the last one given wins)."""
        own = [r for r in self.rules if r.day == day and r.group == group]
        common = [r for r in self.rules if r.day == day and r.group is None]
        found = own or common
        return found[-1] if found else None

    def spans(self, group: str, day: date) -> list[Span]:
        """The group's spans that start on `day`: its hours (or the day's rule) and its agents' shifts."""
        rule = self.rule_for(group, day)
        usual = rule.span() if rule is not None else self.hours_of(group).span_on(day)
        found = [usual] if usual is not None else []
        found += [(s.start, s.end) for s in self.shifts if group in s.groups and s.start.date() == day]
        return sorted(found)

    def _around(self, group: str, moment: datetime, days_ahead: int) -> list[Span]:
        first = moment.date() - timedelta(days=1)  # yesterday's overnight span may still run
        return sorted(s for n in range(days_ahead + 2) for s in self.spans(group, first + timedelta(days=n)))

    def is_open(self, group: str, moment: datetime) -> bool:
        return any(start <= moment < end for start, end in self._around(group, moment, 0))

    def back_at(self, group: str, moment: datetime, horizon_days: int = HORIZON_DAYS) -> datetime | None:
        """`moment` when the group is at work; else when it next is (None when not within the horizon)."""
        if self.is_open(group, moment):
            return moment
        starts = [start for start, _ in self._around(group, moment, horizon_days) if start > moment]
        return min(starts) if starts else None

    def closed_at(self, group: str, moment: datetime) -> datetime | None:
        """When the group stopped work earlier today (None when it did not work today or is at work)."""
        if self.is_open(group, moment):
            return None
        ends = [end for _, end in self._around(group, moment, 0) if end <= moment and end.date() == moment.date()]
        return max(ends) if ends else None

    def status(self, group: str, moment: datetime) -> GroupStatus:
        return GroupStatus(group, self.is_open(group, moment), self.hours_of(group).describe(),
                           self.back_at(group, moment), self.closed_at(group, moment))


def shifts_between(shifts: Iterable[Shift], first: date, last: date) -> list[Shift]:
    return [s for s in shifts if first <= s.start.date() <= last]


def when_text(moment: datetime, now: datetime) -> str:
    """A time relative to `now`, in Chinese: 今天 09:00, 明天 09:00, 后天 09:00, 12月3日（周四）09:00."""
    days = (moment.date() - now.date()).days
    named = {0: "今天", 1: "明天", 2: "后天"}.get(days)
    if named is None:
        named = f"{moment.month}月{moment.day}日（{DAY_NAMES[moment.isoweekday()]}）"
    return f"{named} {hhmm(moment.time())}"
