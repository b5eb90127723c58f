"""One scaled topology for the whole run (scripts/scaled.py), started once: nginx, two Rasa servers, the action
server, two desks and the event consumer, on free ports, with a database, Redis prefix and RabbitMQ queue of its
own (removed afterwards). Its processes reach PostgreSQL and Redis through relays that a test can cut
(tests/scaled/tcp_cut.py), as a restart of either would.

make test-scaled runs test_topology.py first (what a customer and an agent see), then test_load_faults.py, whose
faults end with every process running again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from scripts.launch import StackError, always_open_handoff
from scripts.scaled import Ports, SharedServices, Topology
from tests.scaled.tcp_cut import TcpCut, relayed

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class Relays:
    """What the topology's processes reach PostgreSQL and Redis through."""

    postgres: TcpCut
    redis: TcpCut


@pytest.fixture(scope="session")
def relays() -> Iterator[Relays]:
    shared = SharedServices()
    with relayed("127.0.0.1", POSTGRES_PORT) as postgres, relayed(shared.redis_host, shared.redis_port) as redis:
        yield Relays(postgres, redis)


@pytest.fixture(scope="session")
def topology(tmp_path_factory: pytest.TempPathFactory, relays: Relays) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("scaled")
    run = uuid.uuid4().hex[:10]
    services = SharedServices(postgres=f"postgresql+psycopg2://postgres@127.0.0.1:{relays.postgres.port}/",
                              redis_port=relays.redis.port)
    topology = Topology(work=work, ports=Ports.free(), database=f"xiaozhi_scaled_{run}", prefix=f"xiaozhitest{run}",
                        queue=f"xiaozhi_test_{run}", extra_env={"HANDOFF_CONFIG": str(always_open_handoff(work))},
                        services=services, drop_on_down=True)
    try:
        topology.up(timeout_s=300)
    except StackError as error:  # up() has stopped what it started and dropped the database
        pytest.fail(str(error))
    yield topology
    topology.down()
