"""What the app receives: one JSON frame per bot message, whether it answers a request, is pushed over the
WebSocket or is read again from the history.

    {"type": "bot", "text": "...", "buttons": [{"title": ..., "payload": ...}], "custom": {...} | null}

plus `image`, `attachment`, `elements` when the message has them and `from_agent: true` for a person's reply.
The history adds the customer's own messages, {"type": "user", "text": ..., "channel": "wechat"}, and a
`timestamp` on each entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX, IS_EXTERNAL
from rasa.shared.core.events import BotUttered, Event, UserUttered

from connectors.gate import AS_TEXT

CHANNEL = "app"
HISTORY_LIMIT = 200
CONTENT_KEYS = ("text", "buttons", "custom", "image", "attachment", "elements")


def bot_frame(message: Mapping[str, Any]) -> dict[str, Any]:
    """A bot message (Rasa's dict: text, buttons or quick_replies, custom, image, ...) as the app's frame."""
    frame: dict[str, Any] = {
        "type": "bot",
        "text": message.get("text") or None,
        "buttons": list(message.get("buttons") or message.get("quick_replies") or []),
        "custom": message.get("custom") or None,
    }
    for key in ("image", "attachment", "elements"):
        if message.get(key):
            frame[key] = message[key]
    if message.get("from_agent"):
        frame["from_agent"] = True
    return frame


def has_content(frame: Mapping[str, Any]) -> bool:
    return any(frame.get(key) for key in CONTENT_KEYS)


class FrameOutput(OutputChannel):
    """An output channel that turns each bot message into one frame (Rasa's default would split a message with
    text and custom data in two) and hands it to `deliver`."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL  # responses with `channel: app` in domain.yml are chosen for this channel

    async def deliver(self, recipient_id: str, frame: dict[str, Any]) -> None:
        """Send one frame to the app user behind `recipient_id`."""
        raise NotImplementedError

    async def _send(self, recipient_id: str, message: Mapping[str, Any]) -> None:
        frame = bot_frame(message)
        if has_content(frame):
            await self.deliver(recipient_id, frame)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self._send(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "text": text})

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "text": text, "buttons": buttons})

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]],
                                 **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "text": text, "buttons": quick_replies})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "custom": json_message})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "image": image})

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "attachment": attachment})

    async def send_elements(self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any) -> None:
        await self._send(recipient_id, {**kwargs, "elements": list(elements)})


class AppReplies(FrameOutput):
    """The in-band answer to one request: collects the frames, which the webhook returns as its body.

    Bound to the app user who asked: Rasa's recipient id (the conversation, after routing) does not matter."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def deliver(self, recipient_id: str, frame: dict[str, Any]) -> None:
        self.messages.append(frame)


def _external(event: UserUttered) -> bool:
    """An intent the desk or a reminder triggered (an agent's reply, a queue update), not the customer's words."""
    return bool((event.metadata or {}).get(IS_EXTERNAL)) or (event.text or "").startswith(EXTERNAL_MESSAGE_PREFIX)


def _titles(frame: Mapping[str, Any]) -> dict[str, str]:
    return {str(b["payload"]).strip(): str(b.get("title") or b["payload"]) for b in frame.get("buttons") or []
            if isinstance(b, dict) and b.get("payload")}


def transcript(events: Iterable[Event], limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The customer's and the bot's messages of a conversation, oldest first, at most the last `limit`.

    A button the customer pressed shows as its title (the tracker holds its payload); typed "/…" text as typed."""
    entries: list[dict[str, Any]] = []
    offered: dict[str, str] = {}
    for event in events:
        if isinstance(event, UserUttered):
            if _external(event) or not event.text:
                continue
            text = event.text.removeprefix(AS_TEXT)
            entries.append({"type": "user", "text": offered.get(text.strip(), text),
                            "channel": event.input_channel, "timestamp": event.timestamp})
            offered = {}
        elif isinstance(event, BotUttered):
            frame = bot_frame(event.message())
            if has_content(frame):
                entries.append({**frame, "timestamp": event.timestamp})
                offered.update(_titles(frame))
    return entries[-limit:] if limit > 0 else []
