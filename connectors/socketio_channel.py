"""The socket.io channel of the web widget, behind the message gate, with its events checked.

Rasa's own SocketIOInput refuses every cross-origin browser; the web pages allowed to embed the widget are
listed in WIDGET_ORIGINS (service/settings.py). Its handlers also trust the events' shape (a non-object
or a non-string crashes them with a traceback) and let any socket post into any session. Here:

- `session_request` joins the socket to its session only when the id looks like the random id the widget
  makes (16–64 letters, digits, `-` or `_`); anything else gets a fresh id, as when none is given. A socket
  is in one session at a time; every tab of the same session is in its room and sees the same messages;
- `user_uttered` is taken only from a socket that joined that session, with a string message and an object
  (or JSON object text) as metadata; anything else is dropped with a log line, never a traceback. While the
  bot works on it the room gets `typing` {on: true}, then {on: false} (also when the turn failed);
- `history_request` {session_id}, from a socket that joined that session, is answered with `history`: the
  last messages of the conversation the session is routed to (see `history_items`);
- frames that are not socket.io at all are refused by the server itself (connectors/socketio_server.py).

Replies: the message gate may route a session into a customer's conversation under another id, so the
answer to a message goes to the room of the session that wrote it, whatever id Rasa passes; messages Rasa
sends on its own (agent replies, queue updates, notices) go to the session that wrote to that conversation
last (ConversationRouter.user_of). Custom messages (order cards, handoff states) go out as `bot_uttered`
{"custom": {...}}; messages said for an agent carry "from_agent": true.

The channel does not ask for Rasa's socket.io `jwt_key`: who the customer is travels in the metadata.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX, IS_EXTERNAL
from rasa.shared.core.events import BotUttered, Event, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from actions.names import Response
from connectors.gate import AS_TEXT, MessageGate, guarded
from connectors.routing import ConversationRouter, stored_tracker
from connectors.socketio_manager import LocalFirstRedisManager
from connectors.socketio_server import CheckedSocketIO
from service.logs import log_event
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_METADATA_CHARS = 8 * 1024
HISTORY_LIMIT = 200
GREETING_KEY = "widget_greeting"  # metadata of the "你好" the widget sends by itself when a session opens
CHANNEL = "socketio"


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


def _buttons(data: dict[str, Any]) -> list[dict[str, str]]:
    found = [*(data.get("buttons") or []), *(data.get("quick_replies") or [])]
    return [{"title": str(b.get("title") or b.get("payload")), "payload": b["payload"]}
            for b in found if isinstance(b, dict) and isinstance(b.get("payload"), str)]


def history_items(events: Iterable[Event], limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """What the customer saw of a conversation, oldest first, at most the last `limit`: their messages
    (a button they pressed by its title) and the bot's (agent replies included, marked `from_agent`).
    Not shown: desk events (EXTERNAL_*) and the widget's own opening greeting. A bot message carries the
    channel of the customer message before it: replies go out where the customer last wrote."""
    items: list[dict[str, Any]] = []
    offered: dict[str, str] = {}
    channel: str | None = None
    for event in events:
        if isinstance(event, UserUttered):
            metadata = event.metadata or {}
            text = event.text or ""
            if metadata.get(IS_EXTERNAL) or text.startswith(EXTERNAL_MESSAGE_PREFIX):
                continue
            channel = event.input_channel
            shown = offered.get(text, text.removeprefix(AS_TEXT))
            offered = {}
            if metadata.get(GREETING_KEY) or not shown:
                continue
            items.append({"kind": "user", "text": shown, "buttons": [], "custom": None, "channel": channel,
                          "timestamp": event.timestamp})
        elif isinstance(event, BotUttered):
            data = event.data or {}
            buttons = _buttons(data)
            if buttons:
                offered = {b["payload"]: b["title"] for b in buttons}
            custom = data.get("custom") if isinstance(data.get("custom"), dict) else None
            if not event.text and not custom and not buttons:
                continue
            items.append({"kind": "bot", "text": event.text or "", "buttons": buttons, "custom": custom,
                          "channel": channel, "timestamp": event.timestamp,
                          "from_agent": bool((event.metadata or {}).get("from_agent"))})
    return items[-limit:] if limit > 0 else []


class SessionOutput(SocketIOOutput):
    """The answer to a session's message: to that session's room (every tab of it), not to the conversation id."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, room: str | None, namespace: str = "/",
                 after: Awaitable[Any] | None = None) -> None:
        super().__init__(sio, bot_message_evt)
        self.room = room
        self.namespace = namespace
        self._after = after  # sent before the first message (the turn's typing indicator)

    async def room_of(self, recipient_id: str) -> str | None:
        """The socket.io room the messages for `recipient_id` go to; None: nobody to send to."""
        return self.room

    async def _send_message(self, socket_id: str, response: Any) -> None:
        if self._after is not None:
            after, self._after = self._after, None
            await asyncio.gather(after, return_exceptions=True)  # a typing indicator that failed stops no reply
        room = await self.room_of(socket_id)
        if room is not None:
            await self.sio.emit(self.bot_message_evt, response, room=room, namespace=self.namespace)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        marked = {"from_agent": True} if kwargs.get("from_agent") else {}
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **marked})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class RoutedOutput(SessionOutput):
    """Messages Rasa sends on its own: to the session that wrote to the conversation last (None: dropped
    with a log line; the tracker keeps them, and the widget shows them with the history)."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, router: ConversationRouter,
                 namespace: str = "/") -> None:
        super().__init__(sio, bot_message_evt, None, namespace)
        self.router = router
        self._rooms: dict[str, str | None] = {}

    async def room_of(self, recipient_id: str) -> str | None:
        if recipient_id not in self._rooms:
            room = await self.router.user_of(recipient_id, CHANNEL)
            if room is None:
                log_event(logger, "socketio_recipient_unknown", logging.WARNING)
            self._rooms[recipient_id] = room
        return self._rooms[recipient_id]


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel, on a server that refuses malformed frames (connectors/socketio_server.py),
    with the events checked, every message behind the gate, and replies sent to sessions, not ids."""

    gate: MessageGate | None = None
    router: ConversationRouter | None = None
    settings: Settings | None = None
    history_limit: int = HISTORY_LIMIT

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return None
        return RoutedOutput(self.sio, self.bot_message_evt, self._router(), self.namespace or "/")

    def _router(self) -> ConversationRouter:
        if self.router is None:
            self.router = ConversationRouter()
        return self.router

    async def history(self, app: Any, session_id: str) -> list[dict[str, Any]]:
        """The `history` of a session: the conversation it is routed to, from Rasa's tracker store."""
        conversation = await self._router().conversation_of(CHANNEL, session_id)
        tracker = await stored_tracker(app, conversation) if conversation is not None else None
        return history_items(tracker.events, self.history_limit) if tracker is not None else []

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        gate = self.gate = self.gate or MessageGate()
        router = self.router = self.router or gate.router  # the one that routes the messages also answers for them
        handler = guarded(on_new_message, gate)
        sio = socket_server(self.settings or get_settings())
        self.sio = sio  # get_output_channel uses it
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        namespace = self.namespace or "/"
        bound: dict[str, Any] = {}

        @blueprint.listener("before_server_start")
        async def bind_gate(app: Any, _loop: Any) -> None:
            gate.bind(app)
            router.bind(app)
            bound["app"] = app

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        def joined(sid: str, session_id: str) -> bool:
            return session_id != sid and session_id in sio.rooms(sid, namespace=namespace)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = session_id_of(data)
            if self.session_persistence:
                for room in sio.rooms(sid, namespace=namespace):
                    if room not in (sid, session_id):  # one session per socket: the widget switched identity
                        sio.leave_room(sid, room, namespace=namespace)
                sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on("history_request", namespace=namespace)
        async def history_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not self.session_persistence or not isinstance(session_id, str) or not joined(sid, session_id):
                log_event(logger, "socketio_history_refused", logging.WARNING, reason="session not joined")
                return
            try:
                items = await self.history(bound.get("app"), session_id)
            except Exception as exc:  # a store that fails must not leave a traceback; the widget starts empty
                log_event(logger, "socketio_history_failed", logging.WARNING, error=type(exc).__name__)
                items = []
            await sio.emit("history", items, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str) or not data["message"].strip():
                log_event(logger, "socketio_message_refused", logging.WARNING, reason="not a message")
                return
            sender_id = sid
            if self.session_persistence:
                session_id = data.get("session_id")
                if not isinstance(session_id, str) or not joined(sid, session_id):
                    log_event(logger, "socketio_message_refused", logging.WARNING, reason="session not joined")
                    return
                sender_id = session_id
            metadata = metadata_of(data.get(self.metadata_key or "metadata"))
            if metadata is None:
                log_event(logger, "socketio_message_refused", logging.WARNING, reason="bad metadata")
                return
            # The typing indicator goes out beside the turn instead of before it (an emit waits for the event
            # loop, which is busy with other chats); the output sends it before the turn's first reply.
            typing = asyncio.ensure_future(sio.emit("typing", {"on": True}, room=sender_id, namespace=namespace))
            output = SessionOutput(sio, self.bot_message_evt, sender_id, namespace, after=typing)
            message = UserMessage(data["message"], output, sender_id, input_channel=self.name(), metadata=metadata)
            try:
                await handler(message)
            except Exception as exc:  # Rasa failed on this turn: the customer hears so instead of nothing
                log_event(logger, "socketio_turn_failed", logging.WARNING, error=type(exc).__name__)
                apology = gate_text(bound.get("app"), Response.BACKEND_ERROR)
                if apology:
                    await output.send_text_message(sender_id, apology)
            finally:
                await asyncio.gather(typing, return_exceptions=True)
                await sio.emit("typing", {"on": False}, room=sender_id, namespace=namespace)

        return blueprint


def socket_server(settings: Settings) -> CheckedSocketIO:
    """The socket.io server: for the widget's origins; with REDIS_URL, its rooms span every Rasa server (an agent's
    reply triggered on one server reaches a widget connected to another)."""
    manager = None
    if settings.redis_url:
        manager = LocalFirstRedisManager(settings.redis_url, channel=f"{settings.queue_prefix}:socketio")
    return CheckedSocketIO(async_mode="sanic", cors_allowed_origins=list(settings.widget_origins), client_manager=manager)


def gate_text(app: Any, response_name: str) -> str | None:
    """A response's text from the running model's domain (as connectors/gate.py reads its polite replies)."""
    domain = getattr(getattr(getattr(app, "ctx", None), "agent", None), "domain", None)
    variations = (getattr(domain, "responses", None) or {}).get(response_name) or []
    return variations[0].get("text") if variations else None
