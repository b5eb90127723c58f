"""Rasa's SQL tracker store, with every event encrypted at rest and recent conversations kept in memory.

Encryption (China's PIPL; no Rasa edition encrypts its tracker stores): the `data` column of every
event row, which holds what the customer wrote, the NLU result, slot values and the bot's replies, is a
Fernet token (AES-128-CBC with an HMAC). The keys come from TRACKER_ENCRYPTION_KEY (generated into
var/tracker_key in embedded mode): comma-separated strings of 32 characters or more, each made a
Fernet key with SHA-256. The first key encrypts, all of them decrypt, so a key is rotated by putting
the new one first and keeping the old one after it. Rows written before encryption (plain JSON) are
still read. The other columns (sender id, event type, intent and action names, timestamp) stay plain:
Rasa's queries need them and they carry nothing the customer wrote.

A key that does not open the newest stored event stops the store at start-up (SettingsError, naming
the setting). A conversation that one of the keys cannot open raises TrackerDecryptionError; Rasa's
FailSafeTrackerStore logs it and carries on with an empty conversation held in memory, and nothing is
written over the rows it could not read.

The cache: profiling the Rasa server under handoff load showed a quarter of its CPU rebuilding
trackers from SQL on every message: the events query, JSON, and Rasa's event classes, for a
conversation that grows with every message. This store keeps what `retrieve` would return (the
events of the latest session) for the most recently used conversations, and trusts it only while the
newest event id of the conversation in the database is the one it remembers: one indexed query, so
a database shared by several Rasa processes, or written from outside, is still read right. Writes go
to the database as with `SQLTrackerStore`; the memory is updated only after the commit, and dropped
when a write fails.

A SQLite file (embedded mode) gets what `service/db.py` gives the other SQLite databases: pooled connections, the
write-ahead log and `synchronous=NORMAL`. Rasa opens it with SQLAlchemy 1.4's NullPool (a new connection for every
read and write) and SQLite's defaults (a rollback journal, synced on every commit): a tracker write took 1.8 ms
there and 0.7 ms here, on the Rasa server's event loop (2026-12-04). `exists` asks for the newest event id instead
of rebuilding the tracker, as Rasa's does for each desk event it is sent.

Events this store streams to an event broker have phone numbers, ID numbers, e-mails and street
addresses masked, whatever the broker (connectors/event_broker.py does the same for Pika).
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine

from service.db import make_engine
from service.event_cipher import (  # noqa: F401  (re-exported: the store's cipher lives in service/ for the desk)
    KEY_SETTING,
    ROTATION_HINT,
    UNENCRYPTED_PREFIX,
    EventCipher,
    TrackerDecryptionError,
    fernet_key,
)
from service.logs import install_log_scrubbing
from service.privacy import scrub_event
from service.settings import SettingsError, get_settings

DEFAULT_CACHE_SIZE = 256


def configured_key() -> str:
    """TRACKER_ENCRYPTION_KEY, else (embedded mode) the key generated once into <var_dir>/tracker_key."""
    from service.secrets import stored_secret

    return stored_secret(get_settings(), KEY_SETTING)


@dataclass(frozen=True)
class CachedSession:
    last_event_id: int
    events: tuple[Event, ...]  # the latest session's events, as `retrieve` returns them


def latest_session(events: Iterable[Event]) -> tuple[Event, ...]:
    """The events `SQLTrackerStore` reads back: from the newest SessionStarted's timestamp on."""
    events = tuple(events)
    starts = [event.timestamp for event in events if isinstance(event, SessionStarted)]
    if not starts:
        return events
    since = max(starts)
    return tuple(event for event in events if event.timestamp >= since)


class CachedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with encrypted events, rebuilding a tracker from memory when the database has nothing newer."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, encryption_key: str | None = None,
                 **kwargs: Any) -> None:
        install_log_scrubbing()  # Rasa's own DEBUG lines quote what customers write; `rasa run` alone is covered too
        self._cipher = EventCipher.from_setting(encryption_key or configured_key())
        super().__init__(*args, **kwargs)
        self._pool_sqlite_file()
        self._cache: OrderedDict[str, CachedSession] = OrderedDict()
        self._cache_size = max(0, int(cache_size))
        self._check_key()

    def _pool_sqlite_file(self) -> None:
        """A SQLite file: pooled connections, WAL and synchronous=NORMAL (service/db.py) instead of Rasa's NullPool."""
        rasas: Engine = self.engine  # type: ignore[has-type]  # Rasa sets it in __init__, unannotated
        url = rasas.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return
        rasas.dispose()
        self.engine = make_engine(url.render_as_string(hide_password=False), future=False)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def exists(self, conversation_id: str) -> bool:
        """Whether `retrieve` would find the conversation, from its newest event id alone (no tracker rebuilt)."""
        if not self.domain:
            return False
        with self.session_scope() as session:
            return self._last_event_id(session, conversation_id) is not None

    def _check_key(self) -> None:
        """Refuse to start with keys that do not open the newest stored event."""
        with self.session_scope() as session:
            newest = session.query(self.SQLEvent.data).order_by(self.SQLEvent.id.desc()).limit(1).scalar()
        if newest is None:
            return
        try:
            self._cipher.decrypt(newest)
        except TrackerDecryptionError:
            raise SettingsError(f"{KEY_SETTING} does not decrypt the conversations already in the tracker store "
                                f"({ROTATION_HINT})") from None

    def _events(self, rows: Iterable[Any]) -> tuple[Event, ...]:
        return tuple(deserialise_events([json.loads(self._cipher.decrypt(row.data)) for row in rows]))

    def _last_event_id(self, session: Any, sender_id: str) -> int | None:
        return session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()

    def _cached(self, sender_id: str, last_event_id: int | None) -> CachedSession | None:
        cached = self._cache.get(sender_id)
        if cached is None or last_event_id is None or cached.last_event_id != last_event_id:
            return None
        self._cache.move_to_end(sender_id)
        return cached

    def _remember(self, sender_id: str, last_event_id: int | None, events: tuple[Event, ...]) -> None:
        if last_event_id is None or not self._cache_size:
            self._cache.pop(sender_id, None)
            return
        self._cache[sender_id] = CachedSession(last_event_id, events)
        self._cache.move_to_end(sender_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _tracker(self, sender_id: str, events: tuple[Event, ...]) -> DialogueStateTracker | None:
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_events(sender_id, list(events), self.domain.slots)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            last_event_id = self._last_event_id(session, sender_id)
            cached = self._cached(sender_id, last_event_id)
            if cached is not None:
                events = cached.events
            else:
                events = self._events(self._event_query(session, sender_id, fetch_events_from_all_sessions=False))
                self._remember(sender_id, last_event_id, events)
        return self._tracker(sender_id, events)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self._retrieve(conversation_id, fetch_events_from_all_sessions=True)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Every reading path of `SQLTrackerStore` comes here (or to `retrieve`): the rows are decrypted."""
        with self.session_scope() as session:
            events = self._events(self._event_query(session, sender_id, fetch_events_from_all_sessions))
        return self._tracker(sender_id, events)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        cached = self._cache.pop(sender_id, None)  # back only once this write has committed
        with self.session_scope() as session:
            stored_last_id = self._last_event_id(session, sender_id)
            if cached is not None and cached.last_event_id == stored_last_id:
                already_stored = len(cached.events)
            else:
                self._check_readable(session, stored_last_id)
                already_stored = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()
            rows = [self._row(sender_id, event) for event in itertools.islice(tracker.events, already_stored, None)]
            session.add_all(rows)
            session.flush()  # assigns the ids
            last_event_id = rows[-1].id if rows else stored_last_id
            session.commit()
        self._remember(sender_id, last_event_id, latest_session(tracker.events))

    def _check_readable(self, session: Any, last_event_id: int | None) -> None:
        """Append to a stored conversation only if its newest event opens with our keys (one row, by primary key)."""
        if last_event_id is None:
            return
        newest = session.query(self.SQLEvent.data).filter(self.SQLEvent.id == last_event_id).scalar()
        if newest is not None:
            self._cipher.decrypt(newest)

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=((data.get("parse_data") or {}).get("intent") or {}).get("name"),
            action_name=data.get("name"),
            data=self._cipher.encrypt(json.dumps(data, ensure_ascii=False)),
        )

    async def _stream_new_events(self, event_broker: EventBroker, new_events: list[Event], sender_id: str) -> None:
        """What `TrackerStore` publishes, with personal data masked in every string."""
        for event in new_events:
            event_broker.publish(scrub_event({"sender_id": sender_id, **event.as_dict()}))
