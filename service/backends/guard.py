"""Timeouts and error containment around every backend call."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from service.backends.base import Backends
from service.errors import BackendUnavailable, ServiceError
from service.logs import log_event

logger = logging.getLogger(__name__)


class _Guarded:
    """Proxy for one backend: each coroutine method gets a timeout, and any failure that is
    not a deliberate ServiceError becomes BackendUnavailable (logged without arguments)."""

    def __init__(self, target: Any, system: str, timeout_s: float) -> None:
        self._target = target
        self._system = system
        self._timeout_s = timeout_s

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr
        operation = f"{self._system}.{name}"
        return self._wrap(attr, operation)

    def _wrap(self, method: Callable[..., Any], operation: str) -> Callable[..., Any]:
        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await asyncio.wait_for(method(*args, **kwargs), self._timeout_s)
            except ServiceError:
                raise
            except asyncio.TimeoutError:
                log_event(logger, "backend_timeout", logging.WARNING, operation=operation,
                          timeout_s=self._timeout_s)
                raise BackendUnavailable(operation, "timeout") from None
            except Exception as exc:  # any failure of an external system, by design
                log_event(logger, "backend_error", logging.WARNING, operation=operation,
                          error=type(exc).__name__,
                          elapsed_ms=round((time.perf_counter() - started) * 1000))
                raise BackendUnavailable(operation, type(exc).__name__) from None

        return call


def guarded(backends: Backends, timeout_s: float) -> Backends:
    """The same backends, each call bounded by `timeout_s` and contained."""
    wrapped = {
        field.name: _Guarded(getattr(backends, field.name), field.name, timeout_s)
        for field in dataclasses.fields(backends)
    }
    return Backends(**wrapped)
