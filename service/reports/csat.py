"""Customer satisfaction (1–5) of what was rated: the bot, an agent's chat, a ticket's handling. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.reports.periods import Period
from service.reports.records import HandoffFact, TicketRatingFact

SCORES = (1, 2, 3, 4, 5)
SOURCES = {"bot": "机器人", "agent": "人工会话", "ticket": "工单"}


@dataclass(frozen=True)
class Csat:
    source: str  # bot | agent | ticket
    distribution: dict[int, int]  # score → ratings

    @property
    def count(self) -> int:
        return sum(self.distribution.values())

    @property
    def average(self) -> float | None:
        total = sum(score * n for score, n in self.distribution.items())
        return round(total / self.count, 2) if self.count else None

    @property
    def satisfied_rate(self) -> float | None:
        """4 or 5 out of all ratings."""
        return round((self.distribution[4] + self.distribution[5]) / self.count, 4) if self.count else None


def csat_of(source: str, scores: Iterable[int]) -> Csat:
    distribution = dict.fromkeys(SCORES, 0)
    for score in scores:
        if score in distribution:
            distribution[score] += 1
    return Csat(source, distribution)


def read_csat(bot_scores: Iterable[int], handoffs: Iterable[HandoffFact], ticket_ratings: Iterable[TicketRatingFact],
              period: Period) -> list[Csat]:
    """Bot: ratings the tracker holds that were about no ticket or handoff. Agent: handoff ratings of chats ended in
    the period (the customer rates right after the end). Ticket: ticket ratings given in the period."""
    agent = [h.rating for h in handoffs if h.rating is not None and period.contains(h.ended_at)]
    ticket = [r.score for r in ticket_ratings if period.contains(r.at)]
    return [csat_of("bot", bot_scores), csat_of("agent", agent), csat_of("ticket", ticket)]
