"""What the scaled topology (scripts/scaled.py) keeps outside its processes, and how it is made and removed.

The machine's PostgreSQL (a database), Redis (keys under a prefix) and RabbitMQ (a queue), the secrets of a
work dir, and the demo accounts of a local set.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.launch import stack_secrets
from service.secrets import IDENTITY_SECRET

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class SharedServices:
    """The machine's PostgreSQL, Redis and RabbitMQ."""

    postgres: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/"  # a server URL; the database name is appended
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    rabbitmq_host: str = "127.0.0.1"
    rabbitmq_user: str = "guest"
    rabbitmq_password: str = field(default="guest", repr=False)

    def database_url(self, database: str) -> str:
        return self.postgres.rstrip("/") + "/" + database


def work_secrets(path: Path, env: dict[str, str]) -> dict[str, str]:
    """The secrets kept in `path`: generated once (scripts/launch.stack_secrets, and the demo shop's
    IDENTITY_SECRET), mode 0600, then read back: the database keeps what TRACKER_ENCRYPTION_KEY encrypted."""
    if path.exists():
        return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").split() if "=" in line)
    made = stack_secrets(env)
    made[IDENTITY_SECRET] = secrets.token_urlsafe(48)  # the demo shop's key for signing its customers
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{name}={value}\n" for name, value in made.items()))
    return made


def _admin(services: SharedServices) -> Engine:
    from sqlalchemy import create_engine

    return create_engine(services.database_url("postgres"), isolation_level="AUTOCOMMIT")


def create_database(services: SharedServices, database: str) -> None:
    """`database`, unless it exists (the desks migrate it on start)."""
    from sqlalchemy import text

    admin = _admin(services)
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).first():
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()


def drop_database(services: SharedServices, database: str) -> None:
    from sqlalchemy import text

    admin = _admin(services)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": database})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
    finally:
        admin.dispose()


def delete_redis_keys(services: SharedServices, db: int, prefix: str) -> None:
    """Every key under `prefix:` (the handoff queue's, the socket.io manager's, Rasa's locks)."""
    import redis

    client = redis.Redis(services.redis_host, services.redis_port, db, socket_timeout=5)
    try:
        for key in client.scan_iter(f"{prefix}:*", count=500):
            client.delete(key)
    finally:
        client.close()


def delete_queue(services: SharedServices, queue: str) -> None:
    """The RabbitMQ queue Rasa's broker declared; a queue never declared, or RabbitMQ gone, is left with a line."""
    import aio_pika

    async def delete() -> None:
        connection = await aio_pika.connect(host=services.rabbitmq_host, login=services.rabbitmq_user,
                                            password=services.rabbitmq_password, timeout=5)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)

    try:
        asyncio.run(asyncio.wait_for(delete(), 10))
    except Exception as exc:
        print(f"scaled: queue {queue} not deleted ({type(exc).__name__})", file=sys.stderr)


def seed_demo_accounts(database_url: str, password: str) -> None:
    """agent1 / agent2 / supervisor on an empty staff table, as embedded mode seeds them (a local set only)."""
    from desk.auth import StaffDirectory
    from service.db import make_engine

    engine = make_engine(database_url)
    try:
        StaffDirectory(engine).seed_demo(password)
    finally:
        engine.dispose()
