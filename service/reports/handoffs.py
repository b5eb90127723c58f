"""Figures of the handoffs to people, from the handoff records (handoff/schema.py sessions). Pure."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from service.reports.periods import Period
from service.reports.records import HandoffFact

ENDED = "ended"


@dataclass(frozen=True)
class Durations:
    """Seconds: how many were measured, their mean and median (None when none)."""

    count: int
    average_s: float | None
    median_s: float | None

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Durations:
        values = sorted(seconds)
        if not values:
            return cls(0, None, None)
        return cls(len(values), round(statistics.fmean(values), 1), round(statistics.median(values), 1))


@dataclass(frozen=True)
class HandoffFigures:
    queued: list[HandoffFact]  # queued in the period
    reasons: Counter[str]
    by_day: Counter[str]  # ISO day → handoffs queued
    wait: Durations  # assigned − queued, for those first assigned in the period
    first_response: Durations  # first agent message − assigned, for those first assigned in the period
    handling: Durations  # ended − assigned, for those an agent ended or the customer left in the period
    abandoned: int  # queued in the period and left the queue before an agent took them
    timed_out: int  # queued in the period and turned into a ticket after the longest wait

    @property
    def senders(self) -> set[str]:
        return {h.sender_id for h in self.queued}


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds())


def read_handoffs(handoffs: Iterable[HandoffFact], period: Period) -> HandoffFigures:
    facts = list(handoffs)
    queued = [h for h in facts if period.contains(h.queued_at)]
    assigned = [h for h in facts if period.contains(h.assigned_at)]
    handled = [h for h in facts if h.status == ENDED and period.contains(h.ended_at) and h.assigned_at is not None]
    waits = [_seconds(h.assigned_at, h.queued_at) for h in assigned]
    firsts = [_seconds(h.first_agent_reply_at, h.assigned_at) for h in assigned]
    handling = [_seconds(h.ended_at, h.assigned_at) for h in handled]
    return HandoffFigures(
        queued=queued, reasons=Counter(h.reason for h in queued),
        by_day=Counter(h.queued_at.date().isoformat() for h in queued),
        wait=Durations.of(s for s in waits if s is not None),
        first_response=Durations.of(s for s in firsts if s is not None),
        handling=Durations.of(s for s in handling if s is not None),
        abandoned=sum(1 for h in queued if h.status == "abandoned"),
        timed_out=sum(1 for h in queued if h.status == "timed_out"))
