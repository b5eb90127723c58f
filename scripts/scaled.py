"""The scaled topology as local processes: nginx in front of two Rasa servers and two desks, one action server.

    python scripts/scaled.py up|down|status [--work var/scaled]     (make scaled-up / make scaled-down)

The same set as deploy/docker-compose.yml, on loopback and on the machine's PostgreSQL, Redis and RabbitMQ:

- the Rasa servers run scripts/serve_rasa.py with deploy/endpoints.scaled.yml (the encrypted, cached SQL tracker
  store on PostgreSQL, the Redis lock store, the masking RabbitMQ broker), and share socket.io rooms through Redis;
- the desks (`python -m desk`) share the database and the handoff queue; desk N sends what it says to customers
  through Rasa server N (RASA_URL), as in docker-compose.yml;
- the event consumer (`python -m connectors.event_consumer`) feeds the reporting table from the RabbitMQ queue, and
  the desks' reports read their conversation figures from it (REPORTS_FROM_EVENTS=1);
- nginx (Debian's binary, a child process in the foreground of its own prefix under the work dir) runs
  deploy/nginx.conf with its upstreams moved to 127.0.0.1 (scripts/scaled_nginx.py): one source of routes.

Secrets are generated once into `<work>/secrets.env` (mode 0600: the database keeps what they encrypt) and handed
to the processes in their environment only. Every process runs in a session of its own with its pid in
`<work>/pids/`, so `down` from another shell stops them: SIGTERM, then SIGKILL after a bounded wait.

Tests and benches import `Topology`: free ports (`Ports.free()`), a fresh database, Redis prefix and queue name,
and `drop_on_down=True` to remove them again.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.launch import BIN, ROOT, StackError, _wait, free_port, model_path  # noqa: E402
from scripts.scaled_nginx import make_prefix, render_nginx_conf  # noqa: E402
from scripts.scaled_state import (  # noqa: E402
    SharedServices,
    create_database,
    delete_queue,
    delete_redis_keys,
    drop_database,
    seed_demo_accounts,
    work_secrets,
)
from service.secrets import IDENTITY_SECRET, SPECS  # noqa: E402
from service.settings import Settings, load_settings  # noqa: E402

DEFAULT_WORK = ROOT / "var" / "scaled"
NAMES = ("actions", "rasa1", "rasa2", "desk1", "desk2", "events", "nginx")
ENDPOINTS = ROOT / "deploy" / "endpoints.scaled.yml"
NGINX = "/usr/sbin/nginx"
DEMO_DAY = "2026-11-21"  # as scripts/run_embedded.py: the demo orders are seeded around it
STOP_WAIT_S = 15.0
SETTLE_S = 2.0  # a process with no health URL (the event consumer) counts as up when it still runs after this
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
SECRET_NAMES = frozenset({*SPECS, IDENTITY_SECRET})  # always this work dir's own, never the caller's


class TopologyError(StackError):
    """The topology cannot do what was asked (already running, a bad name, nginx or the model missing)."""


@dataclass(frozen=True)
class Ports:
    """The loopback ports; the defaults are those `make scaled-up` prints."""

    nginx: int = 8080
    rasa1: int = 5105
    rasa2: int = 5106
    actions: int = 5155
    desk1: int = 5206
    desk2: int = 5207

    @classmethod
    def free(cls) -> Ports:
        """Ports nobody listens on now (for tests)."""
        return cls(**{f.name: free_port() for f in fields(cls)})


@dataclass
class Topology:
    """Two Rasa servers, the action server, two desks and nginx, started and stopped as a set or one by one."""

    work: Path = DEFAULT_WORK
    ports: Ports = field(default_factory=Ports)
    database: str = "xiaozhi_scaled"
    redis_db: int = 0
    prefix: str = "xiaozhiscaled"  # QUEUE_PREFIX and the lock store's key_prefix: letters and digits only (Rasa's rule)
    queue: str = "xiaozhi_scaled_events"  # the RabbitMQ queue of conversation events
    model: Path = field(default_factory=model_path)
    extra_env: dict[str, str] = field(default_factory=dict)  # for every process, e.g. HANDOFF_CONFIG, BACKEND_TIMEOUT_S
    services: SharedServices = field(default_factory=SharedServices)
    drop_on_down: bool = False  # down() also drops the database, the Redis keys and the queue (tests)
    demo_accounts: bool = True  # agent1 / agent2 / supervisor with DESK_DEMO_PASSWORD, as embedded mode seeds them
    nginx_bin: str = NGINX
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False, repr=False)
    _env: dict[str, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.work = Path(self.work).resolve()
        if not IDENTIFIER.fullmatch(self.database):
            raise TopologyError(f"database {self.database!r}: lower-case letters, digits and _ only")
        if not self.prefix.isalnum():
            raise TopologyError(f"prefix {self.prefix!r}: letters and digits only (Rasa's lock store key_prefix)")
        if not IDENTIFIER.fullmatch(self.queue):
            raise TopologyError(f"queue {self.queue!r}: lower-case letters, digits and _ only")

    # --- where things are -------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(NAMES)

    @property
    def url(self) -> str:
        """nginx: the one published entry point."""
        return f"http://127.0.0.1:{self.ports.nginx}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.ports.rasa1}", f"http://127.0.0.1:{self.ports.rasa2}"]

    @property
    def desk_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.ports.desk1}", f"http://127.0.0.1:{self.ports.desk2}"]

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.actions}"

    @property
    def database_url(self) -> str:
        return self.services.database_url(self.database)

    @property
    def redis_url(self) -> str:
        return f"redis://{self.services.redis_host}:{self.services.redis_port}/{self.redis_db}"

    @property
    def env(self) -> dict[str, str]:
        """What every process is started with (its own port and RASA_URL are added per process)."""
        if self._env is None:
            base = {**os.environ, "XIAOZHI_TODAY": os.environ.get("XIAOZHI_TODAY", DEMO_DAY), **self.extra_env}
            s = self.services
            ours = {
                "XIAOZHI_MODE": "scaled", "XIAOZHI_VAR_DIR": str(self.work), "TF_CPP_MIN_LOG_LEVEL": "3",
                "RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "DATABASE_URL": self.database_url, "TRACKER_DB_URL": self.database_url,
                "REDIS_URL": self.redis_url, "REDIS_HOST": s.redis_host, "REDIS_PORT": str(s.redis_port),
                "REDIS_LOCK_DB": str(self.redis_db), "QUEUE_PREFIX": self.prefix,
                "RABBITMQ_HOST": s.rabbitmq_host, "RABBITMQ_USER": s.rabbitmq_user,
                "RABBITMQ_PASSWORD": s.rabbitmq_password, "RABBITMQ_QUEUE": self.queue, "REPORTS_FROM_EVENTS": "1",
                "ACTION_SERVER_URL": f"{self.actions_url}/webhook", "DESK_URL": self.url,
                "WIDGET_ORIGINS": f"{self.url},http://localhost:{self.ports.nginx}",
            }
            self._env = {**base, **ours, **self._secrets({**base, **ours})}
        return self._env

    @property
    def settings(self) -> Settings:
        """The settings the processes read (the desks' RASA_URL aside)."""
        return load_settings(self.env)

    def rasa_headers(self) -> dict[str, str]:
        """A fresh Authorization header (admin JWT, 5 minutes) for the Rasa servers' HTTP API."""
        from desk.rasa_client import rasa_api_headers

        return rasa_api_headers(self.settings)

    def log(self, name: str) -> str:
        path = self._log_path(self._known(name))
        return path.read_text(errors="replace") if path.exists() else ""

    def running(self, name: str) -> bool:
        return self._pid(self._known(name)) is not None

    def status(self) -> dict[str, int | None]:
        """name: pid of the running process, or None."""
        return {name: self._pid(name) for name in NAMES}

    # --- starting and stopping ----------------------------------------------------------------------------------
    def up(self, timeout_s: float = 240) -> None:
        """Start everything and wait until each answers: desk1 first (it migrates the database), then desk2, the
        action server and both Rasa servers at once (the model loads in parallel), then nginx."""
        if not self.model.exists():
            raise TopologyError(f"no trained model at {self.model}: run `make train` first")
        if not Path(self.nginx_bin).exists():
            raise TopologyError(f"no nginx at {self.nginx_bin}: run `make nginx`")
        alive = [name for name in NAMES if self._pid(name) is not None]
        if alive:
            raise TopologyError(f"already running: {', '.join(alive)} (stop them with `make scaled-down`)")
        deadline = time.monotonic() + timeout_s
        try:
            create_database(self.services, self.database)
            self._write_nginx_conf()
            self._launch_and_wait(["desk1"], deadline)
            self._launch_and_wait(["desk2", "actions", "rasa1", "rasa2", "events"], deadline)
            if self.demo_accounts:
                seed_demo_accounts(self.database_url, self.settings.desk_demo_password)
            self._launch_and_wait(["nginx"], deadline)
        except BaseException:
            self.down()
            raise

    def start(self, name: str, timeout_s: float = 180) -> None:
        """Start one process again (after kill() or stop()) and wait until it answers."""
        if self._pid(self._known(name)) is not None:
            raise TopologyError(f"{name} is running")
        if name == "nginx":
            self._write_nginx_conf()
        self._launch_and_wait([name], time.monotonic() + timeout_s)

    def kill(self, name: str) -> None:
        """SIGKILL one process (and whatever it started), as a crash would end it."""
        self._signal_and_reap([self._known(name)], signal.SIGKILL, 10.0)

    def stop(self, name: str) -> None:
        """Stop one process cleanly: SIGTERM, then SIGKILL after a bounded wait."""
        self._stop([self._known(name)])

    def down(self) -> None:
        """Stop everything (nginx first), remove the pid files; with drop_on_down, drop what up() created."""
        self._stop(list(reversed(NAMES)))
        if self.drop_on_down:
            self._drop_shared_state()

    # --- processes ----------------------------------------------------------------------------------------------
    def _known(self, name: str) -> str:
        if name not in NAMES:
            raise TopologyError(f"no process {name!r}; the names are {', '.join(NAMES)}")
        return name

    def _log_path(self, name: str) -> Path:
        return self.work / f"{name}.log"

    def _pid_path(self, name: str) -> Path:
        return self.work / "pids" / f"{name}.pid"

    def _command(self, name: str) -> tuple[list[str], str, dict[str, str]]:
        """(command, health URL, what the process adds to the environment)."""
        python = str(BIN / "python")
        if name == "actions":
            return ([python, "scripts/serve_actions.py", "--port", str(self.ports.actions)],
                    f"{self.actions_url}/health", {"ACTIONS_HOST": "127.0.0.1"})
        if name in ("rasa1", "rasa2"):
            port = getattr(self.ports, name)
            # "/" needs no token and answers once the model is loaded.
            return ([python, "scripts/serve_rasa.py", "run", "--model", str(self.model), "--interface", "127.0.0.1",
                     "--port", str(port), "--credentials", "credentials.yml", "--endpoints", str(ENDPOINTS)],
                    f"http://127.0.0.1:{port}/", {})
        if name in ("desk1", "desk2"):
            index = int(name[-1]) - 1
            return ([python, "-m", "desk"], f"{self.desk_urls[index]}/health",
                    {"DESK_HOST": "127.0.0.1", "DESK_PORT": str(getattr(self.ports, name)),
                     "RASA_URL": self.rasa_urls[index], "SANIC_PROXIES_COUNT": "1"})
        if name == "events":  # no HTTP: up when it still runs after SETTLE_S (it logs event_consumer_started)
            return [python, "-m", "connectors.event_consumer"], "", {}
        conf = self.work / "nginx" / "nginx.conf"
        return [self.nginx_bin, "-p", str(conf.parent), "-c", str(conf)], f"{self.url}/docs", {}

    def _launch_and_wait(self, names: Iterable[str], deadline: float) -> None:
        started = []
        for name in names:
            command, health, extra = self._command(name)
            log = self._log_path(name)
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
                out.flush()
                process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **extra}, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            self.processes[name] = process
            self._pid_path(name).parent.mkdir(parents=True, exist_ok=True)
            self._pid_path(name).write_text(f"{process.pid} {_start_time(process.pid)}\n")
            started.append((name, process, health, log))
        for name, process, health, log in started:
            if health:
                _wait(health, process, log, max(1.0, deadline - time.monotonic()))
                continue
            time.sleep(SETTLE_S)
            if process.poll() is not None:
                raise TopologyError(f"{name}: process exited\n{log.read_text(errors='replace')[-4000:]}")

    def _pid(self, name: str) -> int | None:
        """The pid of `name` when it runs (started by this object, or by another one: its pid file)."""
        process = self.processes.get(name)
        if process is not None:
            return process.pid if process.poll() is None else None
        try:
            pid, started = self._pid_path(name).read_text().split()
        except (OSError, ValueError):
            return None
        return int(pid) if _start_time(int(pid)) == started else None  # not a later process with a reused pid

    def _signal_and_reap(self, names: list[str], sig: signal.Signals, wait_s: float) -> list[str]:
        """Send `sig` to each one's process group; the names still alive after `wait_s`."""
        pids = {name: pid for name in names if (pid := self._pid(name)) is not None}
        for pid in pids.values():
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        alive = dict(pids)
        while alive and time.monotonic() < deadline:
            alive = {name: pid for name, pid in alive.items() if self._pid(name) is not None}
            if alive:
                time.sleep(0.2)
        for name in pids:
            if name not in alive:
                self.processes.pop(name, None)
                self._pid_path(name).unlink(missing_ok=True)
        return list(alive)

    def _stop(self, names: list[str]) -> None:
        left = self._signal_and_reap(names, signal.SIGTERM, STOP_WAIT_S)
        if left:
            left = self._signal_and_reap(left, signal.SIGKILL, 5.0)
        if left:
            raise TopologyError(f"still running after SIGKILL: {', '.join(left)}")
        for name in names:  # stale files of processes that had already ended
            if self._pid(name) is None:
                self._pid_path(name).unlink(missing_ok=True)

    # --- shared state -------------------------------------------------------------------------------------------
    def _secrets(self, env: dict[str, str]) -> dict[str, str]:
        return work_secrets(self.work / "secrets.env", {name: value for name, value in env.items()
                                                          if name not in SECRET_NAMES})

    def _write_nginx_conf(self) -> None:
        conf = self.work / "nginx" / "nginx.conf"
        make_prefix(conf.parent)
        source = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
        conf.write_text(render_nginx_conf(source, self.ports, conf.parent, as_root=os.geteuid() == 0), encoding="utf-8")

    def _drop_shared_state(self) -> None:
        """The database, the Redis keys under the prefix and the RabbitMQ queue."""
        drop_database(self.services, self.database)
        delete_redis_keys(self.services, self.redis_db, self.prefix)
        delete_queue(self.services, self.queue)


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks (/proc/<pid>/stat), "" when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    after_name = stat.rsplit(")", 1)[1].split()
    return "" if after_name[0] == "Z" else after_name[19]


def welcome(topology: Topology) -> str:
    """What `up` prints: where to chat, where agents log in, how to reach the internal Rasa API."""
    url, work = topology.url, topology.work
    shown = work.relative_to(ROOT) if work.is_relative_to(ROOT) else work
    rasa = ", ".join(topology.rasa_urls)
    return f"""
小智客服 is running (scaled mode: nginx → 2 Rasa servers, 2 desks, the action server; PostgreSQL {topology.database},
Redis db {topology.redis_db} prefix {topology.prefix}, RabbitMQ queue {topology.queue}).
  chat page:  {url}/chat/?rasa={url}  (the demo shop with the widget; socket.io through nginx)
  console:    {url}/console/  (demo logins agent1 / agent2 / supervisor, password {topology.settings.desk_demo_password})
  staff API:  {url}/docs
  Rasa API:   not published by nginx; the servers themselves: {rasa}
              curl -s {topology.rasa_urls[0]}/status -H "Authorization: Bearer $(set -a; . {shown}/secrets.env; \\
                .venv/bin/python -m desk.rasa_client)"
  logs:       {shown}/<name>.log for {', '.join(NAMES)}
Stop it with `make scaled-down`."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the scaled topology as local processes")
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="pid files, logs, secrets (default var/scaled)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds up waits for every process")
    args = parser.parse_args(argv)
    topology = Topology(work=args.work)
    try:
        if args.command == "up":
            print("starting desk1, then desk2, the action server, two Rasa servers and the event consumer "
                  "(about 90 s), then nginx …", flush=True)
            topology.up(args.timeout)
            print(welcome(topology), flush=True)
        elif args.command == "down":
            topology.down()
            print("stopped")
        else:
            for name, pid in topology.status().items():
                print(f"  {name:8} {'pid ' + str(pid) if pid else 'stopped'}")
    except StackError as exc:
        print(f"scaled: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
