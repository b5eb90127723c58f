"""The REST channel (`/webhooks/rest/webhook`) with message metadata and identity checks.

Rasa's own RestInput drops the request's `metadata`; this one passes it on (so the web page
and tests can say who the customer is) and rejects malformed requests with a 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.identity import verifying

MAX_TEXT = 2000


def request_problem(body: Any) -> str | None:
    """Why a webhook body is unusable, or None when it is fine."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 200:
        return "'sender' must be a non-empty string of at most 200 characters"
    if not isinstance(text, str) or not text.strip():
        return "'message' must be a non-empty string"
    if len(text) > MAX_TEXT:
        return f"'message' must be at most {MAX_TEXT} characters"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "'metadata' must be a JSON object"
    return None


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        metadata = (request.json or {}).get("metadata")
        return metadata if isinstance(metadata, dict) else None

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        inner = super().blueprint(verifying(on_new_message))

        @inner.on_request
        async def reject_malformed(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            try:
                body = request.json
            except Exception:  # sanic raises on invalid JSON
                body = None
            problem = request_problem(body)
            if problem:
                return response.json({"error": "bad_request", "reason": problem}, status=400)
            return None

        return inner
