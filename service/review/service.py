"""Conversation review as the desk uses it: who may read which conversation, the search, a transcript, the inbox
(collect, mark, review) and the export. Synchronous; the desk runs each call in a worker thread.

Access: a 主管 reads every conversation; a 坐席 only those with a handoff they handled. The inbox and the export
are for 主管 (the conversation designers; the desk's route guard checks the role).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from service.clock import Clock
from service.conversation_log import ConversationLog, LoggedEvent
from service.errors import NotAllowed, NotFound
from service.privacy import conversation_ref
from service.review.collect import CUSTOMER_SLOT, DEFAULT_THRESHOLD, InboxCollector, NamesOf, ScanResult
from service.review.export import Export, batch_name, render_export
from service.review.facts import ConversationFacts
from service.review.inbox import Inbox, InboxItem
from service.review.intents import TrainingData, load_training_data
from service.review.names import CustomerName, KnownNames
from service.review.search import ConversationPage, ConversationQuery, ConversationSearch
from service.review.transcript import TranscriptSource
from service.settings import PROJECT_ROOT

TRANSCRIPT_EVENTS = 5_000
RESOLVE_SENDERS = 50_000  # the most recent conversations a pseudonym is looked up among


@dataclass(frozen=True)
class Viewer:
    username: str
    supervisor: bool


class ReviewService:
    def __init__(self, log: ConversationLog, engine: Engine, clock: Clock | None = None, *,
                 threshold: float = DEFAULT_THRESHOLD, project_root: Path = PROJECT_ROOT,
                 names_of: NamesOf | None = None, customer_name: CustomerName | None = None) -> None:
        """`names_of` replaces the whole name lookup (tests); `customer_name` adds the CRM's to the database's."""
        self.log = log
        self.facts = ConversationFacts(engine)
        self.clock = clock or Clock()
        self.inbox = Inbox(engine, self.clock)
        self.collector = InboxCollector(log, self.inbox, self.facts, threshold,
                                        names_of or KnownNames(self.facts, customer_name))
        self.searcher = ConversationSearch(log, self.facts)
        self.threshold = threshold
        self._project_root = project_root
        self._training: TrainingData | None = None

    # --- conversations ----------------------------------------------------------------------------

    def search(self, query: ConversationQuery, viewer: Viewer) -> ConversationPage:
        if not viewer.supervisor:
            query = ConversationQuery(**{**query.__dict__, "handled_by": viewer.username})
        return self.searcher.search(query)

    def resolve(self, conversation: str) -> str:
        """The sender id behind a conversation's pseudonym; NotFound when no conversation has it."""
        known = self.inbox.sender_of(conversation)
        if known is not None:
            return known
        for sender in self.log.senders(limit=RESOLVE_SENDERS):
            if conversation_ref(sender) == conversation:
                return sender
        raise NotFound("conversation", conversation)

    def check_reader(self, sender_id: str, viewer: Viewer) -> None:
        """NotAllowed unless the viewer may read this conversation."""
        if viewer.supervisor or sender_id in self.facts.handled_by(viewer.username):
            return
        raise NotAllowed("not_your_conversation", "a 坐席 reads only conversations of handoffs they handled")

    def transcript(self, sender_id: str) -> TranscriptSource:
        events = self.log.transcript(sender_id, limit=TRANSCRIPT_EVENTS)
        if not events:
            raise NotFound("conversation", conversation_ref(sender_id))
        customer = self.facts.customers_of([sender_id]).get(sender_id) or _slot_customer(events)
        return TranscriptSource(
            sender_id=sender_id, events=events, customer_id=customer, handoffs=self.facts.handoffs_of(sender_id),
            ratings=self.facts.ratings_of([sender_id]).get(sender_id, []),
            in_inbox=self.inbox.present([e.id for e in events if e.is_customer_message]), threshold=self.threshold,
            truncated=len(events) >= TRANSCRIPT_EVENTS)

    # --- the inbox -----------------------------------------------------------------------------------

    def scan(self) -> ScanResult:
        return self.collector.scan()

    def mark(self, sender_id: str, event_id: int) -> tuple[InboxItem, bool]:
        return self.collector.mark(sender_id, event_id)

    def training_data(self) -> TrainingData:
        """The project's intents and examples, read once (a retrained project needs a desk restart to show new ones)."""
        if self._training is None:
            self._training = load_training_data(self._project_root)
        return self._training

    def export(self, batch: str | None = None) -> Export:
        """A new batch of every reviewed item not exported yet (marked exported), or an earlier batch again.
        NotAllowed("nothing_to_export") when there is nothing; NotFound for an unknown batch."""
        now = self.clock.now()
        if batch is not None:
            items = self.inbox.batch(batch)
            if not items:
                raise NotFound("export batch", batch)
            return render_export(items, self.training_data(), batch, max(i.exported_at or now for i in items))
        items = self.inbox.to_export()
        if not items:
            raise NotAllowed("nothing_to_export", "no confirmed or corrected item waits for export")
        name = batch_name(now)
        if self.inbox.batch(name):  # two exports within a second
            name = f"{name}-{secrets.token_hex(2)}"
        export = render_export(items, self.training_data(), name, now)
        self.inbox.mark_exported([i.id for i in items], name)
        return export


def _slot_customer(events: list[LoggedEvent]) -> str | None:
    """The customer_id slot's last value in the conversation (set by the bot when a proof succeeded)."""
    customer = None
    for event in events:
        if event.kind == "slot" and event.action == CUSTOMER_SLOT:
            customer = event.value if isinstance(event.value, str) and event.value else None
    return customer
