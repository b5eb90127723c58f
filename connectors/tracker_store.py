"""Rasa's SQL tracker store, with the latest session of recent conversations kept in memory.

Profiling the Rasa server under handoff load showed a quarter of its CPU rebuilding trackers from
SQL on every message: the events query, JSON, and Rasa's event classes, for a conversation that
grows with every message. This store keeps what `retrieve` would return (the events of the
latest session) for the most recently used conversations, and trusts it only while the newest
event id of the conversation in the database is the one it remembers: one indexed query, so a
database shared by several Rasa processes, or written from outside, is still read right.

Writes go to the database exactly as with `SQLTrackerStore`; the memory is updated only after
the commit, and dropped when a write fails.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker

DEFAULT_CACHE_SIZE = 256


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
    """`SQLTrackerStore` that rebuilds a tracker from memory when the database has nothing newer."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: OrderedDict[str, CachedSession] = OrderedDict()
        self._cache_size = max(0, int(cache_size))

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

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            last_event_id = self._last_event_id(session, sender_id)
            cached = self._cached(sender_id, last_event_id)
            if cached is not None:
                events = cached.events
            else:
                rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
                events = tuple(deserialise_events([json.loads(row.data) for row in rows]))
                self._remember(sender_id, last_event_id, events)
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_events(sender_id, list(events), self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        cached = self._cache.pop(sender_id, None)  # back only once this write has committed
        with self.session_scope() as session:
            stored_last_id = self._last_event_id(session, sender_id)
            if cached is not None and cached.last_event_id == stored_last_id:
                already_stored = len(cached.events)
            else:
                already_stored = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()
            rows = [self._row(sender_id, event) for event in itertools.islice(tracker.events, already_stored, None)]
            session.add_all(rows)
            session.flush()  # assigns the ids
            last_event_id = rows[-1].id if rows else stored_last_id
            session.commit()
        self._remember(sender_id, last_event_id, latest_session(tracker.events))

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=((data.get("parse_data") or {}).get("intent") or {}).get("name"),
            action_name=data.get("name"),
            data=json.dumps(data),
        )
