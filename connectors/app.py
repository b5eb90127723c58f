"""The mobile app's channel (/webhooks/app/...): the shop's signed token on every request, messages over HTTP,
out-of-band messages live over a WebSocket. docs/app-channel.md is the protocol.

- POST /webhook {"message": str, "metadata"?: object} -> the bot's answer, a JSON list of frames;
- GET /history -> the conversation's last HISTORY_LIMIT messages, wherever the customer wrote them;
- WebSocket /ws -> auth frame first, then pushes (connectors/app_sockets.py).

Every HTTP request carries `Authorization: Bearer <JWT>` (connectors/app_tokens.py); no valid token, 401 with
`WWW-Authenticate: Bearer` and the reason; a token in the query string is refused. The token's `customer_id`
is proof: the gate joins the app user to that customer's one conversation. The channel is off (every route
answers 404 with the reason) while APP_TOKEN_SECRET is unset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import Event
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.app_fanout import app_fanout
from connectors.app_messages import CHANNEL, HISTORY_LIMIT, AppReplies, transcript
from connectors.app_sockets import (
    AUTH_TIMEOUT_S,
    UNAUTHORIZED_CLOSE,
    AppPushOutput,
    AppSockets,
    AppSocketSession,
    close_socket,
    dumps,
    user_ref,
)
from connectors.app_tokens import AppIdentity, TokenError, bearer_token, token_in_url, verify_app_token
from connectors.gate import MessageGate
from connectors.rest_channel import message_problem
from connectors.routing import ConversationRouter, stored_tracker
from service.logs import log_event
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
OFF_REASON = "the app channel is off: APP_TOKEN_SECRET is unset on this server"
NOT_PROCESSED = "the message could not be handled just now; send it again"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Events = Callable[[Any, str], Awaitable[Iterable[Event]]]


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    return response.json(body, status=status, headers=headers, dumps=dumps)


def unauthorized(error: TokenError) -> HTTPResponse:
    challenge = 'Bearer realm="app"' if error.code == "missing_token" else 'Bearer realm="app", error="invalid_token"'
    return reply({"error": "unauthorized", "code": error.code, "reason": error.reason}, 401,
                 {"WWW-Authenticate": challenge})


async def tracker_events(app: Any, conversation: str) -> Iterable[Event]:
    """The conversation's events from Rasa's tracker store (none when it has no tracker)."""
    tracker = await stored_tracker(app, conversation)
    return tracker.events if tracker is not None else []


class AppChannel(InputChannel):
    """The app's input channel; `get_output_channel()` is the way back for agent replies, queue updates, notices."""

    def __init__(self, settings: Settings | None = None, gate: MessageGate | None = None,
                 router: ConversationRouter | None = None,
                 sockets: AppSockets | None = None, events: Events = tracker_events,
                 clock: Callable[[], float] = time.time, auth_timeout_s: float = AUTH_TIMEOUT_S) -> None:
        self._settings = settings
        self._gate = gate
        self._router = router
        self.sockets = sockets or AppSockets(fanout=app_fanout(self.settings))  # scaled: pushes span servers
        self._events = events
        self.clock = clock
        self.auth_timeout_s = auth_timeout_s

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> AppChannel:
        return cls()  # nothing in credentials.yml: the secret comes from the environment (service/settings.py)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    @property
    def gate(self) -> MessageGate:
        if self._gate is None:
            self._gate = MessageGate(settings=self._settings)
        return self._gate

    @property
    def router(self) -> ConversationRouter:
        """The conversation router (connectors/routing.py); by default the gate's, bound to Rasa's app."""
        if self._router is None:
            self._router = self.gate.router
        return self._router

    def verify(self, token: str) -> AppIdentity:
        secret = self.settings.app_token_secret
        if not secret:
            raise TokenError("channel_off", OFF_REASON)
        return verify_app_token(token, secret, self.settings.identity_max_ttl_s, self.clock())

    def identity_of(self, request: Request) -> AppIdentity:
        """Who the request's token proves; TokenError when it proves nothing."""
        if token_in_url(request.args):
            raise TokenError("token_in_url", "never put the token in the URL: send 'Authorization: Bearer <token>'")
        return self.verify(bearer_token(request.headers.get("authorization")))

    def get_output_channel(self) -> OutputChannel | None:
        """The way to the app user's sockets (None while the channel is off: Rasa then only collects)."""
        if not self.settings.app_token_secret:
            return None
        return AppPushOutput(self.sockets, self.router.user_of)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = Blueprint("app_webhook", __name__)
        if not self.settings.app_token_secret:
            log_event(logger, "app_channel_off", reason="APP_TOKEN_SECRET is unset")
            return self._off(blueprint)
        gate = self.gate
        self.sockets.serve_with(blueprint)  # other Rasa servers' pushes, while this one runs

        @blueprint.listener("before_server_start")
        async def bind_gate(app: Any, _loop: Any) -> None:
            gate.bind(app)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return reply({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self._webhook(request, on_new_message)

        @blueprint.route("/history", methods=["GET"])
        async def history(request: Request) -> HTTPResponse:
            return await self._history(request)

        @blueprint.websocket("/ws")
        async def live(request: Request, ws: Any) -> None:
            await self._live(request, ws)

        return blueprint

    @staticmethod
    def _off(blueprint: Blueprint) -> Blueprint:
        async def off(_: Request, **_path: Any) -> HTTPResponse:
            return reply({"error": "not_found", "reason": OFF_REASON}, 404)

        blueprint.add_route(off, "/", methods=["GET", "POST"], name="off_root")
        blueprint.add_route(off, "/<rest:path>", methods=["GET", "POST"], name="off")
        return blueprint

    async def _webhook(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        try:
            identity = self.identity_of(request)
        except TokenError as exc:
            log_event(logger, "app_request_refused", logging.WARNING, why=exc.code)
            return unauthorized(exc)
        if len(request.body or b"") > MAX_BODY_BYTES:
            return reply({"error": "payload_too_large",
                          "reason": f"the body must be at most {MAX_BODY_BYTES} bytes"}, 413)
        try:
            body = request.json
        except Exception:  # sanic raises on invalid JSON or invalid UTF-8
            body = None
        problem = message_problem(body)  # an over-long message gets a polite reply from the gate
        if problem:
            return reply({"error": "bad_request", "reason": problem}, 400)
        replies = AppReplies()
        message = UserMessage(body["message"], replies, identity.user, input_channel=CHANNEL,
                              metadata=body.get("metadata") or {})
        try:
            if await self.gate.admit(message, proven_customer=identity.customer_id):
                await on_new_message(message)
        except Exception as exc:  # Rasa's own failure, not the request's: say so, so the app sends it again
            log_event(logger, "app_message_failed", logging.ERROR, user=user_ref(identity.user),
                      error=type(exc).__name__)
            return reply({"error": "unavailable", "reason": NOT_PROCESSED}, 503, {"Retry-After": "5"})
        return reply(replies.messages)

    async def _history(self, request: Request) -> HTTPResponse:
        try:
            identity = self.identity_of(request)
        except TokenError as exc:
            log_event(logger, "app_request_refused", logging.WARNING, why=exc.code)
            return unauthorized(exc)
        conversation = await self.router.conversation_of(CHANNEL, identity.user)
        if conversation is None:
            return reply([])
        return reply(transcript(await self._events(request.app, conversation), HISTORY_LIMIT))

    async def _live(self, request: Request, ws: Any) -> None:
        if token_in_url(request.args):
            log_event(logger, "app_socket_refused", logging.WARNING, why="token_in_url")
            await close_socket(ws, UNAUTHORIZED_CLOSE, "token_in_url",
                               'never put the token in the URL: send {"type": "auth", "token": ...} first')
            return
        await AppSocketSession(ws, self.sockets, self.verify, self.clock, self.auth_timeout_s).run()
