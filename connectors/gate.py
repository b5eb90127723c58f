"""What every customer channel does with a message before Rasa sees it.

- A message over 2,000 characters gets a polite reply and is not processed.
- Each conversation may send `CHANNEL_RATE_PER_MINUTE` messages a minute (20 by default); each one over
  gets a polite reply instead of an answer (so none is lost unanswered), logged once a minute.
- Text that starts with "/" is Rasa's syntax for "this intent, these entities". A customer may send it only
  as exactly a button payload the bot offered in its last reply; anything else stays ordinary text (a
  zero-width space in front keeps Rasa from parsing it), so nobody can type `/EXTERNAL_agent_message…` and
  speak as an agent, or hand the bot entities it never asked for.
- The identity claim in the metadata is checked (connectors/identity.py).
- The message is routed: its sender id becomes the conversation of the channel user, which is the customer's
  one conversation once it is proven (connectors/routing.py). A channel that writes buttons as numbered choices
  (WeChat) has a bare number answer turned into the payload of that button; on every channel, a customer who
  types a button's title (「好的」 under a 好的 button) has chosen that button.

The polite replies are domain.yml responses, read from the running model's domain (channel_replies.yml for the
channels' own few, see connectors/channel_replies.py).
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from enum import Enum
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, Event, UserUttered

from actions.names import MESSAGE_TOO_LONG, TOO_MANY_MESSAGES
from connectors.channel_replies import response_text
from connectors.identity import announce_trust_mode, verified_metadata
from connectors.routing import ConversationRouter, stored_tracker
from service.identity import VERIFIED_KEY, Claim, Proof, fingerprint
from service.logs import log_event
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
WINDOW_S = 60.0
MAX_TRACKED_SENDERS = 100_000
INTENT_PREFIX = "/"
AS_TEXT = "\u200b"  # zero-width space: the text reads the same, but no longer starts with "/"

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
TITLE_NOISE = re.compile(r"[\s。，、！？!?,.~～…]+")  # what a typed-out button title may carry around its words
MAX_TITLE = 12

History = Callable[[str], Awaitable[Iterable[Event]]]
Texts = Callable[[str], "str | None"]
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def last_reply_buttons(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The buttons of the bot's last reply (its messages after the customer's latest one), in the order shown."""
    replies: list[list[dict[str, Any]]] = []
    for event in reversed(list(events)):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            data = event.data or {}
            replies.append([b for b in [*(data.get("buttons") or []), *(data.get("quick_replies") or [])]
                            if isinstance(b, dict) and isinstance(b.get("payload"), str)])
    return [button for reply in reversed(replies) for button in reply]


def offered_payloads(events: Iterable[Event]) -> frozenset[str]:
    """The button payloads of the bot's last reply: its messages after the customer's latest one."""
    return frozenset(button["payload"].strip() for button in last_reply_buttons(events))


def offered_buttons(events: Iterable[Event]) -> list[str]:
    """The button payloads of the bot's last reply, in the order shown (numbered choices count in this order)."""
    return [button["payload"].strip() for button in last_reply_buttons(events)]


def _as_title(text: str) -> str:
    return TITLE_NOISE.sub("", text).casefold()


def may_be_a_title(text: str) -> bool:
    """Short enough to be a button's title typed out (only then is the conversation's last reply read)."""
    return 0 < len(_as_title(text)) <= MAX_TITLE


def titled_payload(text: str, events: Iterable[Event]) -> str | None:
    """The payload of the button whose title the customer typed (「好的」 for the 好的 button, 「不用了！」 for 不用了),
    or None. Spaces and punctuation do not count; a title two buttons share picks neither."""
    typed = _as_title(text)
    if not typed:
        return None
    matches = {b["payload"].strip() for b in last_reply_buttons(events) if _as_title(str(b.get("title") or "")) == typed}
    return next(iter(matches)) if len(matches) == 1 else None


def chosen_payload(text: str, buttons: list[str]) -> str | None:
    """The payload a numbered answer ("2", "２", " 2 ") picks, or None when the text is not one of the numbers."""
    number = text.strip().translate(FULL_WIDTH_DIGITS)
    if number.isdigit() and 1 <= int(number) <= len(buttons):
        return buttons[int(number) - 1]
    return None


def as_customer_text(text: str, offered: frozenset[str]) -> str:
    """The text Rasa should read: an offered payload as it is, any other "/…" as plain words."""
    if text.startswith(INTENT_PREFIX) and text not in offered:
        return AS_TEXT + text
    return text


class Pace(str, Enum):
    OK = "ok"
    FIRST_REFUSAL = "first_refusal"  # the first message over the limit this minute (logged)
    REFUSED = "refused"  # more of the same minute


class SenderLimiter:
    """At most `limit` messages per sender in any `window_s` seconds (in memory, per Rasa process)."""

    def __init__(self, limit: int, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic,
                 max_senders: int = MAX_TRACKED_SENDERS) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._max_senders = max_senders
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._told: dict[str, float] = {}

    def hit(self, sender: str) -> Pace:
        now = self._clock()
        hits = self._hits.pop(sender, None) or deque()
        while hits and hits[0] <= now - self._window_s:
            hits.popleft()
        self._hits[sender] = hits  # most recently seen last
        while len(self._hits) > self._max_senders:
            forgotten, _ = self._hits.popitem(last=False)
            self._told.pop(forgotten, None)
        if len(hits) < self._limit:
            hits.append(now)
            self._told.pop(sender, None)
            return Pace.OK
        if self._told.get(sender, float("-inf")) > now - self._window_s:
            return Pace.REFUSED
        self._told[sender] = now
        return Pace.FIRST_REFUSAL


class MessageGate:
    """The checks above, for one channel. `bind(app)` gives it Rasa's app (the tracker store and the domain)."""

    def __init__(self, settings: Settings | None = None, limiter: SenderLimiter | None = None,
                 history: History | None = None, texts: Texts | None = None,
                 router: ConversationRouter | None = None, numbered_choices: bool = False) -> None:
        self._settings = settings
        self._limiter = limiter
        self._history = history
        self._texts = texts
        self.router = router or ConversationRouter(settings=settings)
        self._numbered_choices = numbered_choices
        self._app: Any = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    @property
    def limiter(self) -> SenderLimiter:
        if self._limiter is None:
            self._limiter = SenderLimiter(self.settings.channel_rate_per_minute)
        return self._limiter

    def bind(self, app: Any) -> None:
        self._app = app
        self.router.bind(app)
        announce_trust_mode(self.settings)

    def _agent(self) -> Any:
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    async def _events(self, sender_id: str) -> Iterable[Event]:
        if self._history is not None:
            return await self._history(sender_id)
        tracker = await stored_tracker(self._app, sender_id)
        return tracker.events if tracker is not None else []

    def _text(self, response: str) -> str | None:
        if self._texts is not None:
            return self._texts(response)
        domain = getattr(self._agent(), "domain", None)
        return response_text(domain, response)

    async def _say(self, message: UserMessage, response: str) -> None:
        text = self._text(response)
        if text and message.output_channel is not None:
            await message.output_channel.send_text_message(message.sender_id, text)

    async def admit(self, message: UserMessage, proven_customer: str | None = None,
                    extra_payloads: frozenset[str] = frozenset()) -> bool:
        """Check, adjust and route a customer's message; False when it was answered here and must not be processed.

        `message.sender_id` comes in as the channel user (session id, openid, app user) and leaves as the
        conversation. `proven_customer`: a customer the channel itself has proof of (the app's signed token);
        `extra_payloads`: "/intent" texts the channel built itself (a WeChat menu click)."""
        text = LONE_SURROGATE.sub("\ufffd", message.text or "")  # no UTF-8 can hold one: stored, it breaks readers
        message.text = text
        channel = str(message.input_channel or "")
        user_key = str(message.sender_id)
        if len(text) > MAX_TEXT:
            log_event(logger, "channel_message_too_long", channel=channel, length=len(text))
            await self._say(message, MESSAGE_TOO_LONG)
            return False
        pace = self.limiter.hit(f"{channel}:{user_key}")
        if pace is not Pace.OK:
            if pace is Pace.FIRST_REFUSAL:
                log_event(logger, "channel_rate_limited", channel=channel)
            await self._say(message, TOO_MANY_MESSAGES)
            return False
        settings = self.settings
        metadata = verified_metadata(message.metadata, settings.identity_secret, settings.identity_max_ttl_s)
        if proven_customer:
            metadata[VERIFIED_KEY] = Claim(Proof.SIGNED, fingerprint("channel", channel, user_key, proven_customer),
                                           customer_id=proven_customer).as_metadata()
        message.metadata = metadata
        claim = Claim.from_metadata(metadata)
        signed = claim.customer_id if claim is not None and claim.proof is Proof.SIGNED else None
        message.sender_id = await self.router.route(channel, user_key, signed)
        numbered = self._numbered_choices and text.strip().translate(FULL_WIDTH_DIGITS).isdigit()
        if numbered or text.startswith(INTENT_PREFIX) or may_be_a_title(text):
            events = list(await self._events(message.sender_id))
            if numbered:
                chosen = chosen_payload(text, offered_buttons(events))
                text = chosen if chosen is not None else text
            elif not text.startswith(INTENT_PREFIX):
                text = titled_payload(text, events) or text
            if text.startswith(INTENT_PREFIX):
                text = as_customer_text(text, offered_payloads(events) | extra_payloads)
            message.text = text
        return True


def guarded(on_new_message: OnNewMessage, gate: MessageGate) -> OnNewMessage:
    """Rasa's message handler behind the gate."""

    async def handler(message: UserMessage) -> Any:
        if await gate.admit(message):
            return await on_new_message(message)
        return None

    return handler
