"""The right to deletion (PIPL): a customer's conversations deleted, their tickets and handoff records masked.

What is a customer's: the conversations (sender ids) `ConversationLinks` recorded when they proved who
they were, and those of their tickets and handoff sessions. Their tracker-store events are deleted
(the rows go; no key is needed). Tickets and handoff records stay, because the shop's after-sales
and reporting need them, but without the person: the name becomes 张*, the phone 138****8000, the
address stops at the district, and free text (descriptions, summaries, transcripts, comments, the
handoff context and messages, the 服务小结, the 质检 flags quoting the chat) is scrubbed with
`service.privacy` and has the customer's full name replaced by the masked one. Their messages in
the training-data inbox of conversation review (service/review/inbox.py) are deleted, exported or
not: a batch downloaded again leaves them out (a file downloaded before is out of reach). Anonymous
tickets and handoffs of those conversations count as the customer's; another customer's records on
a shared conversation are left alone. The keyed hashes of one-time codes and proof attempts are not
personal data in the clear and stay until they expire; canned replies and the tickets'
notifications (a number and fixed text) hold no customer's words.

Idempotent: a second run finds the conversations through the tickets it masked, deletes nothing more
and changes nothing. The conversation links go last, so an interrupted run can be run again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from handoff import schema as handoff_schema
from handoff.quality_schema import quality_flags
from service.channel_schema import channel_users as U
from service.channel_users import ChannelUsers
from service.conversation_links import ConversationLinks
from service.logs import log_event
from service.privacy import mask_address, mask_email, mask_name, mask_phone, scrub_all
from service.review.schema import review_inbox
from service.tickets import schema as ticket_schema

logger = logging.getLogger(__name__)
T, E, R = ticket_schema.tickets, ticket_schema.ticket_events, ticket_schema.ratings
S, M = handoff_schema.sessions, handoff_schema.messages
EVENTS = sa.table("events", sa.column("sender_id"))  # Rasa's SQL tracker store (connectors/tracker_store.py too)
CHUNK = 500  # sender ids per IN (...)
NAME_KEYS = frozenset({"name", "customer_name", "contact_name", "receiver_name", "full_name"})


class TrackerEvents(Protocol):
    """Where the conversations are kept."""

    def delete(self, sender_ids: Sequence[str]) -> int:
        """Delete every stored event of these conversations; how many were deleted."""
        ...


class SQLTrackerEvents:
    """The `events` table of Rasa's SQL tracker store: rows are deleted by sender id, never read."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def delete(self, sender_ids: Sequence[str]) -> int:
        if not sender_ids or not sa.inspect(self._engine).has_table("events"):
            return 0
        deleted = 0
        with self._engine.begin() as conn:
            for chunk in _chunks(sender_ids):
                deleted += int(conn.execute(EVENTS.delete().where(EVENTS.c.sender_id.in_(chunk))).rowcount or 0)
        return deleted

    def dispose(self) -> None:
        self._engine.dispose()


class NoTrackerEvents:
    """A tracker store in memory: nothing of the conversations is at rest."""

    def delete(self, sender_ids: Sequence[str]) -> int:
        return 0


@dataclass(frozen=True)
class Holdings:
    """What the bot keeps of one customer (ids only)."""

    sender_ids: tuple[str, ...]
    ticket_ids: tuple[int, ...]
    session_ids: tuple[str, ...]


@dataclass(frozen=True)
class Erased:
    """Counts of what `forget` did; no personal data."""

    conversations: int = 0
    tracker_events: int = 0
    tickets: int = 0
    ticket_events: int = 0
    ratings: int = 0
    handoff_sessions: int = 0
    handoff_messages: int = 0
    links: int = 0
    review_items: int = 0  # deleted from the training-data inbox


class Masker:
    """Masks one customer's personal data, in free text and in JSON records; masking twice changes nothing."""

    def __init__(self, names: Iterable[str]) -> None:
        clear = {name.strip() for name in names if name and "*" not in name and len(name.strip()) >= 2}
        self._names = sorted(clear, key=len, reverse=True)

    def text(self, value: str) -> str:
        value = scrub_all(value)
        for name in self._names:
            value = value.replace(name, mask_name(name))
        return value

    def field(self, key: str, value: str) -> str:
        """A value under `key`: a phone, address, e-mail or name field masked whole, anything else as text."""
        key = key.lower()
        mask = (mask_phone if "phone" in key or "mobile" in key else mask_address if "address" in key
                else mask_email if "email" in key else mask_name if key in NAME_KEYS else None)
        if mask is None:
            return self.text(value)
        return value if "*" in value or not value.strip() else mask(value)  # masked already: as it is

    def data(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.data(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(item, key) for item in value]
        if isinstance(value, str):
            return self.field(key, value)
        return value

    def json_text(self, raw: str | None) -> str | None:
        if not raw:
            return raw
        try:
            return json.dumps(self.data(json.loads(raw)), ensure_ascii=False, default=str)
        except ValueError:
            return self.text(raw)


class CustomerErasure:
    """Finds and forgets one customer's conversations and personal data (synchronous)."""

    def __init__(self, engine: Engine, tracker: TrackerEvents, links: ConversationLinks) -> None:
        self._engine = engine
        self._tracker = tracker
        self._links = links

    def find(self, customer_id: str) -> Holdings:
        senders = list(self._links.senders_of(customer_id))
        channel_users = ChannelUsers(self._engine)
        home = channel_users.home_of(customer_id)
        senders += [home] if home else []
        with self._engine.connect() as conn:
            senders += [row.conversation for row in conn.execute(
                sa.select(U.c.conversation).where(U.c.customer_id == customer_id).distinct())]
            for table in (T, S):
                rows = conn.execute(sa.select(table.c.sender_id).where(table.c.customer_id == customer_id).distinct())
                senders += [row.sender_id for row in rows]
            sender_ids = tuple(dict.fromkeys(s for s in senders if s))
            tickets = [row.id for row in conn.execute(sa.select(T.c.id).where(self._owned(T, customer_id, sender_ids)))]
            sessions = [row.id for row in conn.execute(sa.select(S.c.id).where(self._owned(S, customer_id, sender_ids)))]
        return Holdings(sender_ids, tuple(tickets), tuple(sessions))

    @staticmethod
    def _owned(table: sa.Table, customer_id: str, sender_ids: Sequence[str]) -> Any:
        """The customer's own rows, and the anonymous ones of their conversations."""
        anonymous = sa.and_(table.c.customer_id.is_(None), table.c.sender_id.in_(sender_ids)) if sender_ids else sa.false()
        return sa.or_(table.c.customer_id == customer_id, anonymous)

    def forget(self, customer_id: str) -> Erased:
        held = self.find(customer_id)
        tracker_events = self._tracker.delete(held.sender_ids)
        with self._engine.begin() as conn:
            masker = Masker(self._names(conn, held))
            tickets, ticket_events, ratings = self._mask_tickets(conn, masker, held.ticket_ids)
            sessions, messages = self._mask_handoffs(conn, masker, held.session_ids)
            review_items = self._delete_review_items(conn, held.sender_ids)
        links = self._links.forget(customer_id)
        ChannelUsers(self._engine).forget(customer_id)  # no channel user leads to the customer any more
        erased = Erased(len(held.sender_ids), tracker_events, tickets, ticket_events, ratings, sessions, messages, links,
                        review_items)
        log_event(logger, "customer_forgotten", **vars(erased))
        return erased

    @staticmethod
    def _names(conn: Connection, held: Holdings) -> set[str]:
        names = {row.customer_name for row in conn.execute(sa.select(T.c.customer_name).where(T.c.id.in_(held.ticket_ids)))}
        for row in conn.execute(sa.select(S.c.context_json).where(S.c.id.in_(held.session_ids))):
            try:
                customer = json.loads(row.context_json or "{}").get("customer") or {}
            except (ValueError, AttributeError):
                continue
            names.add(str(customer.get("name") or ""))
        return names

    def _mask_tickets(self, conn: Connection, masker: Masker, ticket_ids: Sequence[int]) -> tuple[int, int, int]:
        tickets = _rewrite(conn, T, T.c.id.in_(ticket_ids), {
            "customer_name": partial(masker.field, "customer_name"),
            "customer_phone": partial(masker.field, "customer_phone"),
            "customer_address": partial(masker.field, "customer_address"),
            "description": masker.text, "summary": masker.text, "transcript": masker.text})
        events = _rewrite(conn, E, E.c.ticket_id.in_(ticket_ids), {"comment": masker.text})
        ratings = _rewrite(conn, R, R.c.ticket_id.in_(ticket_ids), {"comment": masker.text})
        return tickets, events, ratings

    def _mask_handoffs(self, conn: Connection, masker: Masker, session_ids: Sequence[str]) -> tuple[int, int]:
        sessions = _rewrite(conn, S, S.c.id.in_(session_ids), {
            "summary": masker.text, "context_json": masker.json_text,
            "rating_comment": masker.text, "closing_summary": masker.text})
        messages = _rewrite(conn, M, M.c.session_id.in_(session_ids),
                            {"text": masker.text, "entities_json": masker.json_text})
        _rewrite(conn, quality_flags, quality_flags.c.session_id.in_(session_ids),  # 质检 quotes the chat
                 {"detail": masker.text, "note": masker.text})
        return sessions, messages

    @staticmethod
    def _delete_review_items(conn: Connection, sender_ids: Sequence[str]) -> int:
        """The customer's messages in the training-data inbox (masked, but their words): deleted, so no export has
        them again. The tracker events they came from are gone too, so no scan collects them again."""
        deleted = 0
        for chunk in _chunks(sender_ids):
            deleted += int(conn.execute(review_inbox.delete().where(review_inbox.c.sender_id.in_(chunk))).rowcount or 0)
        return deleted


def _rewrite(conn: Connection, table: sa.Table, where: Any, columns: dict[str, Any]) -> int:
    """Apply a function to some columns of the matching rows (NULLs stay); how many rows it changed."""
    key = next(iter(table.primary_key.columns))
    changed = 0
    for row in conn.execute(sa.select(key, *(table.c[name] for name in columns)).where(where)).all():
        values = {name: fix(row._mapping[name]) if row._mapping[name] is not None else None
                  for name, fix in columns.items()}
        values = {name: value for name, value in values.items() if value != row._mapping[name]}
        if values:
            conn.execute(sa.update(table).where(key == row._mapping[key.name]).values(**values))
            changed += 1
    return changed


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]
