"""The REST channel (`/webhooks/rest/webhook`) with message metadata, the message gate and clear 400s.

Rasa's own RestInput drops the request's `metadata`; this one passes it on (so the web page and tests can
say who the customer is, checked by the gate) and rejects malformed requests with a 400. The `sender` is
the conversation's key: whoever knows it continues that conversation, with whatever it has proven, so a
client must use unguessable sender ids (socket.io's session ids are such). The channel name is fixed:
a body's `input_channel` is not believed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.gate import MessageGate, guarded

MAX_SENDER = 200
MAX_BODY_BYTES = 64 * 1024


def request_problem(body: Any) -> str | None:
    """Why a webhook body is unusable, or None when it is fine (an over-long message gets a polite reply instead)."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER:
        return f"'sender' must be a non-empty string of at most {MAX_SENDER} characters"
    return message_problem(body)


def message_problem(body: Any) -> str | None:
    """Why a body's `message` and `metadata` are unusable, or None (the app channel's body is just these)."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    text = body.get("message")
    if not isinstance(text, str) or not text.strip():
        return "'message' must be a non-empty string"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "'metadata' must be a JSON object"
    return None


class RestChannel(RestInput):
    def __init__(self, gate: MessageGate | None = None) -> None:
        self.gate = gate or MessageGate()

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        metadata = (request.json or {}).get("metadata")
        return metadata if isinstance(metadata, dict) else None

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        inner = super().blueprint(guarded(on_new_message, self.gate))

        @inner.listener("before_server_start")
        async def bind_gate(app: Any, _loop: Any) -> None:
            self.gate.bind(app)

        @inner.on_request
        async def reject_malformed(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json({"error": "payload_too_large",
                                      "reason": f"the body must be at most {MAX_BODY_BYTES} bytes"}, status=413)
            try:
                body = request.json
            except Exception:  # sanic raises on invalid JSON or invalid UTF-8
                body = None
            problem = request_problem(body)
            if problem:
                return response.json({"error": "bad_request", "reason": problem}, status=400)
            return None

        return inner
