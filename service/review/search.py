"""Searching past conversations: by customer, CST date range, intent, rating and channel, one page at a time.

The candidates come from the bot's database when the query names a customer or a rating (service/review/facts.py),
else from the tracker store's most recent conversations in the date range; an agent's candidates are only the
conversations of handoffs they handled. The customers' messages of at most MAX_CANDIDATES conversations and
MAX_EVENTS events are read for one search; `truncated` says when a bound cut it short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from service.clock import CST
from service.conversation_log import ConversationLog, LoggedEvent
from service.errors import InvalidInput
from service.privacy import conversation_ref
from service.review.collect import FALLBACK_INTENT, customers_of
from service.review.facts import ConversationFacts, Rating

MAX_CANDIDATES = 1_000
MAX_EVENTS = 50_000
MAX_PAGE_SIZE = 50
MAX_PAGE = 100
MAX_RANGE_DAYS = 366
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # no conversation outside; no overflow
TOP_INTENTS = 5


@dataclass(frozen=True)
class ConversationQuery:
    customer_id: str | None = None
    since: date | None = None  # CST days, both included
    until: date | None = None
    intent: str | None = None  # a customer message read as this intent (faq matches faq/<topic> too)
    rating: int | None = None  # a handoff or ticket of the conversation rated this (1–5)
    channel: str | None = None
    handled_by: str | None = None  # an agent's search: only conversations of handoffs they handled
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class ConversationSummary:
    sender_id: str
    customer_id: str | None
    first_at: datetime
    last_at: datetime
    messages: int  # the customer's
    intents: tuple[str, ...]  # the most frequent, most frequent first
    channels: tuple[str, ...]
    fallbacks: int
    ratings: tuple[Rating, ...] = ()

    @property
    def conversation(self) -> str:
        return conversation_ref(self.sender_id)


@dataclass(frozen=True)
class ConversationPage:
    items: list[ConversationSummary]
    total: int
    page: int
    page_size: int
    truncated: bool = False
    candidates: int = 0
    notes: list[str] = field(default_factory=list)


def window(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[start of `since`, end of `until`) in CST (empty when reversed); InvalidInput when longer than a year."""
    for name, day in (("since", since), ("until", until)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(name, f"a day from {FIRST_DAY} to {LAST_DAY}")
    if since and until and (until - since).days > MAX_RANGE_DAYS:
        raise InvalidInput("until", f"a search covers at most {MAX_RANGE_DAYS} days")
    start = datetime.combine(since, time.min, CST) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, CST) if until else None
    return start, end


def _matches_intent(event: LoggedEvent, intent: str) -> bool:
    name = event.intent or ""
    return name == intent or ("/" not in intent and name.startswith(intent + "/"))


class ConversationSearch:
    def __init__(self, log: ConversationLog, facts: ConversationFacts) -> None:
        self._log = log
        self._facts = facts

    def _candidates(self, query: ConversationQuery, start: datetime | None, end: datetime | None) -> tuple[list[str], bool]:
        sets: list[set[str]] = []
        if query.customer_id:
            sets.append(self._facts.senders_of_customer(query.customer_id))
        if query.rating is not None:
            sets.append(self._facts.rated(query.rating))
        if query.handled_by:
            sets.append(self._facts.handled_by(query.handled_by))
        if sets:
            chosen = set.intersection(*sets)
            return sorted(chosen)[:MAX_CANDIDATES], len(chosen) > MAX_CANDIDATES
        recent = self._log.senders(since=start, until=end, limit=MAX_CANDIDATES + 1)
        return recent[:MAX_CANDIDATES], len(recent) > MAX_CANDIDATES

    def search(self, query: ConversationQuery) -> ConversationPage:
        if not 1 <= query.page <= MAX_PAGE or not 1 <= query.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput("page", f"1 ≤ page ≤ {MAX_PAGE} and 1 ≤ page_size ≤ {MAX_PAGE_SIZE}")
        if query.rating is not None and not 1 <= query.rating <= 5:
            raise InvalidInput("rating", "a rating is 1 to 5")
        start, end = window(query.since, query.until)
        if start is not None and end is not None and start >= end:  # since after until: no day is in both
            return ConversationPage([], 0, query.page, query.page_size)
        senders, truncated = self._candidates(query, start, end)
        if not senders:
            return ConversationPage([], 0, query.page, query.page_size, truncated)
        events = self._log.events(since=start, until=end, sender_ids=senders, kinds=("user",), limit=MAX_EVENTS)
        truncated = truncated or len(events) >= MAX_EVENTS
        by_sender: dict[str, list[LoggedEvent]] = {}
        for event in events:
            if event.is_customer_message:
                by_sender.setdefault(event.sender_id, []).append(event)
        matching = [sender for sender, said in by_sender.items() if self._matches(said, query)]
        matching.sort(key=lambda s: (by_sender[s][-1].at, s), reverse=True)
        first = (query.page - 1) * query.page_size
        shown = matching[first:first + query.page_size]
        customers = customers_of(shown, self._facts, self._log)
        ratings = self._facts.ratings_of(shown)
        items = [self._summary(sender, by_sender[sender], customers.get(sender), ratings.get(sender, []))
                 for sender in shown]
        return ConversationPage(items, len(matching), query.page, query.page_size, truncated, len(senders))

    @staticmethod
    def _matches(said: list[LoggedEvent], query: ConversationQuery) -> bool:
        if query.intent and not any(_matches_intent(e, query.intent) for e in said):
            return False
        return not query.channel or any(e.channel == query.channel for e in said)

    @staticmethod
    def _summary(sender: str, said: list[LoggedEvent], customer: str | None,
                 ratings: list[Rating]) -> ConversationSummary:
        intents = Counter(e.intent for e in said if e.intent)
        channels = tuple(dict.fromkeys(e.channel for e in said if e.channel))
        return ConversationSummary(
            sender_id=sender, customer_id=customer, first_at=said[0].at, last_at=said[-1].at, messages=len(said),
            intents=tuple(name for name, _ in intents.most_common(TOP_INTENTS)), channels=channels,
            fallbacks=sum(1 for e in said if e.intent == FALLBACK_INTENT), ratings=tuple(ratings))
