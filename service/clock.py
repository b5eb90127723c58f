"""Business time: China Standard Time, optionally pinned to a date for demos and tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


class Clock:
    """Tells the current business time; `business_date` pins the calendar day."""

    def __init__(
        self,
        business_date: date | None = None,
        source: Callable[[], datetime] = lambda: datetime.now(CST),
    ) -> None:
        self._business_date = business_date
        self._source = source

    def now(self) -> datetime:
        """Naive datetime in CST (the demo data and the database store naive CST)."""
        current = self._source().astimezone(CST).replace(tzinfo=None)
        if self._business_date is None:
            return current
        return datetime.combine(self._business_date, current.time())

    def today(self) -> date:
        return self.now().date()


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always tells `moment` (naive CST); for tests."""
    aware = moment.replace(tzinfo=CST) if moment.tzinfo is None else moment
    return Clock(source=lambda: aware)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min)


def iso(moment: datetime | None) -> str | None:
    """Stored datetimes are naive CST; they go out with their offset (2026-12-03T09:00:00+08:00)."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=CST) if moment.tzinfo is None else moment).isoformat()
