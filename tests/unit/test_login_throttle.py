"""Login throttling (desk/login_throttle.py): pure with a fake clock, then over HTTP before any hashing."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from desk.app import create_app
from desk.auth import PasswordHasher
from desk.login_throttle import CheckGate, GateFull, LoginThrottle, ThrottlePolicy
from service.settings import load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import NOW, FakeRasa, MovableClock, serving


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, account: str, address: str = "10.0.0.1") -> None:
    assert throttle.begin(account, address) is None
    throttle.finish(account, address, succeeded=False)


def test_five_failures_lock_the_account_for_fifteen_minutes() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        fail(throttle, "agent1")
    refusal = throttle.begin("agent1", "10.0.0.2")  # from anywhere, whatever the password
    assert refusal is not None and refusal.code == "account_locked" and refusal.retry_after_s == 900
    assert "15 分钟" in refusal.reason
    assert throttle.begin("Agent1 ", "10.0.0.2") is not None  # the same account however it is typed
    assert throttle.begin("agent2", "10.0.0.2") is None  # other accounts are not affected
    clock.now += 600
    assert throttle.begin("agent1", "10.0.0.2").retry_after_s == 300  # type: ignore[union-attr]
    clock.now += 301
    assert throttle.begin("agent1", "10.0.0.2") is None  # over, and counted afresh


def test_failures_outside_the_window_are_forgotten_and_a_success_clears_them() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        fail(throttle, "agent1")
    clock.now += 15 * 60 + 1
    fail(throttle, "agent1")
    assert not throttle.locked("agent1")
    for _ in range(3):
        fail(throttle, "agent1")
    assert throttle.begin("agent1", "10.0.0.1") is None
    throttle.finish("agent1", "10.0.0.1", succeeded=True)
    for _ in range(4):
        fail(throttle, "agent1")
    assert not throttle.locked("agent1")


def test_an_address_trying_many_accounts_is_locked() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(ThrottlePolicy(address_failures=20), clock=clock)
    for n in range(20):
        fail(throttle, f"guess{n}", "203.0.113.9")
    refusal = throttle.begin("agent1", "203.0.113.9")
    assert refusal is not None and refusal.code == "address_locked" and refusal.retry_after_s == 900
    assert throttle.begin("agent1", "203.0.113.10") is None


def test_logins_under_way_count_so_a_parallel_burst_cannot_slip_past() -> None:
    throttle = LoginThrottle(clock=FakeClock())
    admitted = [throttle.begin("agent1", f"10.0.0.{n}") for n in range(10)]
    assert admitted[:5] == [None] * 5
    assert all(r is not None and r.code == "too_many_attempts" and r.retry_after_s == 1 for r in admitted[5:])
    throttle.abandon("agent1", "10.0.0.0")  # e.g. the gate was full: neither success nor failure
    assert throttle.begin("agent1", "10.0.0.99") is None


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(ThrottlePolicy(max_keys=50), clock=FakeClock())
    for n in range(500):
        fail(throttle, f"user{n}", f"10.1.{n // 250}.{n % 250}")
    assert len(throttle._counters) <= 50


async def test_the_gate_bounds_concurrent_checks_and_refuses_beyond_its_queue() -> None:
    gate = CheckGate(concurrent=2, queued=3)
    running, most, lock, release = 0, 0, threading.Lock(), threading.Event()

    def check() -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(5)
        with lock:
            running -= 1
        return True

    jobs = [asyncio.create_task(gate.run(check)) for _ in range(5)]  # 2 running + 3 waiting
    await asyncio.sleep(0.1)
    with pytest.raises(GateFull):
        await gate.run(check)
    release.set()
    assert await asyncio.gather(*jobs) == [True] * 5 and most == 2


class CountingHasher(PasswordHasher):
    """Counts the expensive operations: a throttled login must not reach them."""

    def __init__(self) -> None:
        super().__init__(iterations=1_000)
        self.checks = 0

    def verify(self, password: str, stored: str) -> bool:
        self.checks += 1
        return super().verify(password, stored)

    def waste_time(self, password: str) -> None:
        self.checks += 1
        super().waste_time(password)


async def test_six_wrong_passwords_then_429_with_retry_after_even_with_the_right_one(tmp_path: Path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"})
    tickets = build_ticket_service(settings, MovableClock(NOW))
    hasher = CountingHasher()
    app = create_app(settings, tickets, FakeRasa(), hasher, escalate=False)

    async with serving(app) as url, aiohttp.ClientSession() as session:
        async def login(password: str, username: str = "agent1") -> tuple[int, dict[str, str], dict[str, str]]:
            body = {"username": username, "password": password}
            async with session.post(url + "/api/auth/token", json=body) as answer:
                return answer.status, await answer.json(), dict(answer.headers)

        answers = [await login("wrong") for _ in range(6)]
        assert [a[0] for a in answers] == [401] * 5 + [429]
        assert hasher.checks == 5  # the sixth was refused before hashing
        status, body, headers = await login("xiaozhi-demo")
        assert status == 429 and body["error"] == "account_locked" and "锁定" in body["reason"]
        assert 890 <= int(headers["Retry-After"]) <= 900
        assert hasher.checks == 5
        assert (await login("xiaozhi-demo", "agent2"))[0] == 200  # another account from the same address
        started = time.perf_counter()
        flood = await asyncio.gather(*(login("wrong") for _ in range(50)))
        assert {a[0] for a in flood} == {429} and time.perf_counter() - started < 5
        assert hasher.checks == 6
    tickets._engine.dispose()
