"""The socket.io channel of the web widget, with identity checks on every message.

Rasa's own SocketIOInput refuses every cross-origin browser; the web pages allowed to embed
the widget are listed in WIDGET_ORIGINS (service/settings.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from connectors.identity import verifying
from service.settings import get_settings


class SocketIOChannel(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(verifying(on_new_message))
        if self.sio is not None:
            self.sio.eio.cors_allowed_origins = list(get_settings().widget_origins)
        return blueprint
