"""The WeChat Official Account channel (`/webhooks/wechat/webhook`): WeChat's pushes in, passive replies out.

Configured from the environment through service/settings.py (WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_APP_SECRET,
WECHAT_AES_KEY for safe mode, WECHAT_MENU); off (every route a 404 with the reason) while WECHAT_TOKEN is unset.

- GET is WeChat's URL check: the signature over token, timestamp and nonce; `echostr` echoed.
- POST is a push. Its signature (and in safe mode `msg_signature` over the envelope) must match (403), its
  timestamp be within five minutes (403, a replay), its XML readable without DTDs or entities (400), its body
  at most 64 KiB (413).
- Text goes to the bot; `subscribe` greets (the bot gets "你好", as from the web widget); a menu CLICK gets
  its intent from the menu file; voice goes by WeChat's `Recognition` text; an image goes to the agent
  during a handoff; anything else gets a polite "text only, please". All through the message gate, with
  numbered choices (WeChat has no buttons).
- WeChat waits 5 s and retries up to 3 times. The bot runs with an output bound to the user; when it is done
  within `budget_s` the answer goes back passively (what does not fit, through the customer-service API),
  else the push gets "success" at once and the answer follows through the customer-service API
  (connectors/wechat_outbox.py). Each push is processed once, also across processes (connectors/wechat_dedup.py).
- Out of band (agent replies, queue updates, notices: Rasa's trigger_intent with output_channel=latest)
  `get_output_channel()` finds the conversation's WeChat user and sends through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.channel_replies import ATTACHMENT_TO_AGENT, CHOOSE_BY_NUMBER, UNSUPPORTED_MESSAGE, response_text
from connectors.routing import stored_tracker
from connectors.wechat_dedup import SeenStore, seen_store
from connectors.wechat_menu import MenuError, menu_intents
from connectors.wechat_messages import (
    PASSIVE_LIMIT_BYTES,
    BadPush,
    Inbound,
    Kind,
    Push,
    PushCrypto,
    fresh,
    inbound_of,
    push_of,
    signature_matches,
    text_reply,
    xml_fields,
)
from connectors.wechat_output import CHANNEL, Replies, WeChatOutput
from service.logs import log_event
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
BUDGET_S = 4.0  # WeChat gives up on a passive reply after 5 s
DRAIN_S = 10.0  # at shutdown, answers still being worked on get this long
SUCCESS = "success"  # "got it, no passive reply": WeChat does not retry
ECHOSTR = re.compile(r"[A-Za-z0-9_-]{1,128}")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Texts = Callable[[str], "str | None"]
InHandoff = Callable[[str], Awaitable[bool]]
WeChatTexts = Callable[[list[dict[str, Any]], str, int], list[str]]  # connectors/wechat_text.py wechat_texts


def problem(status: int, error: str, reason: str) -> HTTPResponse:
    return response.json({"error": error, "reason": reason}, status=status)


class WeChatChannel(InputChannel):
    """WeChat's pushes in; each dependency defaults to the real one, built when first needed."""

    def __init__(self, settings: Settings | None = None, gate: Any = None, seen: SeenStore | None = None,
                 outbox: Any = None, router: Any = None, budget_s: float = BUDGET_S,
                 menu: Mapping[str, str] | None = None, texts: Texts | None = None,
                 in_handoff: InHandoff | None = None, wechat_texts: WeChatTexts | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or get_settings()
        self.budget_s = budget_s
        self._gate, self._seen, self._outbox, self._router = gate, seen, outbox, router
        self._menu, self._texts, self._in_handoff = menu, texts, in_handoff
        self._wechat_texts = wechat_texts
        self._clock = clock
        self._app: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        token, key = self.settings.wechat_token, self.settings.wechat_aes_key
        self.crypto = PushCrypto(token, key, self.settings.wechat_app_id) if token and key else None

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @property
    def on(self) -> bool:
        return bool(self.settings.wechat_token)

    # Dependencies, built when first used (the real ones need the database, WeChat's API, the outbound modules).

    @property
    def gate(self) -> Any:
        if self._gate is None:
            from connectors.gate import MessageGate

            self._gate = MessageGate(self.settings, numbered_choices=True)
        return self._gate

    @property
    def seen(self) -> SeenStore:
        if self._seen is None:
            self._seen = seen_store(self.settings)
        return self._seen

    @property
    def outbox(self) -> Any:
        if self._outbox is None:
            from connectors.wechat_outbox import WeChatOutbox

            self._outbox = WeChatOutbox.from_settings(self.settings)
        return self._outbox

    @property
    def router(self) -> Any:
        if self._router is None:  # the gate's: one view of who wrote from where
            self._router = getattr(self.gate, "router", None)
        if self._router is None:
            from connectors.routing import ConversationRouter

            self._router = ConversationRouter(settings=self.settings)
        return self._router

    @property
    def menu(self) -> Mapping[str, str]:
        if self._menu is None:
            try:
                self._menu = menu_intents(self.settings.wechat_menu)
            except (OSError, MenuError) as exc:
                log_event(logger, "wechat_menu_unavailable", logging.WARNING, error=str(exc))
                self._menu = {}
        return self._menu

    def _text(self, response_name: str) -> str | None:
        if self._texts is not None:
            return self._texts(response_name)
        domain = getattr(getattr(getattr(self._app, "ctx", None), "agent", None), "domain", None)
        return response_text(domain, response_name)

    async def _handoff_active(self, conversation: str) -> bool:
        if self._in_handoff is not None:
            return await self._in_handoff(conversation)
        from handoff.policy import HANDOFF_SLOT

        tracker = await stored_tracker(self._app, conversation)
        return bool(tracker is not None and tracker.get_slot(HANDOFF_SLOT))

    def _texts_of(self, messages: list[dict[str, Any]]) -> list[str]:
        """The bot's messages as WeChat texts: buttons as numbered choices, split and packed to the passive limit."""
        if self._wechat_texts is None:
            from connectors.wechat_text import wechat_texts

            self._wechat_texts = wechat_texts
        return [text for text in self._wechat_texts(messages, self._text(CHOOSE_BY_NUMBER) or "",
                                                    PASSIVE_LIMIT_BYTES) if text.strip()]

    def get_output_channel(self) -> OutputChannel | None:
        if not self.on:
            return CollectingOutputChannel()
        return WeChatOutput(self.router, self.outbox)

    # The webhook

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = Blueprint("wechat_webhook", __name__)

        @blueprint.listener("before_server_start")
        async def start(app: Any, _loop: Any) -> None:
            self._app = app
            if self.on:
                await asyncio.to_thread(lambda: (self.seen, self.menu, self.outbox))  # config errors fail the start
                for part in (self.gate, self.router, self.outbox):
                    if hasattr(part, "bind"):
                        part.bind(app)
            log_event(logger, "wechat_channel", state="safe mode" if self.crypto else "on" if self.on else "off")

        @blueprint.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.drain(DRAIN_S)
            if self._seen is not None:
                await self._seen.close()

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.on else "off"})

        @blueprint.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            refused = self._refusal(request)
            if refused is not None:
                return refused
            echostr = request.args.get("echostr") or ""
            if not ECHOSTR.fullmatch(echostr):
                return problem(400, "bad_request", "'echostr' must be WeChat's token of letters and digits")
            return response.text(echostr)

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = asyncio.get_running_loop().time()
            refused = self._refusal(request)
            if refused is not None:
                return refused
            if len(request.body or b"") > MAX_BODY_BYTES:
                return problem(413, "payload_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
            try:
                push = self._read(request)
            except PermissionError as exc:
                return problem(403, "forbidden", str(exc))
            except BadPush as exc:
                return problem(400, "bad_request", str(exc))
            return await self._answer(request, push, on_new_message, started + self.budget_s)

        return blueprint

    def _refusal(self, request: Request) -> HTTPResponse | None:
        """The 404 of a channel that is off, or the 403 of a request not signed by WeChat just now."""
        token = self.settings.wechat_token
        if not token:
            return problem(404, "not_found", "the WeChat channel is off: WECHAT_TOKEN is unset")
        args = request.args
        timestamp, nonce = args.get("timestamp") or "", args.get("nonce") or ""
        if not signature_matches(args.get("signature"), token, timestamp, nonce):
            log_event(logger, "wechat_signature_refused", logging.WARNING)
            return problem(403, "forbidden", "the signature does not match")
        if not fresh(timestamp, self._clock()):
            log_event(logger, "wechat_stale_refused", logging.WARNING)
            return problem(403, "forbidden", "the timestamp is more than 5 minutes off: a replayed request")
        return None

    def _read(self, request: Request) -> Push:
        """The push in the body; PermissionError when the envelope's signature is wrong, BadPush when unreadable."""
        fields = xml_fields(request.body or b"")
        encrypted = fields.get("Encrypt")
        if self.crypto is None:
            if encrypted and "MsgType" not in fields:
                raise BadPush("an encrypted push, but WECHAT_AES_KEY is unset (plain mode)")
            return push_of(fields)
        if not encrypted:
            raise BadPush("safe mode: the push must carry an <Encrypt> envelope")
        args = request.args
        if not signature_matches(args.get("msg_signature"), self.settings.wechat_token or "",
                                 args.get("timestamp") or "", args.get("nonce") or "", encrypted):
            log_event(logger, "wechat_signature_refused", logging.WARNING, field="msg_signature")
            raise PermissionError("the msg_signature does not match")
        return push_of(xml_fields(self.crypto.open(encrypted)))

    async def _answer(self, request: Request, push: Push, on_new_message: OnNewMessage,
                      deadline: float) -> HTTPResponse:
        if not await self.seen.first_time(push.dedup_key):
            log_event(logger, "wechat_retry_skipped", msg_type=push.msg_type)
            return response.text(SUCCESS)
        inbound = inbound_of(push, self.menu)
        log_event(logger, "wechat_push", msg_type=push.msg_type, wechat_event=push.event or "-", kind=inbound.kind.value)
        replies = Replies(push.openid)
        task = asyncio.create_task(self._process(push, inbound, replies, on_new_message))
        loop = asyncio.get_running_loop()
        try:
            conversation = await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            log_event(logger, "wechat_answer_later", msg_type=push.msg_type)
            self._background(self._answer_later(task, push.openid, replies))
            return response.text(SUCCESS)
        except Exception as exc:  # logged here; WeChat gets its "success" (a 5xx would only bring retries)
            log_event(logger, "wechat_push_failed", logging.ERROR, error=type(exc).__name__)
            return response.text(SUCCESS)
        return self._passive(request, push, conversation, replies.messages)

    async def _process(self, push: Push, inbound: Inbound, replies: Replies, on_new_message: OnNewMessage) -> str:
        """Hand the push to the bot (through the gate); the conversation it went to."""
        if inbound.user_acted:
            await self._window_opened(push.openid)
        if inbound.kind is Kind.IGNORED:
            return push.openid
        if inbound.kind is Kind.UNSUPPORTED:
            await self._say(replies, UNSUPPORTED_MESSAGE)
            return push.openid
        message = UserMessage(inbound.text, replies, push.openid, input_channel=CHANNEL, metadata={},
                              message_id=f"wechat-{push.msg_id}" if push.msg_id else None)
        if not await self.gate.admit(message, extra_payloads=inbound.payloads):
            return str(message.sender_id)
        if inbound.kind is Kind.IMAGE:
            if not await self._handoff_active(message.sender_id):
                await self._say(replies, UNSUPPORTED_MESSAGE)
                return str(message.sender_id)
            await on_new_message(message)
            await self._say(replies, ATTACHMENT_TO_AGENT)
            return str(message.sender_id)
        await on_new_message(message)
        return str(message.sender_id)

    async def _window_opened(self, openid: str) -> None:
        try:
            await self.outbox.inbound(openid)
        except Exception as exc:  # the answer still goes out passively; only later sends may be refused
            log_event(logger, "wechat_window_not_recorded", logging.WARNING, error=type(exc).__name__)

    async def _say(self, replies: Replies, response_name: str) -> None:
        text = self._text(response_name)
        if text:
            await replies.send_text_message(replies.openid, text)
        else:
            log_event(logger, "wechat_response_missing", logging.WARNING, response=response_name)

    def _passive(self, request: Request, push: Push, conversation: str,
                 messages: list[dict[str, Any]]) -> HTTPResponse:
        """One passive text reply: everything the bot said, when it fits; the rest through the outbox."""
        texts = self._texts_of(messages)  # packed: as much in each text as fits
        if not texts:
            return response.text(SUCCESS)
        first, rest = texts[0], texts[1:]
        if rest:
            self._background(self.outbox.deliver(push.openid, conversation, [{"text": text} for text in rest]))
        now = self._clock()
        xml = text_reply(push, first, now)
        if self.crypto is not None:
            xml = self.crypto.seal(xml, request.args.get("nonce") or "", str(int(now)))
        return response.text(xml, content_type="application/xml")

    async def _answer_later(self, task: asyncio.Task[str], openid: str, replies: Replies) -> None:
        conversation = await task
        if replies.messages:
            await self.outbox.deliver(openid, conversation, replies.messages)

    def _background(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log_event(logger, "wechat_answer_failed", logging.ERROR, error=type(task.exception()).__name__)

    async def drain(self, timeout_s: float) -> None:
        """Wait (at most `timeout_s`) for the answers still being worked on."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
