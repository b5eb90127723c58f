"""Text messages to customers' phones, behind one interface.

`OutboxSmsSender` is the embedded stub: instead of an SMS gateway it appends each message to a file
under var/ (mode 0600) where a demo or a test reads the code. A real gateway implements `SmsSender`.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

from service.clock import CST


class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> None:
        """Deliver `text` to the mobile number `phone`; raises on failure."""
        ...


class OutboxSmsSender:
    """Writes every message as one JSON line {"at", "phone", "text"} to `path` (the embedded demo's "phone")."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def send(self, phone: str, text: str) -> None:
        await asyncio.to_thread(self._append, phone, text)

    def _append(self, phone: str, text: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": datetime.now(CST).isoformat(timespec="seconds"), "phone": phone, "text": text},
                          ensure_ascii=False)
        descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def last_message_to(path: Path, phone: str) -> str | None:
    """The text of the newest message the outbox holds for `phone` (demos and tests)."""
    if not path.exists():
        return None
    found = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("phone") == phone:
            found = str(entry.get("text") or "")
    return found
