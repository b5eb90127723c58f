"""A python-socketio server that refuses malformed frames with a log line instead of a traceback.

python-socketio and python-engineio decode what a client sends without guarding it: a frame that is not an
engine.io packet, or a socket.io packet that is not valid JSON or of an unexpected type, raises inside the
library and is logged with its traceback (or kills the socket task). Here each frame is decoded once in
front of the library: a bad engine.io frame closes that client's socket, a bad socket.io packet is
dropped; both with one warning line naming the error type, never the frame.
"""

from __future__ import annotations

import logging
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet
from engineio.async_drivers.sanic import WebSocket
from socketio import packet as sio_packet

from service.logs import log_event

logger = logging.getLogger(__name__)
ACCEPTED = frozenset({sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT, sio_packet.ACK,
                      sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK})


def packet_problem(decoded: Any) -> str | None:
    """Why a decoded socket.io packet would crash the library, or None."""
    if decoded.packet_type not in ACCEPTED:
        return "unexpected packet type"
    if decoded.namespace is not None and not isinstance(decoded.namespace, str):
        return "bad namespace"
    data = decoded.data
    if decoded.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            return "an event must be a list starting with its name"
    elif decoded.packet_type in (sio_packet.ACK, sio_packet.BINARY_ACK):
        if not isinstance(data, list):
            return "an ack must be a list"
    elif decoded.packet_type == sio_packet.CONNECT and data is not None and not isinstance(data, dict):
        return "connect data must be an object"
    return None


class CheckedWebSocket(WebSocket):  # type: ignore[misc]
    """engine.io's Sanic WebSocket wrapper, handing on only frames that decode as engine.io packets."""

    async def wait(self) -> Any:
        data = await super().wait()
        try:
            eio_packet.Packet(encoded_packet=data)
        except Exception as exc:  # whatever a client sends, by design
            log_event(logger, "socketio_frame_refused", logging.WARNING, error=type(exc).__name__)
            return None  # as if the client had closed the socket: the library ends it cleanly
        return data


class CheckedEngineIO(engineio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": CheckedWebSocket}  # type: ignore[has-type]


class CheckedSocketIO(socketio.AsyncServer):  # type: ignore[misc]
    def _engineio_server_class(self) -> type:
        return CheckedEngineIO

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if eio_sid not in self._binary_packet:  # an attachment continues an earlier packet
            try:
                decoded = self.packet_class(encoded_packet=data)
                problem = packet_problem(decoded)
                if problem:
                    raise ValueError(problem)
            except Exception as exc:  # whatever a client sends, by design
                log_event(logger, "socketio_packet_refused", logging.WARNING, error=type(exc).__name__)
                return
        await super()._handle_eio_message(eio_sid, data)
