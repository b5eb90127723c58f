"""Messages to a WeChat user through the customer-service API, within WeChat's rules, and what cannot go.

WeChat lets an official account write to a user for 48 hours after the user's last message, and only so
many messages in that time. The window of each openid is kept in the table wechat_windows (shared by every
process): `inbound()` opens it when the user writes, `deliver()` claims one message of it per text with a
conditional UPDATE, so processes together never send more than the limit.

What cannot be sent (the window is closed, the limit is reached, WeChat refuses it, WeChat is down after the
client's retry) goes, in order and in one piece, to the undeliverable hook. The default hook, `TicketNote`,
writes it as a note on the conversation's open ticket (or a new ticket), without the openid in full, and when
the conversation is in a handoff tells the agent through the desk's API. If even that fails, an error is
logged (without the text): nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.channel_replies import CHOOSE_BY_NUMBER, response_text
from connectors.wechat_api import NOT_SUBSCRIBED, OVER_LIMIT, WINDOW_CLOSED, WeChatApi, WeChatApiError
from connectors.wechat_text import WECHAT_TEXT_LIMIT, wechat_texts
from service.channel_schema import channel_users, customer_homes
from service.channel_schema import wechat_windows as W
from service.clock import Clock
from service.logs import log_event
from service.privacy import conversation_ref
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)


WINDOW = timedelta(hours=48)
MAX_PER_WINDOW = 20

# Why a text was not delivered
WINDOW_IS_CLOSED = "window_closed"
LIMIT_REACHED = "limit_reached"
UNSUBSCRIBED = "unsubscribed"
REFUSED = "refused"
UNAVAILABLE = "unavailable"
# WeChat's refusals that close the window for good (until the user writes again)
_CLOSING = {WINDOW_CLOSED: WINDOW_IS_CLOSED, OVER_LIMIT: LIMIT_REACHED, NOT_SUBSCRIBED: UNSUBSCRIBED}

Texts = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Undeliverable:
    """Texts for a WeChat user that could not be sent, in order, and why."""

    openid: str
    conversation: str
    texts: tuple[str, ...]
    reason: str  # one of the reasons above
    code: int | None = None  # WeChat's errcode, when WeChat refused


class UndeliverableHook(Protocol):
    async def __call__(self, item: Undeliverable) -> None:
        """Keep `item` somewhere a person will see it; must not raise."""


def masked_openid(openid: str) -> str:
    """oAbC…9xYz: enough for staff to tell users apart, not the openid."""
    return f"{openid[:4]}…{openid[-4:]}" if len(openid) > 12 else "****"


class WeChatWindows:
    """The wechat_windows table: when each user last wrote, and how much was sent since (synchronous)."""

    def __init__(self, engine: Engine, clock: Clock, window: timedelta = WINDOW, limit: int = MAX_PER_WINDOW) -> None:
        self._engine = engine
        self._clock = clock
        self.window = window
        self.limit = limit

    def opened(self, openid: str) -> None:
        now = self._clock.now()
        opened = update(W).where(W.c.openid == openid).values(last_inbound=now, sent_in_window=0)
        with self._engine.begin() as conn:
            if conn.execute(opened).rowcount:
                return
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(W).values(openid=openid, last_inbound=now, sent_in_window=0))
        except IntegrityError:  # another process added it meanwhile
            with self._engine.begin() as conn:
                conn.execute(opened)

    def claim(self, openid: str) -> str | None:
        """One message of the user's window (None), or why there is none (closed, limit reached)."""
        since = self._clock.now() - self.window
        with self._engine.begin() as conn:
            claimed = conn.execute(update(W).where(and_(
                W.c.openid == openid, W.c.last_inbound > since, W.c.sent_in_window < self.limit,
            )).values(sent_in_window=W.c.sent_in_window + 1))
            if claimed.rowcount == 1:
                return None
            row = conn.execute(select(W.c.last_inbound).where(W.c.openid == openid)).first()
        return WINDOW_IS_CLOSED if row is None or row.last_inbound <= since else LIMIT_REACHED

    def unclaim(self, openid: str) -> None:
        """The claimed message was not sent after all."""
        with self._engine.begin() as conn:
            conn.execute(update(W).where(and_(W.c.openid == openid, W.c.sent_in_window > 0))
                         .values(sent_in_window=W.c.sent_in_window - 1))

    def exhaust(self, openid: str) -> None:
        """WeChat says the window is used up or closed: send nothing more until the user writes."""
        with self._engine.begin() as conn:
            conn.execute(update(W).where(W.c.openid == openid).values(sent_in_window=self.limit))


class WeChatOutbox:
    """Renders, splits and sends bot messages to WeChat users within their windows."""

    def __init__(self, api: WeChatApi, engine: Engine, clock: Clock | None = None,
                 undeliverable: UndeliverableHook | None = None, window: timedelta = WINDOW,
                 max_per_window: int = MAX_PER_WINDOW, texts: Texts | None = None,
                 settings: Settings | None = None, limit_bytes: int = WECHAT_TEXT_LIMIT) -> None:
        self._api = api
        self.windows = WeChatWindows(engine, clock or Clock(), window, max_per_window)
        self._settings = settings
        self._undeliverable = undeliverable
        self._engine = engine
        self._texts = texts
        self._limit_bytes = limit_bytes
        self._app: Any = None
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatOutbox:
        """The outbox of the configured account, on settings.database_url (migrated here)."""
        from connectors.wechat_api import HttpWeChatApi
        from service.db import make_engine
        from service.migrate import upgrade

        engine = make_engine(settings.database_url)
        upgrade(engine)
        return cls(HttpWeChatApi.from_settings(settings, engine=engine), engine, settings=settings)

    @property
    def undeliverable(self) -> UndeliverableHook:
        if self._undeliverable is None:
            self._undeliverable = TicketNote(self._engine, settings=self._settings or get_settings(),
                                             limit=self.windows.limit)
        return self._undeliverable

    def bind(self, app: Any) -> None:
        """Rasa's app: the running model's domain has the text of utter_choose_by_number."""
        self._app = app

    def choose_hint(self) -> str:
        if self._texts is not None:
            return self._texts(CHOOSE_BY_NUMBER) or ""
        domain = getattr(getattr(getattr(self._app, "ctx", None), "agent", None), "domain", None)
        return response_text(domain, CHOOSE_BY_NUMBER) or ""

    def texts_for(self, messages: list[dict[str, Any]]) -> list[str]:
        """The WeChat texts of Rasa bot messages (what deliver() sends)."""
        return wechat_texts(messages, self.choose_hint(), self._limit_bytes)

    # --- the user's side ------------------------------------------------------------------------

    async def inbound(self, openid: str) -> None:
        """The user wrote: their window opens (again) and its count starts over."""
        try:
            await asyncio.to_thread(self.windows.opened, openid)
        except SQLAlchemyError as exc:  # sends still go out: WeChat itself refuses what is over its rules
            log_event(logger, "wechat_window_unrecorded", logging.WARNING, error=type(exc).__name__)

    # --- sending -------------------------------------------------------------------------------

    async def deliver(self, openid: str, conversation: str, messages: list[dict[str, Any]]) -> None:
        """Send Rasa bot messages to the user; what cannot go goes to the undeliverable hook."""
        await self.deliver_texts(openid, conversation, self.texts_for(messages))

    async def deliver_texts(self, openid: str, conversation: str, texts: list[str]) -> None:
        """Send texts already rendered and split (each within WeChat's limit), in order."""
        texts = [t for t in texts if t.strip()]
        if not texts:
            return
        lock = self._locks.get(openid)
        if lock is None:
            lock = self._locks[openid] = asyncio.Lock()
        async with lock:  # one reply after the other, not interleaved
            for index, text in enumerate(texts):
                reason, code = await self._send(openid, text)
                if reason is not None:
                    await self._keep(Undeliverable(openid, conversation, tuple(texts[index:]), reason, code))
                    return

    async def _send(self, openid: str, text: str) -> tuple[str | None, int | None]:
        try:
            closed = await asyncio.to_thread(self.windows.claim, openid)
        except SQLAlchemyError as exc:
            log_event(logger, "wechat_window_unknown", logging.WARNING, error=type(exc).__name__)
            closed = None  # WeChat itself refuses what is over its rules
        if closed is not None:
            return closed, None
        try:
            await self._api.send_text(openid, text)
            return None, None
        except WeChatApiError as exc:
            reason = _CLOSING.get(exc.code or 0) or (REFUSED if exc.code is not None else UNAVAILABLE)
            await self._settle(openid, exhausted=exc.code in _CLOSING)
            return reason, exc.code
        except Exception as exc:  # a client that broke some other way: the text is kept all the same
            log_event(logger, "wechat_send_failed", logging.ERROR, error=type(exc).__name__)
            await self._settle(openid, exhausted=False)
            return UNAVAILABLE, None

    async def _settle(self, openid: str, exhausted: bool) -> None:
        try:
            await asyncio.to_thread(self.windows.exhaust if exhausted else self.windows.unclaim, openid)
        except SQLAlchemyError as exc:
            log_event(logger, "wechat_window_unrecorded", logging.WARNING, error=type(exc).__name__)

    async def _keep(self, item: Undeliverable) -> None:
        log_event(logger, "wechat_undeliverable", logging.WARNING, reason=item.reason, errcode=item.code,
                  parts=len(item.texts), conversation=conversation_ref(item.conversation))
        try:
            await self.undeliverable(item)
        except Exception as exc:  # the hook must not raise; if it does, say so (never the text)
            log_event(logger, "wechat_message_lost", logging.ERROR, reason=item.reason, parts=len(item.texts),
                      error=type(exc).__name__, conversation=conversation_ref(item.conversation))



# --- the default hook: a ticket note, and the agent told ----------------------------------------

_WHY = {
    WINDOW_IS_CLOSED: "客户超过48小时未发消息，微信不允许再发",
    LIMIT_REACHED: "客户上次发消息后已发满{limit}条",
    UNSUBSCRIBED: "客户已取消关注公众号",
    REFUSED: "微信拒收（错误码 {code}）",
    UNAVAILABLE: "微信接口暂时不可用",
}
NOTE_LIMIT = 1900  # ticket comments keep 2,000 characters
ACTOR = "wechat"


def note_of(item: Undeliverable, limit: int = MAX_PER_WINDOW) -> str:
    """The ticket note: why, which WeChat user (masked), and the texts the customer did not get."""
    why = _WHY.get(item.reason, item.reason).format(limit=limit, code=item.code)
    head = f"以下消息未能通过微信送达客户（{why}；微信用户 {masked_openid(item.openid)}），请通过其他方式联系客户：\n"
    body = "\n---\n".join(item.texts)
    if len(head) + len(body) > NOTE_LIMIT:
        body = body[: NOTE_LIMIT - len(head) - 1] + "…"
    return head + body


class TicketNote:
    """UndeliverableHook: a note on the conversation's open ticket (or a new 登记 ticket, 人工未完成 during a
    handoff) and, during a handoff, a line to the agent through the desk's relay API."""

    def __init__(self, engine: Engine, settings: Settings | None = None, tickets: Any = None, handoffs: Any = None,
                 desk: Any = None, limit: int = MAX_PER_WINDOW) -> None:
        self._engine = engine
        self._settings = settings
        self._tickets = tickets  # service.tickets.service.TicketService
        self._handoffs = handoffs  # handoff.records.HandoffRecords
        self._desk = desk  # service.desk_client.DeskClient; None: built from settings on first use
        self._limit = limit

    def _services(self) -> tuple[Any, Any]:
        if self._tickets is None or self._handoffs is None:
            from handoff.records import HandoffRecords
            from service.tickets.policy import load_policy
            from service.tickets.service import TicketService

            settings = self._settings or get_settings()
            clock = Clock(settings.business_date)
            self._tickets = self._tickets or TicketService(self._engine, load_policy(settings.ticketing_config), clock)
            self._handoffs = self._handoffs or HandoffRecords(self._engine, clock)
        return self._tickets, self._handoffs

    def _customer_of(self, item: Undeliverable) -> str | None:
        with self._engine.connect() as conn:
            home = conn.execute(select(customer_homes.c.customer_id)
                                .where(customer_homes.c.conversation == item.conversation)).first()
            if home is not None:
                return str(home.customer_id)
            user = conn.execute(select(channel_users.c.customer_id).where(and_(
                channel_users.c.channel == ACTOR, channel_users.c.user_key == item.openid))).first()
        return str(user.customer_id) if user is not None and user.customer_id else None

    def note(self, item: Undeliverable) -> tuple[str, str | None]:
        """Write the note (synchronous): the ticket number, and the open handoff session, if any."""
        from service.tickets.models import TicketDraft
        from service.tickets.rules import Category

        tickets, handoffs = self._services()
        conversation = item.conversation or f"wechat-{conversation_ref(item.openid)}"
        session = handoffs.open_for(conversation) if item.conversation else None
        customer = self._customer_of(item)
        text = note_of(item, self._limit)
        open_tickets = tickets.open_for(customer_id=customer) if customer else tickets.open_for(sender_id=conversation)
        if open_tickets:
            number = open_tickets[0].number
            tickets.comment(number, ACTOR, text, staff=False)
        else:
            number = tickets.create(TicketDraft(
                category=Category.HANDOFF if session is not None else Category.REGISTERED, description=text,
                summary="微信消息未送达客户", customer_id=customer, channel=ACTOR, sender_id=conversation,
            )).ticket.number
        return number, session.id if session is not None else None

    def _desk_client(self) -> Any:
        if self._desk is None:
            from service.desk_client import DeskClient

            self._desk = DeskClient.from_settings(self._settings or get_settings())
        return self._desk

    async def __call__(self, item: Undeliverable) -> None:
        number, session = await asyncio.to_thread(self.note, item)
        log_event(logger, "wechat_undeliverable_noted", ticket=number, reason=item.reason, handoff=session is not None)
        if session is None:
            return
        why = _WHY.get(item.reason, item.reason).format(limit=self._limit, code=item.code)
        line = f"【系统提示】有 {len(item.texts)} 条消息未能通过微信送达客户（{why}），已记入工单 {number}。"
        try:
            await self._desk_client().relay(session, line, "", [], channel="wechat", kind="system")
        except Exception as exc:  # the note is written; the agent sees it on the ticket
            log_event(logger, "wechat_undeliverable_agent_not_told", logging.WARNING, ticket=number,
                      error=type(exc).__name__)
