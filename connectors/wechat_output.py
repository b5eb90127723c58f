"""The WeChat channel's two outputs: the in-band replies of one push, and out-of-band sends through the outbox."""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel

from service.logs import log_event
from service.privacy import conversation_ref

logger = logging.getLogger(__name__)
CHANNEL = "wechat"


class Replies(OutputChannel):
    """The in-band output of one push: what the bot says to its user, kept for the reply."""

    def __init__(self, openid: str) -> None:
        self.openid = openid
        self.messages: list[dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append({key: value for key, value in message.items() if key != "recipient_id"})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.messages.append({"text": text})


class WeChatOutput(OutputChannel):
    """Out of band: to the WeChat user who wrote last to the conversation, through the outbox."""

    def __init__(self, router: Any, outbox: Any) -> None:
        self.router = router
        self.outbox = outbox

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        openid = await self.router.user_of(recipient_id, CHANNEL)
        if openid is None:
            log_event(logger, "wechat_recipient_unknown", logging.WARNING, conversation=conversation_ref(recipient_id))
            return
        try:
            await self.outbox.deliver(openid, recipient_id, [{k: v for k, v in message.items() if k != "recipient_id"}])
        except Exception as exc:  # the outbox notes what it cannot send; anything else must not become a 5xx
            log_event(logger, "wechat_send_failed", logging.ERROR, error=type(exc).__name__)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})
