"""Structured (logfmt) log events that never carry personal data."""

from __future__ import annotations

import logging
from typing import Any

from service.privacy import scrub


def _value(value: Any) -> str:
    text = scrub(str(value))
    return f'"{text}"' if (" " in text or "=" in text or not text) else text


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """`event key=value ...`; values pass through privacy.scrub, so phones and addresses are masked."""
    if not logger.isEnabledFor(level):
        return
    parts = [event] + [f"{key}={_value(value)}" for key, value in fields.items()]
    logger.log(level, " ".join(parts))
