"""Two requests in one message (「查下物流，顺便开个发票」): the clauses, and which request comes second.

`split_requests` cuts a customer's message where a connector joins a second request to the first: 顺便
anywhere, and 另外, 还有, 再, 同时, 以及 … only where a clause starts (after a comma, a space, a full stop),
or at 「；」. It is conservative on purpose: a false split is worse than a missed one (the first clause's
intent replaces the whole message's), so words that only look like connectors stay whole: 「还没到」,
「再见」, 「退货还要运费吗」, 「还有货吗」, 「另外一个订单」.

`two_requests` ranks the clauses with the intent classifier and decides: when the first clause and a later
one are different task requests (REQUEST_INTENTS), each confident enough, the message is the first request
and the second is offered once the first is answered. Plain Python, no Rasa: the classifier's `process()`
calls it, tests call it directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

Ranking = Sequence[tuple[str, float]]

# The entity (and slot) that carries the second request's intent, and the message property with its details.
NEXT_REQUEST = "next_request"

# Intents that ask the bot to do or look up something for the customer: what can be "the second request".
REQUEST_INTENTS: tuple[str, ...] = (
    "query_order_status", "query_logistics", "urge_delivery", "change_address", "cancel_order", "return_request",
    "exchange_request", "refund_status", "request_invoice", "product_inquiry", "price_protection",
    "repair_request", "query_ticket_status",
)
MIN_REQUEST_CONFIDENCE = 0.5
MAX_CLAUSES = 4  # clauses ranked per message (each costs one classification)

# Where a clause starts: the text's start or after a separator customers type between clauses.
_SEPARATORS = "，,。；;！!？?～~…\\s"
_CLAUSE_START = rf"(?:^|(?<=[{_SEPARATORS}]))"

# Connectors that join a second request wherever they stand (nothing else in Chinese reads the same).
_ANYWHERE = ("顺便", "顺带", "顺道")

# Connectors at the start of a clause, each with the characters after which it is not one
# (还有货吗: in stock; 还有几天: still; 另外一个订单: the other one; 再见, 再说, 再也不买了, 再补充 …).
_AT_CLAUSE_START: dict[str, str] = {
    "还有": "几多货没吗呢吧啊么的一二两三四五六七八九十零点天个件次人时别其",
    "另外": "一两那这的个款种件单台笔份",
    "此外": "",
    "再就是": "",
    "然后再": "见会说也不等看联系来次买发过想考加补",
    "然后帮我": "",
    "然后给我": "",
    "以及": "",
    "同时": "",
    "并且": "",
    "再": "见会说也不等看联系来次买发过想考加补送催问试弄改",
    "还要": "多几等钱付交运做干",
    "还想": "",
    "还需要": "多几等钱付交运做干",
    "我还想": "",
    "我还要": "多几等钱付交运做干补",
    "我另外": "",
    "也帮我": "",
    "也给我": "",
}
# Words some connectors bring along (「还有一个问题，…」「另外就是…」): part of the connector, not of a clause.
_FILLERS = ("一个问题", "个问题", "一件事", "件事", "个事", "就是")
_WITH_FILLERS = frozenset({"还有", "另外", "此外"})
_ALWAYS = "[；;]"

_TRIM = f"[{_SEPARATORS}、：:]+"
_MEANINGFUL = re.compile(r"[\u4e00-\u9fff\w]")
MIN_CLAUSE_CHARS = 2


def _connector_pattern() -> re.Pattern[str]:
    """One regex for every connector; alternatives in order, so longer words and fillers come first."""
    fillers = "|".join(_FILLERS)
    options = [_ALWAYS, *(re.escape(word) for word in _ANYWHERE)]
    for word, not_before in sorted(_AT_CLAUSE_START.items(), key=lambda item: -len(item[0])):
        if word in _WITH_FILLERS:
            options.append(f"{_CLAUSE_START}{re.escape(word)}(?:{fillers})")
        guard = f"(?![{re.escape(not_before)}])" if not_before else ""
        options.append(f"{_CLAUSE_START}{re.escape(word)}{guard}")
    return re.compile("|".join(options))


_CONNECTOR = _connector_pattern()


@dataclass(frozen=True)
class Clause:
    """One request clause of a message: its text and where it stands (for the entity's span)."""

    text: str
    start: int
    end: int


def _meaningful(text: str) -> bool:
    return len(_MEANINGFUL.findall(text)) >= MIN_CLAUSE_CHARS


def _trimmed(text: str, start: int) -> Clause:
    lead = re.match(_TRIM, text)
    offset = lead.end() if lead else 0
    body = re.sub(f"{_TRIM}$", "", text[offset:])
    return Clause(body, start + offset, start + offset + len(body))


def request_clauses(text: str) -> list[Clause]:
    """The message's request clauses in order; one clause (the trimmed text) when it holds one request."""
    cuts: list[tuple[int, int]] = []
    start = 0
    matches = list(_CONNECTOR.finditer(text))
    for index, match in enumerate(matches):
        following = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        if _meaningful(text[start:match.start()]) and _meaningful(text[match.end():following]):
            cuts.append((match.start(), match.end()))
            start = match.end()
    clauses, start = [], 0
    for cut_start, cut_end in cuts:
        clauses.append(_trimmed(text[start:cut_start], start))
        start = cut_end
    clauses.append(_trimmed(text[start:], start))
    return [clause for clause in clauses if clause.text] or [_trimmed(text, 0)]


def split_requests(text: str) -> list[str]:
    """「查下物流，顺便开个发票」 -> ["查下物流", "开个发票"]; a message with one request -> [that message]."""
    return [clause.text for clause in request_clauses(text)]


@dataclass(frozen=True)
class TwoRequests:
    """A message that asks for two things: the first is answered now, the next one offered afterwards."""

    first: Ranking  # the first clause's ranking: the message's intent and ranking
    next_intent: str
    next_confidence: float
    next_clause: Clause

    def output(self) -> dict[str, Any]:
        """The message property that says what was read as the second request."""
        return {"name": self.next_intent, "confidence": self.next_confidence, "text": self.next_clause.text}

    def entity(self, extractor: str) -> dict[str, Any]:
        """The entity that fills the `next_request` slot (its value is the intent to offer)."""
        return {"entity": NEXT_REQUEST, "value": self.next_intent, "start": self.next_clause.start,
                "end": self.next_clause.end, "confidence_entity": self.next_confidence, "extractor": extractor}


def decide(clauses: Sequence[Clause], rankings: Sequence[Ranking], request_intents: Collection[str],
           min_confidence: float = MIN_REQUEST_CONFIDENCE) -> TwoRequests | None:
    """Two requests when the first clause's top intent and a later clause's are different requests, each at
    `min_confidence` or more (the first such later clause; any other clause is left to the conversation)."""
    if len(clauses) < 2 or len(rankings) < 2 or not rankings[0]:
        return None
    first, first_confidence = rankings[0][0]
    if first not in request_intents or first_confidence < min_confidence:
        return None
    for clause, ranking in zip(clauses[1:], rankings[1:], strict=False):
        if not ranking:
            continue
        intent, confidence = ranking[0]
        if intent in request_intents and intent != first and confidence >= min_confidence:
            return TwoRequests(rankings[0], intent, confidence, clause)
    return None


def two_requests(text: str, rank: Callable[[str], Ranking], request_intents: Collection[str] = REQUEST_INTENTS,
                 min_confidence: float = MIN_REQUEST_CONFIDENCE) -> TwoRequests | None:
    """Split `text`, rank its clauses with `rank` (only when there are several) and `decide`."""
    clauses = request_clauses(text)[:MAX_CLAUSES]
    if len(clauses) < 2:
        return None
    return decide(clauses, [rank(clause.text) for clause in clauses], request_intents, min_confidence)
