"""The bot's servers for end-to-end tests: free loopback ports, a temporary database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scripts.launch import Stack, StackError, http, start_stack


@dataclass
class Bot:
    stack: Stack

    @property
    def rasa_url(self) -> str:
        return self.stack.rasa_url

    def say(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        status, replies = http("POST", f"{self.rasa_url}/webhooks/rest/webhook", body)
        assert status == 200, replies
        return replies

    def texts(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> str:
        return "\n".join(r.get("text", "") for r in self.say(sender, text, metadata))

    def api(self, method: str, path: str, body: Any | None = None) -> tuple[int, Any]:
        """Rasa's HTTP API (/conversations/…, /model/parse, /status) with a JWT in the Authorization header."""
        return http(method, f"{self.rasa_url}{path}", body, headers=self.stack.rasa_headers())


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    try:
        stack = start_stack(tmp_path_factory.mktemp("bot"), {"XIAOZHI_TODAY": "2026-11-21", "IDENTITY_SECRET": ""})
    except StackError as error:
        pytest.fail(str(error))
    try:
        yield Bot(stack)
    finally:
        stack.stop()
