"""The socket.io channel of the web widget, behind the message gate, with its events checked.

Rasa's own SocketIOInput refuses every cross-origin browser; the web pages allowed to embed the widget are
listed in WIDGET_ORIGINS (service/settings.py). Its handlers also trust the events' shape (a non-object
or a non-string crashes them with a traceback) and let any socket post into any session. Here:

- `session_request` joins the socket to its session only when the id looks like the random id the widget
  makes (16–64 letters, digits, `-` or `_`); anything else gets a fresh id, as when none is given;
- `user_uttered` is taken only from a socket that joined that session, with a string message and an object
  (or JSON object text) as metadata; anything else is dropped with a log line, never a traceback;
- frames that are not socket.io at all are refused by the server itself (connectors/socketio_server.py).

The channel does not ask for Rasa's socket.io `jwt_key`: who the customer is travels in the metadata.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.gate import MessageGate, guarded
from connectors.socketio_server import CheckedSocketIO
from service.logs import log_event
from service.settings import get_settings

logger = logging.getLogger(__name__)
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_METADATA_CHARS = 8 * 1024


def session_id_of(data: Any) -> str:
    """The session id a `session_request` asks for, or a fresh one when it is missing or not a safe id."""
    wanted = data.get("session_id") if isinstance(data, dict) else None
    return wanted if isinstance(wanted, str) and SESSION_ID.fullmatch(wanted) else uuid.uuid4().hex


def metadata_of(raw: Any) -> dict[str, Any] | None:
    """The message's metadata as an object; None when it is neither an object nor JSON text of one."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        if len(raw) > MAX_METADATA_CHARS:
            return None
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel, on a server that refuses malformed frames (connectors/socketio_server.py),
    with the events checked and every message behind the gate."""

    gate: MessageGate | None = None

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        gate = self.gate = self.gate or MessageGate()
        handler = guarded(on_new_message, gate)
        sio = CheckedSocketIO(async_mode="sanic", cors_allowed_origins=list(get_settings().widget_origins))
        self.sio = sio  # get_output_channel uses it
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        namespace = self.namespace or "/"

        @blueprint.listener("before_server_start")
        async def bind_gate(app: Any, _loop: Any) -> None:
            gate.bind(app)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = session_id_of(data)
            if self.session_persistence:
                sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str) or not data["message"].strip():
                log_event(logger, "socketio_message_refused", logging.WARNING, reason="not a message")
                return
            sender_id = sid
            if self.session_persistence:
                session_id = data.get("session_id")
                if not isinstance(session_id, str) or session_id not in sio.rooms(sid, namespace=namespace):
                    log_event(logger, "socketio_message_refused", logging.WARNING, reason="session not joined")
                    return
                sender_id = session_id
            metadata = metadata_of(data.get(self.metadata_key or "metadata"))
            if metadata is None:
                log_event(logger, "socketio_message_refused", logging.WARNING, reason="bad metadata")
                return
            message = UserMessage(data["message"], SocketIOOutput(sio, self.bot_message_evt), sender_id,
                                  input_channel=self.name(), metadata=metadata)
            await handler(message)

        return blueprint
