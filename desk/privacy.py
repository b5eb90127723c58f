"""Customers' personal data from the command line: the right to deletion (service/erasure.py).

    python -m desk.privacy forget C001                  # asks before it changes anything
    python -m desk.privacy forget C001 --yes            # no question (scripts)
    python -m desk.privacy forget C001 --endpoints deploy/endpoints.scaled.yml
    python -m desk.privacy forget C001 --tracker-db postgresql+psycopg2://...

The conversations are deleted from the tracker store named in Rasa's endpoints file (endpoints.yml by
default; the tracker_store section's ${VARS} expanded as Rasa does), or from the database given with
--tracker-db; tickets and handoff records are masked in DATABASE_URL, and the customer's messages in
the training-data inbox deleted. It prints counts, never personal data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL, make_url

from service.clock import Clock
from service.conversation_links import ConversationLinks
from service.db import make_engine
from service.erasure import CustomerErasure, Erased, Holdings, NoTrackerEvents, SQLTrackerEvents, TrackerEvents
from service.logs import install_log_scrubbing
from service.migrate import upgrade
from service.settings import PROJECT_ROOT, Settings, SettingsError, get_settings

DEFAULT_ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
IN_MEMORY_TYPES = ("", "in_memory")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m desk.privacy", description="customers' personal data")
    commands = root.add_subparsers(dest="command", required=True)
    forget = commands.add_parser("forget", help="delete a customer's conversations, mask their tickets and handoffs")
    forget.add_argument("customer_id", help="e.g. C001")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    where = forget.add_mutually_exclusive_group()
    where.add_argument("--endpoints", type=Path, default=DEFAULT_ENDPOINTS,
                       help="Rasa's endpoints file, whose tracker_store is where conversations are (default: endpoints.yml)")
    where.add_argument("--tracker-db", help="the tracker store's database URL, instead of reading --endpoints")
    return root


def tracker_store_config(endpoints: Path) -> Any:
    """Rasa's EndpointConfig of the `tracker_store` section, its ${VARS} expanded as Rasa expands them.

    Only this section's variables need to be set: Rasa's own reader expands the whole file, and this
    command has no use for the others (the action server's token, Redis, ...).
    """
    from rasa.utils.endpoints import EndpointConfig

    if not endpoints.is_file():
        raise ValueError(f"no endpoints file at {endpoints}")
    try:
        content = yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{endpoints} is not YAML: {exc}") from exc
    section = content.get("tracker_store") if isinstance(content, dict) else None
    return EndpointConfig.from_dict(_expanded(section, endpoints)) if section else None


def _expanded(value: Any, endpoints: Path) -> Any:
    if isinstance(value, dict):
        return {key: _expanded(item, endpoints) for key, item in value.items()}
    if isinstance(value, list):
        return [_expanded(item, endpoints) for item in value]
    if isinstance(value, str) and "${" in value:
        expanded = os.path.expandvars(value)
        if "${" in expanded:
            raise ValueError(f"{endpoints}: set the environment variables in {value!r}")
        return expanded
    return value


def tracker_db_url(endpoints: Path) -> URL | None:
    """The database of the SQL tracker store in Rasa's endpoints file; None for a tracker store in memory.

    A relative SQLite path is taken from the endpoints file's folder (Rasa runs from the project root).
    """
    from rasa.core.tracker_store import SQLTrackerStore, validate_port
    from rasa.shared.utils.common import class_from_module_path

    config = tracker_store_config(endpoints)
    kind = (config.type or "").strip() if config else ""
    if kind.lower() in IN_MEMORY_TYPES:
        return None
    try:
        sql = kind.lower() == "sql" or ("." in kind and issubclass(class_from_module_path(kind), SQLTrackerStore))
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{endpoints}: no tracker store class {kind!r}") from exc
    if not sql:
        raise ValueError(f"the tracker store in {endpoints} is {kind!r}, not an SQL one: pass --tracker-db URL")
    options = config.kwargs
    url = make_url(SQLTrackerStore.get_db_url(
        dialect=options.get("dialect", "sqlite"), host=config.url, port=validate_port(options.get("port")),
        db=options.get("db", "rasa.db"), username=options.get("username"), password=options.get("password"),
        query=options.get("query")))
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_absolute():
        url = url.set(database=str(endpoints.resolve().parent / url.database))
    return url


def tracker_events(url: str | URL | None) -> TrackerEvents:
    if url is None:
        return NoTrackerEvents()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():  # never create one: the conversations must be somewhere else
            raise ValueError(f"no tracker database at {parsed.database}: pass --tracker-db URL or --endpoints")
    return SQLTrackerEvents(sa.create_engine(parsed))


def describe(held: Holdings) -> str:
    return (f"{len(held.sender_ids)} conversation(s), {len(held.ticket_ids)} ticket(s), "
            f"{len(held.session_ids)} handoff session(s)")


def report(customer_id: str, erased: Erased) -> str:
    return (f"forgot {customer_id}: {erased.tracker_events} tracker event(s) of {erased.conversations} conversation(s) "
            f"deleted; masked {erased.tickets} ticket(s), {erased.ticket_events} ticket event(s), {erased.ratings} "
            f"rating(s), {erased.handoff_sessions} handoff session(s), "
            f"{erased.handoff_messages} handoff message(s); {erased.review_items} training-data inbox item(s) deleted; "
            f"{erased.links} conversation link(s) removed")


def run(args: argparse.Namespace, erasure: CustomerErasure, ask: Callable[[str], str] = input) -> str:
    """Carry out one command; the line to print. ValueError for a refused one."""
    customer_id = args.customer_id.strip()
    if not customer_id:
        raise ValueError("customer_id is empty")
    held = erasure.find(customer_id)
    if not args.yes and (held.sender_ids or held.ticket_ids or held.session_ids):
        answer = ask(f"{customer_id}: {describe(held)}. Delete the conversations and mask the records? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise ValueError("nothing done")
    return report(customer_id, erasure.forget(customer_id))


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    install_log_scrubbing()
    args = parser().parse_args(argv)
    engine = tracker = None
    try:
        settings = settings or get_settings()
        tracker = tracker_events(args.tracker_db if args.tracker_db else tracker_db_url(args.endpoints))
        engine = make_engine(settings.database_url)
        upgrade(engine)
        links = ConversationLinks(engine, Clock(settings.business_date))
        print(run(args, CustomerErasure(engine, tracker, links)))
    except (ValueError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if engine is not None:
            engine.dispose()
        if isinstance(tracker, SQLTrackerEvents):
            tracker.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
