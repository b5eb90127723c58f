"""The conversation store Rasa runs on: what it reads back is what the database holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.tracker_store import CachedSQLTrackerStore

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, query_logistics]
slots:
  order_id:
    type: text
    mappings: [{type: from_entity, entity: order_id}]
responses:
  utter_greet: [{text: 您好}]
""")


def store(path: Path, cls: type[SQLTrackerStore] = CachedSQLTrackerStore, **kwargs: object) -> SQLTrackerStore:
    return cls(domain=DOMAIN, dialect="sqlite", db=str(path / "tracker.db"), **kwargs)


def turn(text: str, intent: str, order_id: str | None = None) -> list[Event]:
    events: list[Event] = [UserUttered(text, intent={"name": intent, "confidence": 0.98})]
    if order_id:
        events.append(SlotSet("order_id", order_id))
    return events + [ActionExecuted("utter_greet"), BotUttered("您好"), ActionExecuted("action_listen")]


async def say(tracker_store: SQLTrackerStore, sender: str, events: list[Event]) -> DialogueStateTracker:
    """One message handled the way Rasa does it: read the conversation, add events, write it back."""
    tracker = await tracker_store.get_or_create_tracker(sender)
    for event in events:
        tracker.update(event)
    await tracker_store.save(tracker)
    return tracker


def dump(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


async def test_a_conversation_reads_back_as_rasas_own_sql_store_reads_it(tmp_path: Path) -> None:
    cached, plain = store(tmp_path), store(tmp_path, SQLTrackerStore)
    await say(cached, "c1", [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")])
    await say(cached, "c1", turn("你好", "greet"))
    await say(cached, "c1", turn("E202611010001到哪了", "query_logistics", "E202611010001"))
    await say(cached, "c2", turn("在吗", "greet"))

    for sender in ("c1", "c2"):
        assert dump(await cached.retrieve(sender)) == dump(await plain.retrieve(sender))
    tracker = await cached.retrieve("c1")
    assert tracker is not None and tracker.get_slot("order_id") == "E202611010001"
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["你好", "E202611010001到哪了"]
    assert await cached.retrieve("nobody") is None


async def test_a_new_session_reads_back_from_its_start(tmp_path: Path) -> None:
    cached, plain = store(tmp_path), store(tmp_path, SQLTrackerStore)
    await say(cached, "c1", [SessionStarted(timestamp=1.0), ActionExecuted("action_listen", timestamp=1.1)])
    await say(cached, "c1", turn("你好", "greet", "E202611010001"))
    await say(cached, "c1", [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")])
    await say(cached, "c1", turn("在吗", "greet"))

    tracker = await cached.retrieve("c1")
    assert dump(tracker) == dump(await plain.retrieve("c1"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["在吗"]
    assert tracker.get_slot("order_id") is None
    full = await plain.retrieve_full_tracker("c1")
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == ["你好", "在吗"]  # nothing lost


async def test_what_another_rasa_process_wrote_is_read_not_the_remembered_copy(tmp_path: Path) -> None:
    here, there = store(tmp_path), store(tmp_path)
    await say(here, "c1", turn("你好", "greet"))
    await say(there, "c1", turn("E202611010001到哪了", "query_logistics", "E202611010001"))

    tracker = await here.retrieve("c1")
    assert tracker is not None and tracker.get_slot("order_id") == "E202611010001"
    await say(here, "c1", turn("谢谢", "greet"))
    assert dump(await there.retrieve("c1")) == dump(await store(tmp_path, SQLTrackerStore).retrieve("c1"))
    assert len([e for e in (await there.retrieve("c1")).events if isinstance(e, UserUttered)]) == 3


async def test_a_failed_write_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = store(tmp_path)
    await say(cached, "c1", turn("你好", "greet"))
    tracker = await cached.retrieve("c1")
    tracker.update(SlotSet("order_id", "E202611010001"))
    monkeypatch.setattr(cached, "_row", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        await cached.save(tracker)
    monkeypatch.undo()

    again = await cached.retrieve("c1")
    assert again is not None and again.get_slot("order_id") is None  # what the database holds


async def test_only_the_most_recent_conversations_are_kept_in_memory(tmp_path: Path) -> None:
    cached = store(tmp_path, cache_size=2)
    for sender in ("c1", "c2", "c3"):
        await say(cached, sender, turn("你好", "greet"))
    assert list(cached._cache) == ["c2", "c3"]
    assert dump(await cached.retrieve("c1")) == dump(await store(tmp_path, SQLTrackerStore).retrieve("c1"))
