"""The training-data inbox: customer messages the NLU fell back on or was unsure of, and those a reviewer marked;
a designer confirms the NLU's guess, corrects it (to a known intent or a new one) or discards the item, and the
reviewed items go out in export batches (service/review/export.py).

One item per tracker event (the events table's id): collecting twice, or marking a message already collected,
adds nothing. The text is stored masked (service/review/masking.py). Synchronous; async callers use a thread.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from service.clock import Clock
from service.errors import InvalidInput, NotAllowed, NotFound
from service.privacy import conversation_ref
from service.review.intents import check_intent_name
from service.review.schema import review_inbox as I
from service.review.schema import review_scans as S

FALLBACK, LOW_CONFIDENCE, MARKED = "fallback", "low_confidence", "marked"
SOURCES = (FALLBACK, LOW_CONFIDENCE, MARKED)
NEW, CONFIRMED, CORRECTED, DISCARDED = "new", "confirmed", "corrected", "discarded"
STATUSES = (NEW, CONFIRMED, CORRECTED, DISCARDED)
REVIEWED = (CONFIRMED, CORRECTED)  # what an export takes
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000
MAX_BATCH = 5_000  # items in one export
CHUNK = 500


@dataclass(frozen=True)
class NewItem:
    event_id: int
    sender_id: str
    text: str  # already masked
    guess: str
    confidence: float | None
    source: str
    said_at: datetime  # naive CST


@dataclass(frozen=True)
class InboxItem:
    id: int
    event_id: int
    sender_id: str
    conversation: str
    text: str
    guess: str
    confidence: float | None
    source: str
    status: str
    intent: str | None
    reviewer: str | None
    said_at: datetime
    collected_at: datetime
    reviewed_at: datetime | None
    batch: str | None
    exported_at: datetime | None

    @property
    def training_intent(self) -> str | None:
        """The intent this message is an example of, once reviewed (None while new or discarded)."""
        return self.intent if self.status in REVIEWED else None


@dataclass(frozen=True)
class InboxQuery:
    status: str | None = None
    source: str | None = None
    exported: bool | None = None
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    total: int
    page: int
    page_size: int
    counts: dict[str, int]  # per status, over the whole inbox


def _item(row: Row) -> InboxItem:
    return InboxItem(**dict(row._mapping))


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment


class Inbox:
    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or Clock()

    # --- collecting ------------------------------------------------------------------------------

    def add(self, items: Sequence[NewItem]) -> list[int]:
        """Add the items whose event is not in the inbox yet; the event ids added."""
        added: list[int] = []
        now = self._clock.now()
        for start in range(0, len(items), CHUNK):
            chunk = list({item.event_id: item for item in items[start:start + CHUNK]}.values())
            with self._engine.connect() as conn:
                present = self._present(conn, [item.event_id for item in chunk])
            for item in chunk:
                if item.event_id in present or item.source not in SOURCES:
                    continue
                try:
                    with self._engine.begin() as conn:
                        conn.execute(insert(I).values(
                            event_id=item.event_id, sender_id=item.sender_id[:200],
                            conversation=conversation_ref(item.sender_id), text=item.text, guess=item.guess[:80],
                            confidence=item.confidence, source=item.source, status=NEW, said_at=_naive(item.said_at),
                            collected_at=now))
                    added.append(item.event_id)
                except IntegrityError:  # collected meanwhile by another desk
                    continue
        return added

    @staticmethod
    def _present(conn: Connection, event_ids: Collection[int]) -> set[int]:
        if not event_ids:
            return set()
        return {row.event_id for row in conn.execute(select(I.c.event_id).where(I.c.event_id.in_(list(event_ids))))}

    def present(self, event_ids: Collection[int]) -> set[int]:
        """Which of these events are in the inbox already."""
        found: set[int] = set()
        ids = list(event_ids)
        with self._engine.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                found |= self._present(conn, ids[start:start + CHUNK])
        return found

    def last_scanned(self, scanner: str) -> int:
        with self._engine.connect() as conn:
            row = conn.execute(select(S.c.last_event_id).where(S.c.name == scanner)).first()
        return int(row.last_event_id) if row is not None else 0

    def scanned(self, scanner: str, last_event_id: int) -> None:
        """The scan read every event up to `last_event_id` (it never moves back)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            if conn.execute(update(S).where(S.c.name == scanner).values(
                    last_event_id=func.max(S.c.last_event_id, last_event_id) if conn.dialect.name == "sqlite"
                    else func.greatest(S.c.last_event_id, last_event_id), scanned_at=now)).rowcount:
                return
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(S).values(name=scanner, last_event_id=last_event_id, scanned_at=now))
        except IntegrityError:
            self.scanned(scanner, last_event_id)

    # --- reading -----------------------------------------------------------------------------------

    def get(self, item_id: int) -> InboxItem:
        with self._engine.connect() as conn:
            row = conn.execute(select(I).where(I.c.id == item_id)).first()
        if row is None:
            raise NotFound("inbox item", str(item_id))
        return _item(row)

    def by_event(self, event_id: int) -> InboxItem | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(I).where(I.c.event_id == event_id)).first()
        return _item(row) if row is not None else None

    def sender_of(self, conversation: str) -> str | None:
        """The sender id of a conversation with an item here, by its pseudonym."""
        with self._engine.connect() as conn:
            row = conn.execute(select(I.c.sender_id).where(I.c.conversation == conversation).limit(1)).first()
        return row.sender_id if row is not None else None

    def search(self, query: InboxQuery) -> InboxPage:
        """Oldest message first (the order they came in), filtered by status, source and whether exported."""
        if not 1 <= query.page <= MAX_PAGE or not 1 <= query.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput("page", f"1 ≤ page ≤ {MAX_PAGE} and 1 ≤ page_size ≤ {MAX_PAGE_SIZE}")
        conditions = []
        if query.status:
            conditions.append(I.c.status == query.status)
        if query.source:
            conditions.append(I.c.source == query.source)
        if query.exported is not None:
            conditions.append(I.c.exported_at.is_not(None) if query.exported else I.c.exported_at.is_(None))
        where = and_(True, *conditions)
        with self._engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(I).where(where)).scalar_one())
            rows = conn.execute(select(I).where(where).order_by(I.c.said_at, I.c.id)
                                .limit(query.page_size).offset((query.page - 1) * query.page_size))
            items = [_item(row) for row in rows]
            counts = {status: 0 for status in STATUSES}
            counts.update({row.status: int(row.n) for row in conn.execute(
                select(I.c.status, func.count().label("n")).group_by(I.c.status))})
        return InboxPage(items, total, query.page, query.page_size, counts)

    # --- reviewing ---------------------------------------------------------------------------------

    def review(self, item_id: int, status: str, intent: str | None, reviewer: str) -> InboxItem:
        """A designer's verdict. confirmed: the NLU's guess was right; corrected: it is `intent` (known or new);
        discarded: not training data; new: undo. An exported item stays as it went out."""
        if status not in STATUSES:
            raise InvalidInput("status", f"status must be one of {', '.join(STATUSES)}")
        item = self.get(item_id)
        if item.exported_at is not None:
            raise NotAllowed("already_exported", f"the item went out in export {item.batch}: it cannot change")
        chosen: str | None = None
        if status == CONFIRMED:
            if intent not in (None, "") and check_intent_name(intent) != item.guess:
                status, chosen = CORRECTED, check_intent_name(intent)
            else:
                try:
                    chosen = check_intent_name(item.guess)
                except InvalidInput as exc:
                    raise NotAllowed("nothing_to_confirm", "the NLU had no intent to confirm here: correct it to "
                                                           "the intent the customer meant") from exc
        elif status == CORRECTED:
            chosen = check_intent_name(intent)
            if chosen == item.guess:
                status = CONFIRMED
        values = {"status": status, "intent": chosen, "reviewer": reviewer[:32] if status != NEW else None,
                  "reviewed_at": self._clock.now() if status != NEW else None}
        with self._engine.begin() as conn:
            changed = conn.execute(update(I).where(I.c.id == item_id, I.c.exported_at.is_(None)).values(**values))
        if not changed.rowcount:
            raise NotAllowed("already_exported", "the item was exported meanwhile: it cannot change")
        return self.get(item_id)

    # --- exporting ---------------------------------------------------------------------------------

    def to_export(self, limit: int = MAX_BATCH) -> list[InboxItem]:
        """Reviewed items (confirmed or corrected) not exported yet, in the order they were reviewed."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(I).where(I.c.status.in_(REVIEWED), I.c.exported_at.is_(None))
                                .order_by(I.c.reviewed_at, I.c.id).limit(limit))
            return [_item(row) for row in rows]

    def mark_exported(self, item_ids: Collection[int], batch: str) -> int:
        """The items went out in `batch`; how many were marked (one already exported is left as it was)."""
        ids, marked, now = list(item_ids), 0, self._clock.now()
        with self._engine.begin() as conn:
            for start in range(0, len(ids), CHUNK):
                marked += int(conn.execute(update(I).where(I.c.id.in_(ids[start:start + CHUNK]),
                                                           I.c.exported_at.is_(None))
                                           .values(batch=batch[:32], exported_at=now)).rowcount or 0)
        return marked

    def batch(self, batch: str) -> list[InboxItem]:
        """The items of an earlier export, to download it again."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(I).where(I.c.batch == batch).order_by(I.c.reviewed_at, I.c.id).limit(MAX_BATCH))
            return [_item(row) for row in rows]

    def batches(self, limit: int = 20) -> list[tuple[str, datetime, int]]:
        """The latest exports: (batch, when, items)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(I.c.batch, func.max(I.c.exported_at).label("at"), func.count().label("n"))
                                .where(I.c.batch.is_not(None)).group_by(I.c.batch)
                                .order_by(func.max(I.c.exported_at).desc()).limit(limit))
            return [(row.batch, row.at, int(row.n)) for row in rows]
