"""Start and stop the bot's processes (action server, Rasa server, staff desk) for tests and benchmarks.

Each stack gets free loopback ports, its own working directory (demo database, tracker
store, logs, the secrets embedded mode generates) unless told otherwise, and is stopped cleanly
afterwards. Rasa and the action server start through scripts/serve_rasa.py and
scripts/serve_actions.py, locked as in production: `Stack.rasa_headers()` is what Rasa's HTTP API
wants.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.secrets import SPECS
from service.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "xiaozhi.tar.gz"
BIN = Path(sys.executable).parent


def model_path() -> Path:
    """The model a stack serves: $XIAOZHI_MODEL (one trained elsewhere, e.g. to try a change), else MODEL."""
    return Path(os.environ.get("XIAOZHI_MODEL") or MODEL)


# handoff.yml for tests and benchmarks: open around the clock, so results do not depend on the hour.
ALWAYS_OPEN_HANDOFF = """working_hours: {start: "00:00", end: "23:59"}
groups: {售前咨询: [product_inquiry], 售后服务: [return_request], 物流: [query_logistics, query_order_status],
         投诉: [complaint], 技术: [repair_request]}
default_group: 物流
department_groups: {物流部: [物流]}
avg_handle_minutes: 3
max_wait_minutes: 10
default_capacity: 3
"""


def always_open_handoff(work: Path) -> Path:
    """Write ALWAYS_OPEN_HANDOFF into `work` and return its path (for HANDOFF_CONFIG)."""
    path = work / "handoff.yml"
    path.write_text(ALWAYS_OPEN_HANDOFF, encoding="utf-8")
    return path


class StackError(RuntimeError):
    """A process did not come up; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: Any | None = None, timeout: float = 30,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:  # Rasa's "/" answers plain text
        return status, raw.decode(errors="replace")


@dataclass
class Stack:
    work: Path
    urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict, repr=False)  # what the processes were started with

    @property
    def settings(self) -> Settings:
        """The settings the stack's processes read (secrets generated under `work` in embedded mode)."""
        return load_settings(self.env)

    def rasa_headers(self) -> dict[str, str]:
        """A fresh Authorization header (admin JWT, 5 minutes) for the stack's Rasa HTTP API."""
        from desk.rasa_client import rasa_api_headers

        return rasa_api_headers(self.settings)

    @property
    def rasa_url(self) -> str:
        return self.urls["rasa"]

    @property
    def actions_url(self) -> str:
        return self.urls["actions"]

    @property
    def desk_url(self) -> str:
        return self.urls["desk"]

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"{url}: process exited\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise StackError(f"{url}: not up after {timeout_s}s\n{log.read_text(errors='replace')[-4000:]}")


TRACKER_STORE = "connectors.tracker_store.CachedSQLTrackerStore"  # as in endpoints.yml
LOCK_STORE = "connectors.lock_store.PromptInMemoryLockStore"  # as in endpoints.yml


def endpoints_file(work: Path, actions_port: int, extra: str = "") -> Path:
    """endpoints.yml for a stack: the action server on `actions_port` (with its token, as in endpoints.yml)."""
    path = work / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        '  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n'
        f'tracker_store:\n  type: {TRACKER_STORE}\n  dialect: "sqlite"\n  db: "{work / "tracker.db"}"\n'
        f'lock_store:\n  type: {LOCK_STORE}\n{extra}',
        encoding="utf-8",
    )
    return path


def stack_secrets(env: dict[str, str]) -> dict[str, str]:
    """Scaled mode takes no generated secret from var/: give a test stack its own random ones (not IDENTITY_SECRET,
    which decides how the channels read identity claims, so it stays the caller's choice)."""
    if not load_settings(env).scaled:
        return {}
    return {name: secrets.token_urlsafe(48) for name in SPECS if not env.get(name)}


def start_stack(work: Path, env: dict[str, str] | None = None, timeout_s: float = 240, desks: int = 0) -> Stack:
    """Action server, `desks` desk processes and the Rasa server, started together: free ports, data under `work`.

    The action server talks to the first desk (urls "desk"); the others are "desk1", "desk2", ...
    (several desks only make sense with REDIS_URL in `env`: they share the queue through it).
    """
    model = model_path()
    if not model.exists():
        raise StackError(f"no trained model at {model}: run `make train` first")
    work.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = free_port(), free_port()
    desk_ports = [free_port() for _ in range(desks)]
    full_env = {**os.environ, "XIAOZHI_VAR_DIR": str(work), "TF_CPP_MIN_LOG_LEVEL": "3",
                "RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "RASA_URL": f"http://127.0.0.1:{rasa_port}",
                "DESK_URL": f"http://127.0.0.1:{desk_ports[0] if desk_ports else free_port()}",
                "WIDGET_ORIGINS": ",".join(f"http://127.0.0.1:{port}" for port in desk_ports) or "http://127.0.0.1",
                **(env or {})}
    full_env.update(stack_secrets(full_env))
    endpoints = endpoints_file(work, actions_port)
    commands: dict[str, tuple[list[str], str, str, dict[str, str]]] = {
        "actions": ([str(BIN / "python"), str(ROOT / "scripts" / "serve_actions.py"), "--port", str(actions_port)],
                    f"http://127.0.0.1:{actions_port}", "/health", {"ACTIONS_HOST": "127.0.0.1"}),
    }
    for index, port in enumerate(desk_ports):
        commands["desk" if index == 0 else f"desk{index}"] = (
            [str(BIN / "python"), "-m", "desk"], f"http://127.0.0.1:{port}", "/health",
            {"DESK_HOST": "127.0.0.1", "DESK_PORT": str(port)})
    # "/" needs no token and answers once the model is loaded (Rasa loads it before it listens).
    commands["rasa"] = ([str(BIN / "python"), str(ROOT / "scripts" / "serve_rasa.py"), "run", "--model", str(model),
                         "--interface", "127.0.0.1", "--port", str(rasa_port),
                         "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints)],
                        f"http://127.0.0.1:{rasa_port}", "/", {})
    stack = Stack(work, env=full_env)
    try:
        # All at once, then each waited for: none needs another to start (the migrations take a lock of their
        # own), and Rasa's model load no longer waits behind the others' start-up.
        for name, (command, _base, _health, extra) in commands.items():
            with (work / f"{name}.log").open("wb") as out:
                stack.processes[name] = subprocess.Popen(command, cwd=ROOT, env={**full_env, **extra}, stdout=out,
                                                         stderr=subprocess.STDOUT)
        for name, (_command, base, health, _extra) in commands.items():
            _wait(base + health, stack.processes[name], work / f"{name}.log", timeout_s)
            stack.urls[name] = base
    except BaseException:
        stack.stop()
        raise
    return stack


def start_desk(work: Path, env: dict[str, str] | None = None, timeout_s: float = 60) -> Stack:
    """The staff desk (`python -m desk`) on a free port, its database and secret under `work` unless `env` says otherwise."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {**os.environ, "XIAOZHI_VAR_DIR": str(work), "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                **(env or {}), "DESK_HOST": "127.0.0.1", "DESK_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"
    log = work / "desk.log"
    stack = Stack(work, env=full_env)
    try:
        with log.open("wb") as out:
            stack.processes["desk"] = subprocess.Popen([str(BIN / "python"), "-m", "desk"], cwd=ROOT, env=full_env,
                                                       stdout=out, stderr=subprocess.STDOUT)
        _wait(base + "/health", stack.processes["desk"], log, timeout_s)
        stack.urls["desk"] = base
    except BaseException:
        stack.stop()
        raise
    return stack


@contextmanager
def running_stack(work: Path, env: dict[str, str] | None = None, desks: int = 0) -> Iterator[Stack]:
    stack = start_stack(work, env, desks=desks)
    try:
        yield stack
    finally:
        stack.stop()
