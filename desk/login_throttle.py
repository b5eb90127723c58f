"""Login throttling: failures per account and per client address, lockouts, and a bound on concurrent password checks.

Every decision here is taken BEFORE the password is hashed (PBKDF2, 600,000 rounds, about a third of a second of a
worker thread), so a flood of logins is answered 429 (or 503) from the event loop and cannot occupy the threads:

- an account with `account_failures` failed logins within `window_s` is locked for `lockout_s`, for everyone
  (the right password included); an address with `address_failures` failures likewise;
- logins still being checked count as failures until they are decided, so a burst of parallel guesses cannot
  slip past the limits;
- `CheckGate` runs at most `concurrent` checks at a time with at most `queued` waiting; beyond that, 503.

A successful login clears the account's failures. The state is in memory, per desk process, deliberately: the
check stays a dictionary lookup with no database round trip before the refusal, and nothing is written per failed
login. With N desks behind a load balancer an attacker gets at most N × `account_failures` guesses per window
instead of `account_failures`, which is still far too few to guess a password; a restart forgets the lockouts.
Memory is bounded: at most `max_keys` accounts and addresses are remembered (the oldest are forgotten first).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
ACCOUNT, ADDRESS = "account", "address"


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5
    address_failures: int = 20
    window_s: float = 15 * 60
    lockout_s: float = 15 * 60
    max_keys: int = 10_000


@dataclass(frozen=True)
class Refusal:
    """Why a login is not even tried, and after how many seconds to come back."""

    code: str  # account_locked | address_locked | too_many_attempts
    reason: str
    retry_after_s: int


class _Counter:
    """Failure times within the window, logins under way, and a lockout end, for one account or address."""

    __slots__ = ("failures", "in_flight", "locked_until")

    def __init__(self) -> None:
        self.failures: deque[float] = deque()
        self.in_flight = 0
        self.locked_until = 0.0

    def prune(self, now: float, window_s: float) -> None:
        while self.failures and self.failures[0] <= now - window_s:
            self.failures.popleft()

    def idle(self, now: float) -> bool:
        return not self.failures and not self.in_flight and self.locked_until <= now


class LoginThrottle:
    """Pure bookkeeping with an injectable clock (monotonic seconds); not thread-safe (used from the event loop)."""

    def __init__(self, policy: ThrottlePolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._counters: dict[tuple[str, str], _Counter] = {}

    def begin(self, account: str, address: str) -> Refusal | None:
        """May this login be checked now? If so, it counts as under way until `finish` is called."""
        now = self._clock()
        account_key, address_key = (ACCOUNT, _normal(account)), (ADDRESS, address)
        for key, limit in ((account_key, self.policy.account_failures), (address_key, self.policy.address_failures)):
            counter = self._counters.get(key)
            if counter is None:
                continue
            counter.prune(now, self.policy.window_s)
            if counter.locked_until > now:
                return self._locked(key[0], counter.locked_until - now)
            if len(counter.failures) + counter.in_flight >= limit:
                return Refusal("too_many_attempts", "登录尝试过于频繁，请稍后再试", 1)
        for key in (account_key, address_key):
            self._counter(key, now).in_flight += 1
        return None

    def finish(self, account: str, address: str, succeeded: bool) -> None:
        """The outcome of a login `begin` let through; a failure may lock the account or the address."""
        now = self._clock()
        for key, limit in (((ACCOUNT, _normal(account)), self.policy.account_failures),
                           ((ADDRESS, address), self.policy.address_failures)):
            counter = self._counter(key, now)
            counter.in_flight = max(0, counter.in_flight - 1)
            if succeeded:
                if key[0] == ACCOUNT:
                    counter.failures.clear()
                continue
            counter.prune(now, self.policy.window_s)
            counter.failures.append(now)
            if len(counter.failures) >= limit:
                counter.locked_until = now + self.policy.lockout_s
                counter.failures.clear()  # after the lockout, a fresh count

    def abandon(self, account: str, address: str) -> None:
        """A login `begin` let through was not checked after all (the gate was full): neither success nor failure."""
        for key in ((ACCOUNT, _normal(account)), (ADDRESS, address)):
            counter = self._counters.get(key)
            if counter is not None:
                counter.in_flight = max(0, counter.in_flight - 1)

    def locked(self, account: str) -> bool:
        counter = self._counters.get((ACCOUNT, _normal(account)))
        return counter is not None and counter.locked_until > self._clock()

    def _locked(self, kind: str, remaining_s: float) -> Refusal:
        minutes = max(1, math.ceil(remaining_s / 60))
        if kind == ACCOUNT:
            return Refusal("account_locked", f"该账号登录失败次数过多，已锁定，请 {minutes} 分钟后再试",
                           math.ceil(remaining_s))
        return Refusal("address_locked", f"该地址登录失败次数过多，请 {minutes} 分钟后再试", math.ceil(remaining_s))

    def _counter(self, key: tuple[str, str], now: float) -> _Counter:
        counter = self._counters.get(key)
        if counter is None:
            if len(self._counters) >= self.policy.max_keys:
                self._forget(now)
            counter = self._counters[key] = _Counter()
        return counter

    def _forget(self, now: float) -> None:
        """Drop idle counters; if all are busy, the oldest (the bound on memory wins over an old lockout)."""
        for key, counter in list(self._counters.items()):
            counter.prune(now, self.policy.window_s)
            if counter.idle(now):
                del self._counters[key]
        while len(self._counters) >= self.policy.max_keys:
            del self._counters[next(iter(self._counters))]


def _normal(account: str) -> str:
    return account.strip().casefold()[:64]


class GateFull(Exception):
    """Too many password checks are already waiting."""


class CheckGate:
    """At most `concurrent` password checks in worker threads at a time, at most `queued` waiting for one.

    The slot is released when the thread finishes, not when the request goes away: a client that hangs up does not
    free a thread that is still hashing.
    """

    def __init__(self, concurrent: int = 2, queued: int = 16) -> None:
        self._slots = asyncio.Semaphore(concurrent)
        self._queued = 0
        self._max_queued = queued

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._queued >= self._max_queued:
            raise GateFull
        self._queued += 1
        try:
            await self._slots.acquire()
        finally:
            self._queued -= 1
        try:
            job = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        except BaseException:
            self._slots.release()
            raise
        job.add_done_callback(lambda _job: self._slots.release())
        return await asyncio.shield(job)
