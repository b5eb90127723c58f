"""Ticket creations per second on the machine's PostgreSQL: what each lever gives (issue 11, tickets at 10,000/s).

Every variant gets a fresh database (created, migrated, dropped after), runs a bounded time with its writers, then
checks what it wrote (count, unique and well-formed numbers, one `created` event per ticket, priorities and
departments as the service's rules give them). Variants:

  baseline          TicketService.create(), today's engine (service/db.py: QueuePool 10+20, pre-ping), 8 threads
  baseline_1w       the same with one writer
  sync_off_session  + synchronous_commit=off for the whole session (libpq `options`)
  sync_off_local    + SET LOCAL synchronous_commit=off in every transaction (an engine `begin` listener)
  pool_8_noping     QueuePool of 8 (= writers), no pre-ping
  pool_4_noping     QueuePool of 4 for 8 writers (they queue for a connection)
  nullpool          a new connection per transaction
  txn_50            50 create() statement sets in one transaction (TicketService._create_in, commit per 50)
  many_100          TicketService.create_many(), 100 drafts per call (set-based statements)
  many_100_sync_off create_many() and synchronous_commit=off
  many_500_2w_off   create_many(), 500 per call, 2 writers, synchronous_commit=off
  raw_psycopg2      create()'s five statements straight through psycopg2 (PREPAREd), rules from the service
  asyncpg           the same statements through asyncpg, 8 tasks on one event loop (if asyncpg imports)
  asyncpg_many_100  create_many()'s statements through asyncpg, 100 per transaction (if asyncpg imports)
  pgbench           create()'s statements from pgbench (C, prepared), 8 clients: the server's own ceiling
  pgbench_numbered  the same, the number set in the INSERT (no UPDATE: the UPDATE of an indexed column is not HOT)
  pgbench_many_100  create_many()'s statements from pgbench, 100 per transaction, 8 clients
  pgbench_many_off  the same with synchronous_commit=off

asyncpg is not a project dependency: put it on PYTHONPATH to measure it (pip install --target DIR asyncpg), or the
two asyncpg variants are skipped. The pgbench variants insert the row the rules give the bench's first draft
(a repair), with SQL-side numbering; pgbench's CPU is the client's there. Latency is per call: a batched ticket
waits for its whole batch. CPU is the client process (time.process_time) and all of PostgreSQL (/proc, every
postgres process plus reaped children: other work on the machine counts too, see the load average). WAL figures
are cluster-wide (pg_stat_wal).

    python bench/ticket_throughput.py [--seconds 6] [--only baseline,many_100] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from bench.tickets import bench_draft, database, percentiles  # noqa: E402
from service.clock import Clock  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.tickets.models import TicketDraft  # noqa: E402
from service.tickets.policy import load_policy  # noqa: E402
from service.tickets.rules import Category, Status  # noqa: E402
from service.tickets.service import TicketService, _created_comment, _key_of, _number  # noqa: E402

try:
    import asyncpg  # type: ignore[import-not-found]
except ImportError:
    asyncpg = None

SYNC_OFF = {"connect_args": {"options": "-c synchronous_commit=off"}}
NO_PING_8 = {"pool_size": 8, "max_overflow": 0, "pool_pre_ping": False}


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    driver: str = "service"  # service | txn | many | raw | asyncpg[_many] | pgbench[_numbered|_many]
    writers: int = 8
    batch: int = 1
    engine: dict[str, Any] = field(default_factory=dict)  # make_engine() keyword arguments
    nullpool: bool = False
    set_local_off: bool = False


VARIANTS = [
    Variant("baseline", "create(), QueuePool 10+20, pre-ping, 8 threads"),
    Variant("baseline_1w", "create(), 1 thread", writers=1),
    Variant("sync_off_session", "create(), synchronous_commit=off per session", engine=SYNC_OFF),
    Variant("sync_off_local", "create(), SET LOCAL synchronous_commit=off", set_local_off=True),
    Variant("pool_8_noping", "create(), pool 8+0, no pre-ping", engine=NO_PING_8),
    Variant("pool_4_noping", "create(), pool 4+0 for 8 writers, no pre-ping",
            engine={"pool_size": 4, "max_overflow": 0, "pool_pre_ping": False}),
    Variant("nullpool", "create(), NullPool (connect per transaction)", nullpool=True),
    Variant("txn_50", "create()'s statements, 50 per transaction", driver="txn", batch=50, engine=NO_PING_8),
    Variant("many_100", "create_many(100)", driver="many", batch=100, engine=NO_PING_8),
    Variant("many_100_sync_off", "create_many(100), synchronous_commit=off", driver="many", batch=100,
            engine={**NO_PING_8, **SYNC_OFF}),
    Variant("many_500_2w_off", "create_many(500), 2 threads, synchronous_commit=off", driver="many", batch=500,
            writers=2, engine={"pool_size": 2, "max_overflow": 0, "pool_pre_ping": False, **SYNC_OFF}),
    Variant("raw_psycopg2", "psycopg2 + PREPARE, create()'s statements, 8 threads", driver="raw"),
    Variant("asyncpg", "asyncpg, create()'s statements, 8 tasks", driver="asyncpg"),
    Variant("asyncpg_many_100", "asyncpg, create_many()'s statements, 100/txn, 8 tasks", driver="asyncpg_many",
            batch=100),
    Variant("pgbench", "pgbench, create()'s statements, 8 clients", driver="pgbench"),
    Variant("pgbench_numbered", "pgbench, create()'s statements, number in the INSERT", driver="pgbench_numbered"),
    Variant("pgbench_many_100", "pgbench, create_many()'s statements, 100/txn, 8 clients", driver="pgbench_many",
            batch=100),
    Variant("pgbench_many_off", "pgbench, create_many()'s statements, 100/txn, synchronous_commit=off",
            driver="pgbench_many", batch=100, engine=SYNC_OFF),
]


# --- measuring ---------------------------------------------------------------------------------------------------


def postgres_cpu_s() -> float:
    """CPU seconds of every postgres process alive, plus those the postmaster has reaped (its children's time)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, oldest = 0, None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        if name != "postgres" and not name.startswith("postgres"):
            continue
        utime, stime, cutime, cstime, start = int(rest[11]), int(rest[12]), int(rest[13]), int(rest[14]), int(rest[19])
        total += utime + stime
        if oldest is None or start < oldest[0]:
            oldest = (start, cutime + cstime)
    return (total + (oldest[1] if oldest else 0)) / ticks


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wal_stats(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT wal_records, wal_bytes, wal_sync FROM pg_stat_wal")).one()
    return {"records": float(row[0]), "bytes": float(row[1]), "syncs": float(row[2])}


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    created: int = 0


def run_threads(writers: int, seconds: float, call: Callable[[int, int], int]) -> tuple[list[Samples], float]:
    """`call(writer, sequence)` creates tickets and returns how many; each writer calls until the deadline."""
    deadline = time.perf_counter() + seconds
    samples = [Samples() for _ in range(writers)]

    def write(writer: int) -> None:
        mine, sequence = samples[writer], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            mine.created += call(writer, sequence)
            mine.latencies.append((time.perf_counter() - started) * 1000)
            sequence += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    return samples, time.perf_counter() - started


def drafts_for(writer: int, sequence: int, batch: int) -> list[TicketDraft]:
    return [bench_draft(sequence * batch + n, writer) for n in range(batch)]


# --- the drivers ---------------------------------------------------------------------------------------------------


def service_engine(url: str, variant: Variant) -> Engine:
    if variant.nullpool:
        return create_engine(url, future=True, poolclass=NullPool)
    engine = make_engine(url, **variant.engine)
    if variant.set_local_off:
        @event.listens_for(engine, "begin")
        def _async_commit(conn: Any) -> None:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    return engine


def service_call(tickets: TicketService, variant: Variant) -> Callable[[int, int], int]:
    if variant.driver == "service":
        return lambda writer, sequence: int(not tickets.create(bench_draft(sequence, writer)).duplicate)
    if variant.driver == "many":
        return lambda writer, sequence: sum(not c.duplicate for c in tickets.create_many(
            drafts_for(writer, sequence, variant.batch)))

    def in_one_transaction(writer: int, sequence: int) -> int:
        with tickets.engine.begin() as conn:
            made = [tickets._create_in(conn, d, _key_of(d)) for d in drafts_for(writer, sequence, variant.batch)]
        return sum(not c.duplicate for c in made)

    return in_one_transaction


COLUMNS = ["kind", "category", "status", "priority", "department", "customer_id", "customer_name", "customer_phone",
           "customer_address", "customer_vip", "channel", "sender_id", "order_id", "product", "intent", "description",
           "summary", "transcript", "open_key", "linked_ticket_id", "created_at", "updated_at", "first_response_due",
           "resolution_due", "assignee", "overdue", "escalation_level"]
EVENT_COLUMNS = "ticket_id, at, actor, kind, from_status, to_status, comment"


def row_values(tickets: TicketService, draft: TicketDraft, key: str | None, earlier: int) -> list[Any]:
    """The service's own rules (priority, department, SLA) for the row the raw drivers insert."""
    values = {**tickets._values(draft, key, tickets._clock.now(), earlier), "assignee": None, "overdue": False,
              "escalation_level": 0}
    return [values[column] for column in COLUMNS]


def dollar(count: int, start: int = 1) -> str:
    return ", ".join(f"${n}" for n in range(start, start + count))


SQL = {
    "find_open": "SELECT id FROM tickets WHERE open_key = $1",
    "complaints": "SELECT count(*) FROM tickets WHERE customer_id = $1 AND category = $2 AND created_at >= $3",
    "insert": f"INSERT INTO tickets ({', '.join(COLUMNS)}) VALUES ({dollar(len(COLUMNS))}) RETURNING id",
    "number": "UPDATE tickets SET number = $1 WHERE id = $2",
    "event": f"INSERT INTO ticket_events ({EVENT_COLUMNS}) VALUES ({dollar(7)})",
}


def create_statements(tickets: TicketService, draft: TicketDraft, run: Callable[[str, list[Any]], Any]) -> int:
    """create()'s statements for one new ticket, through `run(statement, args)`; 1 if created."""
    key = _key_of(draft)
    if run("find_open", [key]) is not None:
        return 0
    now = tickets._clock.now()
    earlier = 0
    if draft.category is Category.COMPLAINT and draft.customer_id:
        since = now - timedelta(days=tickets.policy.repeat_complaint_days)
        earlier = int(run("complaints", [draft.customer_id, Category.COMPLAINT.value, since]))
    ticket_id = int(run("insert", row_values(tickets, draft, key, earlier)))
    run("number", [_number(now, ticket_id), ticket_id])
    run("event", [ticket_id, now, draft.actor, "created", None, Status.NEW.value, _created_comment(draft)])
    return 1


def raw_call(tickets: TicketService, dsn: str, variant: Variant) -> tuple[Callable[[int, int], int], Callable[[], None]]:
    local = threading.local()
    opened: list[Any] = []
    lock = threading.Lock()

    def connection() -> Any:
        if getattr(local, "conn", None) is None:
            conn = psycopg2.connect(dsn)
            with conn.cursor() as cur:
                for name, statement in SQL.items():
                    cur.execute(f"PREPARE {name} AS {statement}")
            conn.commit()
            local.conn = conn
            with lock:
                opened.append(conn)
        return local.conn

    def call(writer: int, sequence: int) -> int:
        conn = connection()
        with conn.cursor() as cur:
            def run(name: str, args: list[Any]) -> Any:
                cur.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(args))})", args)
                row = cur.fetchone() if cur.description else None
                return row[0] if row else None
            made = create_statements(tickets, bench_draft(sequence, writer), run)
        conn.commit()
        return made

    def close() -> None:
        for conn in opened:
            conn.close()

    return call, close


async def asyncpg_run(tickets: TicketService, dsn: str, variant: Variant, seconds: float,
                      warmup: int) -> tuple[list[Samples], float]:
    pool = await asyncpg.create_pool(dsn, min_size=variant.writers, max_size=variant.writers, timeout=10)

    async def one(writer: int, sequence: int) -> int:
        async with pool.acquire() as conn, conn.transaction():
            if variant.driver == "asyncpg":
                return await asyncpg_create(conn, tickets, bench_draft(sequence, writer))
            return await asyncpg_create_many(conn, tickets, drafts_for(writer, sequence, variant.batch))

    try:
        for n in range(warmup):
            await one(9, n)
        deadline = time.perf_counter() + seconds
        samples = [Samples() for _ in range(variant.writers)]

        async def write(writer: int) -> None:
            mine, sequence = samples[writer], 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                mine.created += await one(writer, sequence)
                mine.latencies.append((time.perf_counter() - started) * 1000)
                sequence += 1

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(write(w) for w in range(variant.writers))), seconds + 30)
        return samples, time.perf_counter() - started
    finally:
        await pool.close()


async def asyncpg_create(conn: Any, tickets: TicketService, draft: TicketDraft) -> int:
    # create_statements() is synchronous; asyncpg needs awaits: the same five statements, written out
    key = _key_of(draft)
    if await conn.fetchval(SQL["find_open"], key) is not None:
        return 0
    now = tickets._clock.now()
    earlier = 0
    if draft.category is Category.COMPLAINT and draft.customer_id:
        since = now - timedelta(days=tickets.policy.repeat_complaint_days)
        earlier = int(await conn.fetchval(SQL["complaints"], draft.customer_id, Category.COMPLAINT.value, since))
    ticket_id = int(await conn.fetchval(SQL["insert"], *row_values(tickets, draft, key, earlier)))
    await conn.execute(SQL["number"], _number(now, ticket_id), ticket_id)
    await conn.execute(SQL["event"], ticket_id, now, draft.actor, "created", None, Status.NEW.value,
                       _created_comment(draft))
    return 1


async def asyncpg_create_many(conn: Any, tickets: TicketService, drafts: list[TicketDraft]) -> int:
    """create_many()'s statements for drafts with no open ticket and no complaint history (as the bench's are):
    look the keys up at once, take ids from the sequence, executemany the rows and the events."""
    keys = [_key_of(d) for d in drafts]
    taken = {r[0] for r in await conn.fetch("SELECT open_key FROM tickets WHERE open_key = any($1::text[])", keys)}
    fresh = [(d, k) for d, k in zip(drafts, keys, strict=True) if k not in taken]
    ids = sorted(r[0] for r in await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence('tickets', 'id')) FROM generate_series(1, $1)", len(fresh)))
    now = tickets._clock.now()
    rows = [[ticket_id, _number(now, ticket_id), *row_values(tickets, d, k, 0)]
            for ticket_id, (d, k) in zip(ids, fresh, strict=True)]
    await conn.executemany(f"INSERT INTO tickets (id, number, {', '.join(COLUMNS)}) VALUES "
                           f"({dollar(len(COLUMNS) + 2)})", rows)
    await conn.executemany(f"INSERT INTO ticket_events ({EVENT_COLUMNS}) VALUES ({dollar(7)})",
                           [[ticket_id, now, d.actor, "created", None, Status.NEW.value, _created_comment(d)]
                            for ticket_id, (d, _k) in zip(ids, fresh, strict=True)])
    return len(fresh)


# --- pgbench: the same statements from a C client --------------------------------------------------------------


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


NUMBER_SQL = "'T' || to_char(localtimestamp, 'YYYYMMDD') || CASE WHEN {id} < 100000 THEN lpad({id}::text, 5, '0') " \
             "ELSE {id}::text END"


def pgbench_script(tickets: TicketService, batch: int, numbered: bool = False) -> str:
    """create()'s statements (batch 1) or create_many()'s (more) for the bench's first draft, as a pgbench script;
    the open key is made unique from the ticket id, times are the server's localtimestamp plus the SLA offsets."""
    draft = bench_draft(0, 0)
    now = tickets._clock.now()
    values = {**tickets._values(draft, "x", now, 0), "assignee": None, "overdue": False, "escalation_level": 0}
    columns = [c for c in COLUMNS if c != "open_key"]

    def expression(column: str) -> str:
        if column in ("created_at", "updated_at"):
            return "localtimestamp"
        if column in ("first_response_due", "resolution_due"):
            return f"localtimestamp + interval '{int((values[column] - now).total_seconds())} seconds'"
        return literal(values[column])

    row = ", ".join(expression(c) for c in columns)
    event = f"'bot', 'created', NULL, '{Status.NEW.value}', {literal(_created_comment(draft))}"
    complaint = (f"SELECT count(*) FROM tickets WHERE customer_id = {literal(draft.customer_id)} AND category = "
                 f"'{Category.COMPLAINT.value}' AND created_at >= localtimestamp - interval '30 days';")
    if batch == 1:
        return "\n".join([
            "\\set r random(1, 6)",
            "BEGIN;",
            "SELECT nextval(pg_get_serial_sequence('tickets', 'id')) AS id \\gset",
            "SELECT id FROM tickets WHERE open_key = 'pgbench|' || :id;",
            "\\if :r = 1", complaint, "\\endif",
            f"INSERT INTO tickets (id, {', '.join(columns)}, open_key{', number' if numbered else ''}) VALUES "
            f"(:id, {row}, 'pgbench|' || :id{', ' + NUMBER_SQL.format(id=':id') if numbered else ''});",
            "" if numbered else f"UPDATE tickets SET number = {NUMBER_SQL.format(id=':id')} WHERE id = :id;",
            f"INSERT INTO ticket_events ({EVENT_COLUMNS}) VALUES (:id, localtimestamp, {event});",
            "END;", ""])
    return "\n".join([
        "BEGIN;",
        f"SELECT id FROM tickets WHERE open_key IN (SELECT 'miss|' || g FROM generate_series(1, {batch}) AS g);",
        f"WITH ids AS (SELECT nextval(pg_get_serial_sequence('tickets', 'id')) AS id FROM generate_series(1, {batch})), "
        f"made AS (INSERT INTO tickets (id, number, {', '.join(columns)}, open_key) SELECT id, "
        f"{NUMBER_SQL.format(id='id')}, {row}, 'pgbench|' || id FROM ids RETURNING id) "
        f"INSERT INTO ticket_events ({EVENT_COLUMNS}) SELECT id, localtimestamp, {event} FROM made;",
        "END;", ""])


def pgbench_run(tickets: TicketService, url: str, variant: Variant, seconds: float,
                work: Path) -> tuple[list[Samples], float, int]:
    """pgbench for `seconds`; the per-transaction log gives the latencies. Returns samples, elapsed, tickets."""
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    folder = Path(tempfile.mkdtemp(dir=work))
    script = folder / "create.sql"
    script.write_text(pgbench_script(tickets, variant.batch, numbered=variant.driver == "pgbench_numbered"))
    parsed = make_url(url)
    command = [binary, "-n", "-M", "prepared", "-f", str(script), "-c", str(variant.writers), "-j", "2",
               "-T", str(max(1, round(seconds))), "-l", f"--log-prefix={folder / 'log'}",
               "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
               parsed.database or ""]
    started = time.perf_counter()
    options = variant.engine.get("connect_args", {}).get("options", "")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False,
                          env={**os.environ, "PGOPTIONS": options})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-500:]}")
    samples = Samples()
    for log in folder.glob("log*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            samples.latencies.append(int(fields[2]) / 1000)  # microseconds
    samples.created = len(samples.latencies) * variant.batch
    return [samples], elapsed, samples.created


# --- checking what was written --------------------------------------------------------------------------------------


def expected_rules(tickets: TicketService) -> set[tuple[str, str, str, str]]:
    """(description, category, priority, department) the rules give the bench's drafts (no repeat complaints)."""
    now = tickets._clock.now()
    out = set()
    for n in range(6):
        draft = bench_draft(n, 0)
        values = tickets._values(draft, _key_of(draft), now, 0)
        out.add((values["description"], values["category"], values["priority"], values["department"]))
    return out


def check(engine: Engine, tickets: TicketService, expected: int) -> tuple[str, int]:
    """What is wrong with the tickets written ("ok" if nothing), and the disk bytes per ticket (rows, indexes)."""
    with engine.connect() as conn:
        count, distinct, malformed = conn.execute(text(
            "SELECT count(*), count(DISTINCT number), count(*) FILTER (WHERE number IS NULL OR number <> 'T' || "
            "to_char(created_at, 'YYYYMMDD') || CASE WHEN id < 100000 THEN lpad(id::text, 5, '0') ELSE id::text END) "
            "FROM tickets")).one()
        not_one_created = conn.execute(text(
            "SELECT count(*) FROM (SELECT t.id FROM tickets t LEFT JOIN ticket_events e ON e.ticket_id = t.id "
            "AND e.kind = 'created' GROUP BY t.id HAVING count(e.id) <> 1) AS x")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM ticket_events")).scalar_one()
        disk = conn.execute(text("SELECT pg_total_relation_size('tickets') + pg_total_relation_size('ticket_events')"))\
            .scalar_one()
        rules = {tuple(r) for r in conn.execute(text(
            "SELECT DISTINCT description, category, priority, department FROM tickets"))}
    problems = []
    if count != expected:
        problems.append(f"{count} tickets, {expected} reported")
    if distinct != count or malformed:
        problems.append(f"{count - distinct} repeated numbers, {malformed} malformed")
    if not_one_created or events != count:
        problems.append(f"{not_one_created} tickets without exactly one created event, {events} events")
    if not rules <= expected_rules(tickets):
        problems.append(f"rules differ: {sorted(rules - expected_rules(tickets))[:2]}")
    return ("ok" if not problems else "FAILED: " + "; ".join(problems)), round(disk / max(count, 1))


# --- a variant ------------------------------------------------------------------------------------------------------


@contextmanager
def migrated(url: str) -> Iterator[None]:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        upgrade(engine)
        yield
    finally:
        engine.dispose()


def run_variant(variant: Variant, seconds: float, work: Path) -> dict[str, Any]:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(work), "DATABASE_URL": "sqlite://"})
    policy = load_policy(settings.ticketing_config)
    with database("postgres", work) as url, migrated(url):
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = service_engine(url, variant)
        checker = make_engine(url, pool_size=1, max_overflow=0)
        tickets = TicketService(engine, policy, Clock())
        cleanup: Callable[[], Any] = lambda: None
        warmup = 20 if variant.batch == 1 else 2
        try:
            if variant.driver.startswith("pgbench"):
                warm_created = 0
                before = (children_cpu_s(), postgres_cpu_s(), wal_stats(checker))
                samples, elapsed, _made = pgbench_run(tickets, url, variant, seconds, work)
            elif variant.driver.startswith("asyncpg"):
                warm_created = warmup * variant.batch
                before = (time.process_time(), postgres_cpu_s(), wal_stats(checker))
                samples, elapsed = asyncio.run(asyncpg_run(tickets, dsn, variant, seconds, warmup))
            else:
                if variant.driver == "raw":
                    call, cleanup = raw_call(tickets, dsn, variant)
                else:
                    call = service_call(tickets, variant)
                warm_created = sum(call(9, n) for n in range(warmup))
                before = (time.process_time(), postgres_cpu_s(), wal_stats(checker))
                samples, elapsed = run_threads(variant.writers, seconds, call)
            client = children_cpu_s() if variant.driver.startswith("pgbench") else time.process_time()
            after = (client, postgres_cpu_s(), wal_stats(checker))
            created = sum(s.created for s in samples)
            status, disk = check(checker, tickets, warm_created + created)
        finally:
            cleanup()
            engine.dispose()
            checker.dispose()
    latencies = [x for s in samples for x in s.latencies]
    wal = {k: after[2][k] - before[2][k] for k in after[2]}
    return {
        "variant": variant.name, "what": variant.what, "writers": variant.writers, "batch": variant.batch,
        "created": created, "seconds": round(elapsed, 2), "per_s": round(created / elapsed, 1),
        "latency_ms": percentiles(latencies),
        "client_cpu_ms_per_ticket": round((after[0] - before[0]) / max(created, 1) * 1000, 3),
        "postgres_cpu_ms_per_ticket": round((after[1] - before[1]) / max(created, 1) * 1000, 3),
        "wal_bytes_per_ticket": round(wal["bytes"] / max(created, 1)),
        "wal_syncs_per_1000": round(wal["syncs"] / max(created, 1) * 1000, 1), "disk_bytes_per_ticket": disk,
        "load_average": round(os.getloadavg()[0], 2), "check": status,
    }


def table(results: list[dict[str, Any]]) -> str:
    head = ("| variant | writers×batch | created/s | p50 ms | p95 ms | client CPU ms/ticket | PostgreSQL CPU ms/ticket "
            "| WAL B/ticket | WAL syncs/1000 | disk B/ticket | load | check |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in results:
        lines.append(f"| {r['variant']} | {r['writers']}×{r['batch']} | {r['per_s']:,.0f} | {r['latency_ms']['p50']} | "
                     f"{r['latency_ms']['p95']} | {r['client_cpu_ms_per_ticket']} | {r['postgres_cpu_ms_per_ticket']} | "
                     f"{r['wal_bytes_per_ticket']} | {r['wal_syncs_per_1000']} | {r['disk_bytes_per_ticket']} | "
                     f"{r['load_average']} | {r['check']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per variant (1-30)")
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--json", action="store_true", help="also print every result as JSON")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 1.0), 30.0)
    wanted = [name for name in args.only.split(",") if name]
    unknown = set(wanted) - {v.name for v in VARIANTS}
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    chosen = [v for v in VARIANTS if not wanted or v.name in wanted]
    results: list[dict[str, Any]] = []
    print(f"cpus={os.cpu_count()} load_average={[round(x, 2) for x in os.getloadavg()]} seconds={seconds}",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="xiaozhi-throughput-") as tmp:
        for variant in chosen:
            if variant.driver.startswith("asyncpg") and asyncpg is None:
                print(f"{variant.name}: skipped, asyncpg does not import (not a project dependency)", file=sys.stderr)
                continue
            result = run_variant(variant, seconds, Path(tmp))
            results.append(result)
            print(f"{result['variant']:<18} {result['per_s']:>8,.0f}/s  p50 {result['latency_ms']['p50']:>7} ms  "
                  f"p95 {result['latency_ms']['p95']:>7} ms  client {result['client_cpu_ms_per_ticket']} ms/ticket  "
                  f"pg {result['postgres_cpu_ms_per_ticket']} ms/ticket  {result['check']}", file=sys.stderr)
    print(table(results))
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    if any(r["check"] != "ok" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
