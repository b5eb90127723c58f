"""Placeholders of canned replies: `{customer_name}` and the like, filled from the open chat when inserted.

Each name reads one value of the chat, by a path into {customer: <the context's customer>, slots: <the context's
slots>, agent: {name}} (the console resolves the same paths, which GET /api/canned-replies sends). A value the chat
does not have becomes a visible marker, 【待填：订单号】, for the agent to fill in before sending: a guessed or silently
dropped order number would be worse than a blank the agent sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.text_patterns import SPACE


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str  # its Chinese name, in the marker and the settings' help
    source: str  # dotted path into the render context


PLACEHOLDERS: dict[str, Placeholder] = {p.name: p for p in (
    Placeholder("customer_name", "客户姓名", "customer.name"),
    Placeholder("customer_tier", "会员等级", "customer.tier"),
    Placeholder("order_id", "订单号", "slots.order_id"),
    Placeholder("product", "商品", "slots.product"),
    Placeholder("waybill", "运单号", "slots.waybill"),
    Placeholder("refund_id", "退款单号", "slots.refund_id"),
    Placeholder("ticket_id", "工单号", "slots.ticket_id"),
    Placeholder("agent_name", "坐席姓名", "agent.name"),
)}
MISSING_MARKER = "【待填：{label}】"  # what a value the chat does not have becomes
BRACED = re.compile(r"\{([^{}\n]{0,40})\}")
_NAMES = "|".join(PLACEHOLDERS)
# the same rules as one pattern (for the OpenAPI description): something besides whitespace, braces only around
# a known name
TEXT_PATTERN = rf"^[{SPACE}]*(?:[^{{}}{SPACE}]|\{{(?:{_NAMES})\}})(?:[^{{}}]|\{{(?:{_NAMES})\}})*$"
MAX_VALUE = 60  # a filled-in value is cut at this length


class PlaceholderError(ValueError):
    """A reply's text names a placeholder that does not exist, or has a brace that opens none."""


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: tuple[str, ...]  # names the chat had no value for (shown as markers)


def names_in(text: str) -> tuple[str, ...]:
    """The placeholders a text uses, in order of first use; PlaceholderError (with a Chinese reason) otherwise."""
    found: list[str] = []
    for match in BRACED.finditer(text):
        name = match.group(1)
        if name not in PLACEHOLDERS:
            known = "、".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise PlaceholderError(f"未知的占位符 {{{name[:20]}}}；可用的有：{known}")
        if name not in found:
            found.append(name)
    rest = BRACED.sub("", text)
    if "{" in rest or "}" in rest:
        raise PlaceholderError("花括号只能用来写占位符，例如 {customer_name}；请检查是否少了一半括号")
    return tuple(found)


def marker(name: str) -> str:
    return MISSING_MARKER.format(label=PLACEHOLDERS[name].label)


def _lookup(context: Mapping[str, Any], path: str) -> str:
    value: Any = context
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return " ".join(str(value).split())[:MAX_VALUE]


def render_context(session: Mapping[str, Any], agent_name: str) -> dict[str, Any]:
    """The context placeholders read from a handoff session's view (as the desk sends it) and the agent's name."""
    context = session.get("context")
    context = context if isinstance(context, Mapping) else {}
    return {"customer": context.get("customer") or {}, "slots": context.get("slots") or {},
            "agent": {"name": agent_name}}


def render(text: str, context: Mapping[str, Any]) -> Rendered:
    """The text with its placeholders filled in; a missing value is a marker. Unknown names are kept as written
    (texts are checked when saved)."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        placeholder = PLACEHOLDERS.get(name)
        if placeholder is None:
            return match.group(0)
        value = _lookup(context, placeholder.source)
        if value:
            return value
        if name not in missing:
            missing.append(name)
        return marker(name)

    return Rendered(BRACED.sub(fill, text), tuple(missing))
