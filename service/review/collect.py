"""Filling the inbox: a scan of the tracker store for customer messages the NLU fell back on (nlu_fallback) or read
with a confidence under the threshold, going on from where the last scan stopped; and a reviewer's mark on one
message of a transcript. Each message is masked before it is stored, its customer's known names included.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from service.conversation_log import ConversationLog, LoggedEvent
from service.errors import NotAllowed, NotFound
from service.review.facts import ConversationFacts
from service.review.inbox import FALLBACK, LOW_CONFIDENCE, MARKED, Inbox, InboxItem, NewItem
from service.review.masking import mask_text

FALLBACK_INTENT = "nlu_fallback"
DEFAULT_THRESHOLD = 0.6
SCANNER = "nlu"
CUSTOMER_SLOT = "customer_id"
SCAN_EVENTS = 5_000  # user events one scan reads at most; the next scan goes on from there
NamesOf = Callable[[str, Collection[str]], set[str]]  # (sender id, its customer ids) → names to mask


@dataclass(frozen=True)
class ScanResult:
    scanned: int  # customer messages read
    added: int  # new inbox items
    last_event_id: int
    more: bool  # the scan stopped at its bound: there is more to read


def customers_of(senders: list[str], facts: ConversationFacts, log: ConversationLog) -> dict[str, str]:
    """Each conversation's customer: the bot's database, else the tracker's customer_id slot (its last value)."""
    customers = facts.customers_of(senders)
    unknown = [sender for sender in senders if sender not in customers]
    for event in log.events(sender_ids=unknown, kinds=("slot",), limit=SCAN_EVENTS) if unknown else ():
        if event.action == CUSTOMER_SLOT and isinstance(event.value, str) and event.value:
            customers[event.sender_id] = event.value
    return customers


def guess_of(event: LoggedEvent) -> tuple[str, float | None]:
    """The NLU's reading: under nlu_fallback, the best real intent of the ranking (what it would have said)."""
    if event.intent != FALLBACK_INTENT:
        return event.intent or FALLBACK_INTENT, event.confidence
    ranking: Any = ((event.data.get("parse_data") or {}).get("intent_ranking") or ())
    for entry in ranking if isinstance(ranking, list) else ():
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name and name != FALLBACK_INTENT:
            confidence = entry.get("confidence")
            return name, float(confidence) if isinstance(confidence, (int, float)) else None
    return FALLBACK_INTENT, event.confidence


def source_of(event: LoggedEvent, threshold: float) -> str | None:
    """fallback, low_confidence, or None when the message needs no review."""
    if not event.is_customer_message or not (event.text or "").strip() or (event.text or "").startswith("/"):
        return None  # a button's payload (/affirm) is not the customer's words
    if event.intent == FALLBACK_INTENT:
        return FALLBACK
    if event.confidence is not None and event.confidence < threshold:
        return LOW_CONFIDENCE
    return None


class InboxCollector:
    def __init__(self, log: ConversationLog, inbox: Inbox, facts: ConversationFacts,
                 threshold: float = DEFAULT_THRESHOLD, names_of: NamesOf | None = None) -> None:
        self._log = log
        self._inbox = inbox
        self._facts = facts
        self.threshold = threshold
        self._names_of = names_of or facts.names_of

    def _names(self, senders: Iterable[str]) -> dict[str, set[str]]:
        senders = list(dict.fromkeys(senders))
        customers = customers_of(senders, self._facts, self._log)
        return {sender: self._names_of(sender, [customers[sender]] if sender in customers else [])
                for sender in senders}

    def _item(self, event: LoggedEvent, source: str, names: set[str]) -> NewItem:
        guess, confidence = guess_of(event)
        return NewItem(event_id=event.id, sender_id=event.sender_id, text=mask_text(event.text or "", names),
                       guess=guess, confidence=confidence, source=source, said_at=event.at)

    def scan(self, limit: int = SCAN_EVENTS) -> ScanResult:
        """One bounded scan from where the last one stopped; idempotent (an event already in the inbox is skipped)."""
        after = self._inbox.last_scanned(SCANNER)
        events = self._log.events(after_id=after, kinds=("user",), limit=limit)
        if not events:
            return ScanResult(0, 0, after, False)
        found = [(event, source) for event in events if (source := source_of(event, self.threshold))]
        present = self._inbox.present([event.id for event, _ in found])
        found = [(event, source) for event, source in found if event.id not in present]
        names = self._names(event.sender_id for event, _ in found)
        added = self._inbox.add([self._item(event, source, names[event.sender_id]) for event, source in found])
        last = events[-1].id
        self._inbox.scanned(SCANNER, last)
        return ScanResult(sum(1 for e in events if e.is_customer_message), len(added), last, len(events) >= limit)

    def mark(self, sender_id: str, event_id: int) -> tuple[InboxItem, bool]:
        """A reviewer's mark on one customer message: (its inbox item, whether it was added now)."""
        existing = self._inbox.by_event(event_id)
        if existing is not None:
            if existing.sender_id != sender_id:
                raise NotFound("message", str(event_id))
            return existing, False
        found = self._log.events(sender_ids=[sender_id], kinds=("user",), after_id=event_id - 1, limit=1)
        if not found or found[0].id != event_id:
            raise NotFound("message", str(event_id))
        event = found[0]
        if not event.is_customer_message or not (event.text or "").strip():
            raise NotAllowed("not_a_customer_message", "only what the customer wrote can be marked")
        item = self._item(event, MARKED, self._names([sender_id])[sender_id])
        self._inbox.add([item])
        added = self._inbox.by_event(event_id)
        assert added is not None
        return added, True
