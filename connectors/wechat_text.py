"""Rasa's bot messages as WeChat text: buttons as numbered choices, and texts cut to WeChat's size limit.

WeChat shows plain text only (no buttons): a message's buttons are written as "1. title" lines after a hint
(the domain response utter_choose_by_number, passed in), and the customer answers with the number. Numbers run
on across all the messages of one reply, in order, so "2" is the second button of the reply as a whole: the
message gate (numbered choices, `offered_buttons`) maps it back to that button's payload. A button without a
payload (a link) cannot be chosen and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

WECHAT_TEXT_LIMIT = 2048  # bytes of UTF-8, WeChat's limit for one text message
MIN_LIMIT = 4  # one UTF-8 character
PART_SEPARATOR = "\n\n"
# What a card (custom JSON) is shown as when its message has no text: these fields, in this order.
# A card may be wrapped in its kind ({"order_card": {...}}, actions/orders.py).
CARD_FIELDS = ("title", "text", "order_id", "product", "status", "amount", "carrier", "waybill", "subtitle",
               "description")
# A sentence ends at one of these (and the closing quotes or brackets after it).
_SENTENCE = re.compile(r"[^。！？!?；;…]*[。！？!?；;…]+[”’」』）)\]]*|[^。！？!?；;…]+")


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons a customer can choose by number: those with a payload, buttons then quick replies (the order
    connectors/gate.py `offered_buttons` counts them in)."""
    found: list[dict[str, Any]] = []
    for key in ("buttons", "quick_replies"):
        raw = message.get(key)
        if isinstance(raw, list):
            found.extend(b for b in raw if isinstance(b, dict) and isinstance(b.get("payload"), str))
    return found


def _card(custom: Any) -> str:
    """A short text for a card that came without text of its own ("" when it holds nothing to show)."""
    if not isinstance(custom, dict):
        return ""
    values = [custom.get(key) for key in CARD_FIELDS]
    shown = " ".join(str(v).strip() for v in values if isinstance(v, (str, int, float)) and str(v).strip())
    if shown:
        return shown
    inner = [value for value in custom.values() if isinstance(value, dict)]
    return _card(inner[0]) if len(inner) == 1 else ""


def render(messages: list[dict[str, Any]], choose_hint: str) -> list[str]:
    """One text per bot message worth showing: its text, its buttons as numbered choices, its image's URL;
    a card (custom JSON) only when no message of the reply has text (an order card beside its answer would say
    the same twice; status customs such as the widget's queue line hold nothing to show)."""
    rendered: list[str] = []
    number = 0
    worded = any(isinstance(m, dict) and isinstance(m.get("text"), str) and m["text"].strip() for m in messages)
    for message in messages:
        if not isinstance(message, dict):
            continue
        lines: list[str] = []
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            lines.append(text.strip())
        elif message.get("custom") is not None and not worded:
            card = _card(message.get("custom"))
            if card:
                lines.append(card)
        buttons = _buttons(message)
        if buttons:
            if choose_hint.strip():
                lines.append(choose_hint.strip())
            for button in buttons:
                number += 1
                title = str(button.get("title") or button.get("payload") or "").strip()
                lines.append(f"{number}. {title}")
        for key in ("image", "attachment"):
            url = message.get(key)
            if isinstance(url, str) and url.strip():
                lines.append(url.strip())
        if lines:
            rendered.append("\n".join(lines))
    return rendered


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _chunks(text: str, limit_bytes: int) -> Iterator[str]:
    """`text` in pieces of at most `limit_bytes`, cut between characters (never inside one)."""
    piece: list[str] = []
    size = 0
    for char in text:
        width = _size(char)
        if size + width > limit_bytes and piece:
            yield "".join(piece)
            piece, size = [], 0
        piece.append(char)
        size += width
    if piece:
        yield "".join(piece)


def _pieces(text: str, limit_bytes: int) -> Iterator[str]:
    """Lines (with their line break); a line too long as sentences; a sentence too long in chunks."""
    for line in text.splitlines(keepends=True):
        if _size(line) <= limit_bytes:
            yield line
            continue
        for sentence in _SENTENCE.findall(line):
            if _size(sentence) <= limit_bytes:
                yield sentence
            else:
                yield from _chunks(sentence, limit_bytes)


def split_text(text: str, limit_bytes: int = WECHAT_TEXT_LIMIT) -> list[str]:
    """`text` in parts of at most `limit_bytes` UTF-8 bytes each, cut at line ends, else at sentence ends,
    else between characters; empty text gives no part."""
    if limit_bytes < MIN_LIMIT:
        raise ValueError(f"limit_bytes must be at least {MIN_LIMIT}")
    text = text.strip()
    if not text:
        return []
    if _size(text) <= limit_bytes:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit_bytes):
        if current and _size(current + piece) > limit_bytes:
            parts.append(current)
            current = ""
        current += piece
    parts.append(current)
    # a part may end or start with the line break it was cut at; one made of blanks only is dropped
    return [part.strip("\n") for part in parts if part.strip()]


def pack(texts: Iterable[str], limit_bytes: int = WECHAT_TEXT_LIMIT) -> list[str]:
    """Consecutive texts joined (a blank line between) while they fit in one message: fewer messages to send,
    which WeChat counts, and a reply that fits in one passive answer when it can."""
    packed: list[str] = []
    for text in texts:
        if packed and _size(packed[-1] + PART_SEPARATOR + text) <= limit_bytes:
            packed[-1] = packed[-1] + PART_SEPARATOR + text
        else:
            packed.append(text)
    return packed


def wechat_texts(messages: list[dict[str, Any]], choose_hint: str, limit_bytes: int = WECHAT_TEXT_LIMIT) -> list[str]:
    """The WeChat messages for a reply: rendered, split to the limit, packed into as few as fit."""
    parts = [part for text in render(messages, choose_hint) for part in split_text(text, limit_bytes)]
    return pack(parts, limit_bytes)
