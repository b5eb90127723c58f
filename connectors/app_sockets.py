"""The app's live WebSocket (/webhooks/app/ws): authentication first, then pushes of out-of-band messages.

The token never travels in the URL. The first frame must be {"type": "auth", "token": "<JWT>"} within
AUTH_TIMEOUT_S; otherwise, or when the token does not hold, the server sends an error frame and closes the
socket with code 4401. After {"type": "ready"} the server pushes bot frames (connectors/app_messages.py) of agent
replies, queue updates and notices to every open socket of that app user (one per device, MAX_SOCKETS_PER_USER at
most: a further one closes the oldest, 4409). When the token expires the socket is closed (4401, token_expired);
an app renews it in time by sending another auth frame for the same user. {"type": "ping"} gets
{"type": "pong"}; other frames are ignored. WebSocket pings and pongs are the library's.

The registry holds this process's sockets (MAX_SOCKETS_PER_USER per user on each server). A push goes through the
fanout (connectors/app_fanout.py): in embedded mode the registry sends it to the user's sockets here; in scaled mode
Redis carries it to every Rasa server, this one included, each sending it to the sockets it holds. What finds no
socket is still in the conversation's tracker, which the app reads again through /webhooks/app/history.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.app_fanout import AppFanout, InProcessFanout
from connectors.app_messages import CHANNEL, FrameOutput
from connectors.app_tokens import AppIdentity, TokenError
from connectors.gate import LONE_SURROGATE
from service.logs import log_event
from service.privacy import conversation_ref

logger = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 10.0
MAX_SOCKETS_PER_USER = 8
RECHECK_S = 300.0  # the longest a socket waits for a frame before it looks at its token's expiry again
UNAUTHORIZED_CLOSE = 4401  # "authentication failed or ended"
REPLACED_CLOSE = 4409  # "too many sockets for this user: this, the oldest, was closed"
AUTH_EXPECTED = 'the first frame must be {"type": "auth", "token": "<app token>"}'

Verify = Callable[[str], AppIdentity]
UserOf = Callable[[str, str], Awaitable["str | None"]]


def user_ref(user: str) -> str:
    """What logs show of an app user id: a stable pseudonym."""
    return conversation_ref(f"{CHANNEL}\x1f{user}")



def dumps(data: Any) -> str:
    """JSON text that always encodes as UTF-8 (a lone surrogate, which no UTF-8 can hold, becomes U+FFFD)."""
    return LONE_SURROGATE.sub("\ufffd", json.dumps(data, ensure_ascii=False, default=str))


async def close_socket(ws: Any, code: int, error: str, reason: str) -> None:
    """An error frame, then the close (quietly, when the client is already gone)."""
    try:
        await ws.send(dumps({"type": "error", "error": error, "reason": reason}))
        await ws.close(code=code, reason=error)
    except Exception:  # the client is gone, or the socket is closing already
        log_event(logger, "app_socket_close_failed", logging.DEBUG)


@dataclass(frozen=True)
class Reach:
    """Where a push went: the user's sockets on this server, and the other servers it was handed to."""

    sockets: int
    servers: int = 0

    def __bool__(self) -> bool:
        return bool(self.sockets or self.servers)


class AppSockets:
    """This process's open, authenticated app sockets, by app user; pushes to other servers' go by the fanout."""

    def __init__(self, max_per_user: int = MAX_SOCKETS_PER_USER, fanout: AppFanout | None = None) -> None:
        self._max_per_user = max_per_user
        self._sockets: dict[str, dict[Any, None]] = {}  # insertion-ordered: the oldest first
        self.fanout: AppFanout = fanout if fanout is not None else InProcessFanout()

    def serve_with(self, blueprint: Any) -> None:
        """Receive other servers' pushes while the Sanic server that holds `blueprint` runs."""

        @blueprint.listener("before_server_start")
        async def start_fanout(_app: Any, _loop: Any) -> None:
            await self.start()

        @blueprint.listener("after_server_stop")
        async def stop_fanout(_app: Any, _loop: Any) -> None:
            await self.stop()

    async def start(self) -> bool:
        """Start receiving other servers' pushes; whether they arrive already."""
        return await self.fanout.start(self.deliver)

    async def stop(self) -> None:
        await self.fanout.stop()

    def add(self, user: str, ws: Any) -> list[Any]:
        """Register a socket; the sockets it pushes out (the oldest, over the limit), for the caller to close."""
        sockets = self._sockets.setdefault(user, {})
        sockets[ws] = None
        pushed_out = list(sockets)[: max(0, len(sockets) - self._max_per_user)]
        for old in pushed_out:
            del sockets[old]
        return pushed_out

    def remove(self, user: str, ws: Any) -> None:
        sockets = self._sockets.get(user)
        if sockets is not None:
            sockets.pop(ws, None)
            if not sockets:
                del self._sockets[user]

    def count(self, user: str) -> int:
        return len(self._sockets.get(user, ()))

    async def push(self, user: str, frame: dict[str, Any]) -> Reach:
        """Send a frame to every socket of the user, on this server and (by the fanout) on the others."""
        payload = dumps(frame)
        handed = await self.fanout.publish(user, payload)
        here = self.count(user) if handed.here else await self.deliver(user, payload)
        return Reach(here, handed.servers)

    async def deliver(self, user: str, payload: str) -> int:
        """Send a frame's JSON text to the user's sockets on this server; how many it reached."""
        reached = 0
        for ws in list(self._sockets.get(user, ())):
            try:
                await ws.send(payload)
                reached += 1
            except Exception:  # a socket closing: its handler removes it
                log_event(logger, "app_push_failed", logging.WARNING, user=user_ref(user))
        return reached


class AppPushOutput(FrameOutput):
    """Out-of-band messages (Rasa's trigger_intent with output_channel=latest): the recipient id is a conversation;
    its latest app user is asked of the router, and the frame goes to that user's sockets."""

    def __init__(self, sockets: AppSockets, user_of: UserOf) -> None:
        self._sockets = sockets
        self._user_of = user_of
        self._users: dict[str, str | None] = {}  # one trigger sends several messages to one conversation

    async def _user(self, conversation: str) -> str | None:
        if conversation not in self._users:
            self._users[conversation] = await self._user_of(conversation, CHANNEL)
        return self._users[conversation]

    async def deliver(self, recipient_id: str, frame: dict[str, Any]) -> None:
        try:
            user = await self._user(recipient_id)
        except Exception as exc:  # the routing table is unreachable: the message stays in the tracker (history)
            log_event(logger, "app_push_unrouted", logging.ERROR, conversation=conversation_ref(recipient_id),
                      error=type(exc).__name__)
            return
        if user is None:
            log_event(logger, "app_push_unrouted", logging.WARNING, conversation=conversation_ref(recipient_id))
            return
        if not await self._sockets.push(user, frame):
            log_event(logger, "app_push_offline", user=user_ref(user))  # kept in the tracker: the history shows it


def _frame(raw: Any) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return frame if isinstance(frame, dict) else None


def _auth(raw: Any, verify: Verify) -> AppIdentity:
    frame = _frame(raw)
    if frame is None or frame.get("type") != "auth":
        raise TokenError("auth_expected", AUTH_EXPECTED)
    token = frame.get("token")
    if not isinstance(token, str) or not token.strip():
        raise TokenError("missing_token", "the auth frame has no token")
    return verify(token.strip())


class AppSocketSession:
    """One app socket from its auth frame to its close."""

    def __init__(self, ws: Any, sockets: AppSockets, verify: Verify, clock: Callable[[], float] = time.time,
                 auth_timeout_s: float = AUTH_TIMEOUT_S) -> None:
        self.ws = ws
        self.sockets = sockets
        self.verify = verify
        self.clock = clock
        self.auth_timeout_s = auth_timeout_s

    async def run(self) -> None:
        try:
            raw = await self.ws.recv(timeout=self.auth_timeout_s)
            if raw is None:
                raise TokenError("auth_timeout", f"{AUTH_EXPECTED}, within {self.auth_timeout_s:g} seconds")
            identity = _auth(raw, self.verify)
        except TokenError as exc:
            log_event(logger, "app_socket_refused", logging.WARNING, why=exc.code)
            await close_socket(self.ws, UNAUTHORIZED_CLOSE, exc.code, exc.reason)
            return
        for old in self.sockets.add(identity.user, self.ws):
            await close_socket(old, REPLACED_CLOSE, "replaced", "too many open sockets for this user: the oldest closes")
        try:
            await self.ws.send(dumps({"type": "ready", "expires_at": identity.expires_at}))
            await self._listen(identity)
        finally:
            self.sockets.remove(identity.user, self.ws)

    async def _listen(self, identity: AppIdentity) -> None:
        loop = asyncio.get_running_loop()
        while True:
            remaining = identity.expires_at - self.clock()
            if remaining <= 0:
                log_event(logger, "app_socket_expired", user=user_ref(identity.user))
                await close_socket(self.ws, UNAUTHORIZED_CLOSE, "token_expired",
                                   "the token has expired: connect again with a new one")
                return
            wait_s = min(remaining, RECHECK_S)
            started = loop.time()
            raw = await self.ws.recv(timeout=wait_s)
            if raw is None:
                if loop.time() - started < wait_s / 2:  # no frame, no timeout: the socket is gone
                    return
                continue
            identity = await self._handle(raw, identity)

    async def _handle(self, raw: Any, identity: AppIdentity) -> AppIdentity:
        frame = _frame(raw)
        kind = frame.get("type") if frame is not None else None
        if kind == "ping":
            await self.ws.send(dumps({"type": "pong"}))
        elif kind == "auth":  # a renewed token for the same user
            try:
                renewed = _auth(raw, self.verify)
            except TokenError as exc:
                await self.ws.send(dumps({"type": "error", "error": exc.code, "reason": exc.reason}))
                return identity
            if renewed.user != identity.user:
                await self.ws.send(dumps({"type": "error", "error": "other_user",
                                          "reason": "a socket stays with the user it authenticated as"}))
                return identity
            await self.ws.send(dumps({"type": "ready", "expires_at": renewed.expires_at}))
            return renewed
        return identity
