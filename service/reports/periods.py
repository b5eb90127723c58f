"""Report periods: today (the business day), the last 7 and the last 30 days ending today, in CST.

The desk's records (tickets, handoffs, ratings) carry naive CST times written by the desk's Clock, which may be
pinned to a demo date (XIAOZHI_TODAY): their window is the business days. Rasa's tracker store keeps real
timestamps, so when the date is pinned the tracker's window is the same days moved back by the pin's distance
(`shift`): what happened really today is today's business, as Clock.now() says everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from service.clock import CST, Clock
from service.errors import InvalidInput

PERIODS: dict[str, tuple[int, str]] = {"today": (1, "今日"), "7d": (7, "近7天"), "30d": (30, "近30天")}


@dataclass(frozen=True)
class Period:
    name: str  # today | 7d | 30d
    label: str
    first_day: date  # business days, both included
    last_day: date
    shift: timedelta = timedelta(0)  # business date − real date (XIAOZHI_TODAY pinned); 0 otherwise

    @property
    def start(self) -> datetime:
        """Naive CST, as the desk's records store times."""
        return datetime.combine(self.first_day, time.min)

    @property
    def end(self) -> datetime:
        """Exclusive."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def contains(self, moment: datetime | None) -> bool:
        """A naive CST record time within the period."""
        return moment is not None and self.start <= moment < self.end

    @property
    def tracker_window(self) -> tuple[datetime, datetime]:
        """[since, until) for the tracker store: aware CST, real time."""
        return (datetime.combine(self.first_day, time.min, CST) - self.shift,
                datetime.combine(self.last_day + timedelta(days=1), time.min, CST) - self.shift)

    def business_time(self, real: datetime) -> datetime:
        """A tracker timestamp (aware) as naive CST business time."""
        return real.astimezone(CST).replace(tzinfo=None) + self.shift


def make_period(name: str, today: date, real_today: date | None = None) -> Period:
    """The period `name` ending on the business day `today`; InvalidInput for an unknown name."""
    if name not in PERIODS:
        raise InvalidInput("period", f"one of {', '.join(PERIODS)}")
    days, label = PERIODS[name]
    shift = today - (real_today or today)
    return Period(name, label, today - timedelta(days=days - 1), today, shift)


def period_for(name: str, clock: Clock, real_clock: Clock | None = None) -> Period:
    """The period as the desk's clock sees it; `real_clock` (unpinned) tells the real date when it is pinned."""
    return make_period(name, clock.today(), (real_clock or clock).today())
