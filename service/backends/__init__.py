"""Backends of the external systems; `default_backends()` gives the configured set."""

from __future__ import annotations

import threading

from service.backends.base import Backends
from service.backends.guard import guarded
from service.backends.seed import seed
from service.backends.stub import StubDatabase, stub_backends
from service.clock import Clock
from service.db import make_engine
from service.settings import Settings, get_settings

_lock = threading.Lock()
_default: Backends | None = None


def build_backends(settings: Settings, clock: Clock | None = None) -> Backends:
    """Stub backends on the demo database named by `settings`, seeded on first use (for the business
    day then: see service/backends/seed.py), guarded."""
    clock = clock or Clock(settings.business_date)
    engine = make_engine(settings.stub_backend_url)
    seed(engine, clock.today())
    db = StubDatabase(
        engine=engine,
        clock=clock,
        latency_ms=settings.stub_latency_ms,
        failing=settings.stub_failing,
    )
    return guarded(stub_backends(db), settings.backend_timeout_s)


def default_backends() -> Backends:
    """The process-wide backends, built on first use (never at import time)."""
    global _default
    with _lock:
        if _default is None:
            _default = build_backends(get_settings())
        return _default


__all__ = ["Backends", "build_backends", "default_backends"]
