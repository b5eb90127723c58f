"""The conversation store Rasa runs on: what it reads back is what the database holds, encrypted."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.tracker_store import CachedSQLTrackerStore, EventCipher, TrackerDecryptionError, fernet_key
from service.settings import SettingsError

KEY = "k" * 20 + "-tracker-key-for-tests-1"
OLD_KEY = "o" * 20 + "-tracker-key-for-tests-0"


@pytest.fixture(autouse=True)
def _restore_log_record_factory() -> Iterator[None]:
    """The store installs log scrubbing for the whole process; the next test gets the factory it had."""
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, query_logistics]
slots:
  order_id:
    type: text
    mappings: [{type: from_entity, entity: order_id}]
  phone:
    type: text
    mappings: [{type: from_entity, entity: phone}]
responses:
  utter_greet: [{text: 您好}]
""")


def store(path: Path, key: str = KEY, **kwargs: Any) -> CachedSQLTrackerStore:
    return CachedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path / "tracker.db"), encryption_key=key, **kwargs)


class RasaReading(SQLTrackerStore):
    """Rasa's own SQLTrackerStore reading the same database, handed each row decrypted: the reference."""

    def _event_query(self, session: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        query, cipher = super()._event_query(session, sender_id, fetch_events_from_all_sessions), EventCipher([KEY])
        return SimpleNamespace(all=lambda: [SimpleNamespace(data=cipher.decrypt(row.data)) for row in query.all()],
                               count=query.count)


def rasa_reading(path: Path) -> SQLTrackerStore:
    return RasaReading(domain=DOMAIN, dialect="sqlite", db=str(path / "tracker.db"))


def turn(text: str, intent: str, order_id: str | None = None) -> list[Event]:
    events: list[Event] = [UserUttered(text, intent={"name": intent, "confidence": 0.98})]
    if order_id:
        events.append(SlotSet("order_id", order_id))
    return events + [ActionExecuted("utter_greet"), BotUttered("您好"), ActionExecuted("action_listen")]


async def say(tracker_store: TrackerStore, sender: str, events: list[Event]) -> DialogueStateTracker:
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
    cached, plain = store(tmp_path), rasa_reading(tmp_path)
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


async def test_exists_says_what_retrieve_would_find(tmp_path: Path) -> None:
    cached, plain = store(tmp_path), rasa_reading(tmp_path)
    assert not await cached.exists("c1") and not await plain.exists("c1")
    await say(cached, "c1", turn("你好", "greet"))
    assert await cached.exists("c1") and await plain.exists("c1")
    assert not await cached.exists("c2")


async def test_a_sqlite_file_is_written_through_pooled_connections_with_the_write_ahead_log(tmp_path: Path) -> None:
    cached = store(tmp_path)
    await say(cached, "c1", turn("你好", "greet"))
    assert type(cached.engine.pool).__name__ == "QueuePool"
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dump(await rasa_reading(tmp_path).retrieve("c1")) == dump(await cached.retrieve("c1"))


async def test_a_new_session_reads_back_from_its_start(tmp_path: Path) -> None:
    cached, plain = store(tmp_path), rasa_reading(tmp_path)
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
    assert dump(await there.retrieve("c1")) == dump(await rasa_reading(tmp_path).retrieve("c1"))
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
    assert dump(await cached.retrieve("c1")) == dump(await rasa_reading(tmp_path).retrieve("c1"))


# --- encryption at rest ----------------------------------------------------------------------------------

CUSTOMER_SAYS = "我叫张伟，电话13800138000，地址浙江省杭州市西湖区文三路100号"
PERSONAL = ("13800138000", "张伟", "文三路", "西湖区", "杭州")


def personal_turn() -> list[Event]:
    parse_data = {"intent": {"name": "greet", "confidence": 0.9}, "text": CUSTOMER_SAYS,
                  "entities": [{"entity": "phone", "value": "13800138000", "start": 7, "end": 18}]}
    return [UserUttered(CUSTOMER_SAYS, intent=parse_data["intent"], entities=parse_data["entities"], parse_data=parse_data),
            SlotSet("phone", "13800138000"), ActionExecuted("utter_greet"),
            BotUttered("好的张伟，已记下您的电话13800138000"), ActionExecuted("action_listen")]


def raw_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path / "tracker.db") as connection:
        return connection.execute("SELECT * FROM events ORDER BY id").fetchall()


def in_plain_text(value: str, rows: list[tuple]) -> bool:
    """As written, or as JSON with ensure_ascii writes it (Rasa's own store: 张伟 is \\u5f20\\u4f1f)."""
    dump = "\n".join(str(column) for row in rows for column in row)
    return value in dump or json.dumps(value)[1:-1] in dump


async def test_the_database_holds_no_phone_name_or_address_in_plain_text(tmp_path: Path) -> None:
    await say(store(tmp_path), "c1", personal_turn())

    rows = raw_rows(tmp_path)
    assert len(rows) >= 6
    for value in PERSONAL:
        assert not in_plain_text(value, rows), value
    tracker = await store(tmp_path).retrieve("c1")  # a fresh process reads it all back
    assert tracker is not None and tracker.get_slot("phone") == "13800138000"
    assert tracker.latest_message.text == CUSTOMER_SAYS
    assert tracker.latest_message.parse_data["entities"][0]["value"] == "13800138000"
    assert [e.text for e in tracker.events if isinstance(e, BotUttered)] == ["好的张伟，已记下您的电话13800138000"]


async def test_every_reading_path_decrypts(tmp_path: Path) -> None:
    writer = store(tmp_path)
    await say(writer, "c1", [SessionStarted(timestamp=1.0), ActionExecuted("action_listen", timestamp=1.1)])
    await say(writer, "c1", personal_turn())
    await say(writer, "c1", [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")])
    await say(writer, "c1", turn("在吗", "greet"))

    reader = store(tmp_path, cache_size=0)
    full = await reader.retrieve_full_tracker("c1")
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == [CUSTOMER_SAYS, "在吗"]
    assert dump(full) == dump(await rasa_reading(tmp_path).retrieve_full_tracker("c1"))
    assert await reader.exists("c1") and set(await reader.keys()) == {"c1"}
    tracker = await say(reader, "c1", turn("谢谢", "greet"))  # save counts what is stored without reading it wrongly
    assert dump(await reader.retrieve("c1")) == dump(tracker)


async def test_a_store_with_the_wrong_key_refuses_to_start(tmp_path: Path) -> None:
    await say(store(tmp_path), "c1", personal_turn())
    with pytest.raises(SettingsError, match="TRACKER_ENCRYPTION_KEY does not decrypt"):
        store(tmp_path, key="w" * 40)


async def test_a_conversation_the_keys_cannot_open_is_refused_and_rasa_carries_on(tmp_path: Path) -> None:
    """Rows of a key no longer configured: a clear error; Rasa's fail-safe wrapper serves from memory, writes nothing."""
    ours, foreign = store(tmp_path), store(tmp_path, key="w" * 40)
    await say(foreign, "c1", personal_turn())
    await say(ours, "c2", turn("你好", "greet"))
    with pytest.raises(TrackerDecryptionError, match="TRACKER_ENCRYPTION_KEY"):
        await ours.retrieve("c1")
    with pytest.raises(TrackerDecryptionError):
        await ours.retrieve_full_tracker("c1")

    rows_before = len(raw_rows(tmp_path))
    errors: list[Exception] = []
    rasa_view = FailSafeTrackerStore(ours, on_tracker_store_error=errors.append)  # how Rasa's Agent wraps every store
    tracker = await say(rasa_view, "c1", turn("在吗", "greet"))
    assert tracker.latest_message.text == "在吗"  # the conversation goes on, without its history
    assert errors and all(isinstance(error, TrackerDecryptionError) for error in errors)
    assert len(raw_rows(tmp_path)) == rows_before
    assert (await foreign.retrieve("c1")).get_slot("phone") == "13800138000"  # the rows are intact


async def test_keys_rotate_the_first_encrypts_all_decrypt(tmp_path: Path) -> None:
    await say(store(tmp_path, key=OLD_KEY), "c1", turn("你好", "greet", "E202611010001"))
    rotated = store(tmp_path, key=f"{KEY},{OLD_KEY}")
    tracker = await rotated.retrieve("c1")
    assert tracker is not None and tracker.get_slot("order_id") == "E202611010001"
    await say(rotated, "c1", personal_turn())

    newest = raw_rows(tmp_path)[-1][-1]  # the data column of the newest row: under the new key only
    assert json.loads(Fernet(fernet_key(KEY)).decrypt(newest.encode()))["event"] == "action"
    assert [e.text for e in (await store(tmp_path, key=f"{KEY},{OLD_KEY}").retrieve("c1")).events
            if isinstance(e, UserUttered)] == ["你好", CUSTOMER_SAYS]
    with pytest.raises(TrackerDecryptionError):  # the old key dropped too early: the old rows are unreadable
        await store(tmp_path, key=KEY).retrieve("c1")


async def test_rows_written_before_encryption_still_read(tmp_path: Path) -> None:
    before = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))  # plain JSON rows
    await say(before, "c1", turn("你好", "greet", "E202611010001"))
    assert all(row[-1].startswith("{") for row in raw_rows(tmp_path))

    after = store(tmp_path)
    tracker = await after.retrieve("c1")
    assert dump(tracker) == dump(await before.retrieve("c1"))
    await say(after, "c1", turn("谢谢", "greet"))
    assert [e.text for e in (await store(tmp_path, cache_size=0).retrieve("c1")).events
            if isinstance(e, UserUttered)] == ["你好", "谢谢"]
    assert not raw_rows(tmp_path)[-1][-1].startswith("{")


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


async def test_events_streamed_to_a_broker_are_masked_and_the_store_keeps_them_whole(tmp_path: Path) -> None:
    broker = RecordingBroker()
    tracker_store = store(tmp_path, event_broker=broker)
    await say(tracker_store, "c1", personal_turn())

    published = json.dumps(broker.published, ensure_ascii=False)
    assert {event["event"] for event in broker.published} >= {"user", "slot", "bot"}
    assert "13800138000" not in published and "文三路" not in published and "138****8000" in published
    assert (await store(tmp_path).retrieve("c1")).get_slot("phone") == "13800138000"


async def test_each_database_holds_the_events_encrypted(database_url: str) -> None:
    """SQLite, and PostgreSQL in the `postgres` suite (the scaled mode's tracker store), read raw with SQLAlchemy."""
    import sqlalchemy as sa

    writer = CachedSQLTrackerStore(domain=DOMAIN, host=database_url, encryption_key=KEY)
    reader = CachedSQLTrackerStore(domain=DOMAIN, host=database_url, encryption_key=KEY, cache_size=0)
    try:
        await say(writer, "c1", personal_turn())
        with writer.engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(sa.text("SELECT * FROM events"))]
        assert rows and not any(in_plain_text(value, rows) for value in PERSONAL)
        assert (await reader.retrieve("c1")).get_slot("phone") == "13800138000"
    finally:
        writer.engine.dispose()
        reader.engine.dispose()
