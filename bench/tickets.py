"""Ticket throughput and desk list latency, on SQLite and on PostgreSQL.

1. Creations per second through TicketService.create() with 1 writer and with 8 concurrent writers (threads),
   each run on a fresh database: a temporary SQLite file, and a temporary PostgreSQL database that the script
   creates and drops (127.0.0.1:5432, user postgres, or BENCH_POSTGRES_URL).
2. p50/p95 latency of GET /api/tickets (page_size 20, several filter combinations) against a real desk process
   (`python -m desk`, started by scripts/launch.py) with 100,000 tickets bulk-inserted, one client at a time and
   8 clients at once.

Prints JSON; asserts nothing.

    python bench/tickets.py [--creations 2000] [--tickets 100000] [--requests 40] [--no-postgres] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from scripts.launch import start_desk  # noqa: E402
from service.clock import Clock  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.tickets import build_ticket_service  # noqa: E402
from service.tickets.models import TicketDraft  # noqa: E402
from service.tickets.policy import PRIORITIES  # noqa: E402
from service.tickets.rules import Category, Kind, Status  # noqa: E402
from service.tickets.schema import tickets as T  # noqa: E402
from service.tickets.service import TicketService  # noqa: E402

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/")
DEPARTMENTS = ["客服中心", "物流部", "售后技术", "售后服务", "客户关系", "财务"]
DESCRIPTIONS = ["耳机左耳没声音", "冰箱不制冷了", "快递一直没送到", "要改收货地址", "尺码不合适想换", "客服态度差"]
CATEGORIES = [Category.REPAIR, Category.REPAIR, Category.ADDRESS, Category.RETURN, Category.REGISTERED,
              Category.COMPLAINT]
FILTERS = {
    "all": "",
    "status": "status=处理中",
    "open_department": "open=true&department=物流部",
    "urgent_open": "priority=特急&open=true",
    "overdue": "overdue=true",
    "assignee_open": "assignee=agent1&open=true",
    "customer": "customer_id=C01234",
    "q_order": "q=E202600054321",
    "q_phone": "q=13800054321",
    "deep_page": "page=200",
}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": pick(0.50), "p95": pick(0.95), "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2), "n": len(ordered)}


@contextmanager
def database(kind: str, work: Path) -> Iterator[str]:
    """A fresh empty database URL: a SQLite file under `work`, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{work / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    name = f"xiaozhi_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES + "postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def service_on(url: str, work: Path) -> TicketService:
    return build_ticket_service(load_settings({"XIAOZHI_VAR_DIR": str(work), "DATABASE_URL": url}), Clock())


def bench_draft(n: int, writer: int) -> TicketDraft:
    """Distinct customers and orders, so no creation is a duplicate; one in six is a complaint (one more query)."""
    category = CATEGORIES[n % len(CATEGORIES)]
    return TicketDraft(category=category, description=DESCRIPTIONS[n % len(DESCRIPTIONS)], summary="bench",
                       customer_id=f"B{writer}{n:07d}"[:16], customer_name="张伟", customer_phone="13800138000",
                       customer_address="浙江省杭州市西湖区文三路100号", channel="rest", sender_id=f"bench-{writer}-{n}",
                       order_id=f"E{writer}{n:011d}", product="蓝牙耳机 X1", intent="repair_request")


def creations_per_second(tickets: TicketService, writers: int, total: int) -> dict[str, Any]:
    for n in range(20):  # warm the pool and the statement cache
        tickets.create(bench_draft(n, 9))
    per_writer = total // writers
    latencies: list[float] = []

    def write(writer: int) -> None:
        for n in range(per_writer):
            started = time.perf_counter()
            tickets.create(bench_draft(n, writer))
            latencies.append((time.perf_counter() - started) * 1000)

    cpu_before, started = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    created = per_writer * writers
    return {"writers": writers, "created": created, "per_s": round(created / elapsed, 1),
            "python_cpu_ms_per_creation": round(cpu / created * 1000, 3), "latency_ms": percentiles(latencies)}


def creation_bench(kinds: list[str], total: int, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in kinds:
        for writers in (1, 8):
            with database(kind, work) as url:
                tickets = service_on(url, work)
                results[f"{kind}_{writers}_writer{'s' if writers > 1 else ''}"] = creations_per_second(
                    tickets, writers, total)
                tickets._engine.dispose()
    return results


def profile_creations(kind: str, work: Path, count: int = 500) -> str:
    """Where one writer's time goes: cProfile of `count` creations, cumulative, top entries."""
    with database(kind, work) as url:
        tickets = service_on(url, work)
        for n in range(20):
            tickets.create(bench_draft(n, 9))
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(count):
            tickets.create(bench_draft(n, 1))
        profiler.disable()
        tickets._engine.dispose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


# --- list latency against a real desk ------------------------------------------------------------------------


def bulk_rows(count: int, now: datetime) -> Iterator[list[dict[str, Any]]]:
    """Plain ticket rows in batches: old ones mostly closed, open ones recent with their SLA still running."""
    rng = random.Random(7)
    open_statuses = [Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER, Status.REOPENED]
    batch: list[dict[str, Any]] = []
    for ticket_id in range(1, count + 1):
        created = now - timedelta(days=90) * (1 - ticket_id / count) - timedelta(minutes=rng.randint(0, 30))
        is_open = ticket_id > count * 0.85 or rng.random() < 0.03
        status = rng.choice(open_statuses) if is_open else rng.choice([Status.RESOLVED, Status.CLOSED])
        category = rng.choice(CATEGORIES).value
        customer = f"C{rng.randint(0, 20000):05d}"
        order = f"E2026{ticket_id:08d}"
        started = status is not Status.NEW
        batch.append({
            "id": ticket_id, "number": f"T{created:%Y%m%d}{ticket_id:06d}", "kind": Kind.ISSUE.value,
            "category": category, "status": status.value, "priority": rng.choices(PRIORITIES, [80, 15, 5])[0],
            "department": rng.choice(DEPARTMENTS), "assignee": rng.choice(["agent1", "agent2", None]) if started else None,
            "customer_id": customer, "customer_name": "张伟", "customer_phone": f"138{ticket_id:08d}",
            "customer_address": "浙江省杭州市西湖区文三路100号3幢201室", "customer_vip": rng.random() < 0.1,
            "channel": "rest", "sender_id": f"web-{customer}", "order_id": order, "product": "蓝牙耳机 X1",
            "intent": "repair_request", "description": rng.choice(DESCRIPTIONS), "summary": f"{category}：订单{order}",
            "transcript": "客户：" + rng.choice(DESCRIPTIONS) + "\n小智：已为您登记",
            "open_key": f"{customer}|{order}|{category}" if status.is_open else None, "linked_ticket_id": None,
            "created_at": created, "updated_at": created,
            "first_response_due": now + timedelta(hours=rng.randint(1, 48)) if is_open else created + timedelta(hours=2),
            "resolution_due": now + timedelta(hours=rng.randint(2, 48)) if is_open else created + timedelta(hours=48),
            "first_responded_at": created + timedelta(minutes=20) if started else None,
            "resolved_at": None if is_open else created + timedelta(hours=20),
            "closed_at": created + timedelta(days=3) if status is Status.CLOSED else None,
            "overdue": is_open and rng.random() < 0.05, "escalation_level": 0, "rating_requested_at": None,
        })
        if len(batch) == 5000:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(url: str, work: Path, count: int) -> float:
    """Schema through the service's migrations, then `count` rows by executemany; seconds taken."""
    tickets = service_on(url, work)
    engine = tickets._engine
    started = time.perf_counter()
    with engine.begin() as conn:
        for batch in bulk_rows(count, Clock().now()):
            conn.execute(insert(T), batch)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


async def list_latencies(base: str, requests: int, clients: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/auth/token",
                                json={"username": "supervisor", "password": "xiaozhi-demo"}) as answer:
            token = (await answer.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        samples: dict[str, list[float]] = {name: [] for name in FILTERS}
        errors: list[str] = []

        async def one(name: str) -> None:
            query = FILTERS[name]
            started = time.perf_counter()
            async with session.get(f"{base}/api/tickets?page_size=20{'&' if query else ''}{query}",
                                   headers=headers) as answer:
                body = await answer.read()
                if answer.status != 200:
                    errors.append(f"{name}: {answer.status} {body[:120]!r}")
            samples[name].append((time.perf_counter() - started) * 1000)

        for name in FILTERS:  # warm-up
            await one(name)
        for values in samples.values():
            values.clear()

        async def client(number: int) -> None:
            names = list(FILTERS) * requests
            random.Random(number).shuffle(names)
            for name in names[number::clients]:
                await one(name)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    everything = [value for values in samples.values() for value in values]
    return {"clients": clients, "requests_per_s": round(len(everything) / elapsed, 1), "all": percentiles(everything),
            "by_filter": {name: percentiles(values) for name, values in samples.items()}, "errors": errors[:5]}


def list_bench(kinds: list[str], count: int, requests: int, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in kinds:
        with database(kind, work) as url:
            fill_s = fill(url, work, count)
            desk = start_desk(work / f"desk-{kind}", {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
            try:
                results[kind] = {"tickets": count, "bulk_insert_s": round(fill_s, 1),
                                 "one_client": asyncio.run(list_latencies(desk.desk_url, requests, 1)),
                                 "eight_clients": asyncio.run(list_latencies(desk.desk_url, requests, 8))}
            finally:
                desk.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creations", type=int, default=2000, help="tickets per creation run")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets stored for the list benchmark")
    parser.add_argument("--requests", type=int, default=40, help="requests per filter combination")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of single-writer creations")
    args = parser.parse_args()
    kinds = ["sqlite"] if args.no_postgres else ["sqlite", "postgres"]
    with tempfile.TemporaryDirectory(prefix="xiaozhi-bench-") as tmp:
        work = Path(tmp)
        report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
                                  "creations": creation_bench(kinds, args.creations, work),
                                  "list": list_bench(kinds, args.tickets, args.requests, work)}
        if args.profile:
            for kind in kinds:
                print(f"--- cProfile, {kind}, 1 writer ---\n{profile_creations(kind, work)}", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
