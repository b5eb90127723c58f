"""Past reply units: what agents answered in handoffs the customer rated 4 or 5 (handoff_sessions.rating, set by
HandoffRecords.rate), each with the customer's message(s) just before it as the question.

Both texts are masked before they enter the index: phone, ID and e-mail numbers and street addresses
(privacy.scrub), the customer's name (privacy.mask_name, from the handoff's context package), and the order,
refund, waybill and ticket numbers of that one customer (a placeholder, so the reply can be reused)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from handoff import schema
from service.kb.units import KnowledgeUnit, Source
from service.privacy import mask_name, scrub

GOOD_RATING = 4
MAX_SESSIONS = 2000  # the most recent rated handoffs: bounds the build's time and memory
MIN_REPLY_CHARS = 10  # shorter replies ("好的", "稍等") answer nothing on their own
MAX_QUESTION_CUSTOMER_MESSAGES = 3
TITLE_CHARS = 40
_NUMBERS = [
    (re.compile(r"(?<![0-9A-Za-z])E\d{12}(?![0-9])"), "〔订单号〕"),
    (re.compile(r"(?<![0-9A-Za-z])R\d{12}(?![0-9])"), "〔退款单号〕"),
    (re.compile(r"(?<![0-9A-Za-z])T\d{6,}(?![0-9])"), "〔工单号〕"),
    (re.compile(r"(?<![0-9A-Za-z])(?:SF|YT|ZTO|JD|JDVA|DPK)\d{8,}(?![0-9])"), "〔快递单号〕"),
]


@dataclass(frozen=True)
class Line:
    """One message of a rated handoff, as read from handoff_messages."""

    id: int
    session_id: str
    direction: str
    text: str


def mask(text: str, names: Iterable[str] = ()) -> str:
    """`text` with personal data masked: privacy.scrub, the given names, and the customer's own numbers."""
    masked = scrub(text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        masked = masked.replace(name, mask_name(name))
    for pattern, placeholder in _NUMBERS:
        masked = pattern.sub(placeholder, masked)
    return masked


def reply_units(lines: Sequence[Line], names: dict[str, tuple[str, ...]]) -> list[KnowledgeUnit]:
    """Units from the messages of rated sessions in order (pure): each agent reply long enough after at least one
    customer message since the agent's previous reply; `names` are the customer's names per session."""
    units: list[KnowledgeUnit] = []
    asked: dict[str, list[str]] = {}
    seen: set[str] = set()
    for line in lines:
        if line.direction == "customer":
            asked.setdefault(line.session_id, []).append(line.text)
            continue
        if line.direction != "agent":
            continue
        question = asked.pop(line.session_id, [])[-MAX_QUESTION_CUSTOMER_MESSAGES:]
        if not question or len(line.text.strip()) < MIN_REPLY_CHARS:
            continue
        session_names = names.get(line.session_id, ())
        text = mask(line.text.strip(), session_names)
        asked_text = mask("，".join(q.strip() for q in question), session_names)
        if text in seen:
            continue
        seen.add(text)
        title = asked_text if len(asked_text) <= TITLE_CHARS else asked_text[:TITLE_CHARS - 1] + "…"
        units.append(KnowledgeUnit(f"reply/{line.id}", Source.REPLY, title, text, (asked_text,)))
    return units


def _customer_names(context_json: str | None) -> tuple[str, ...]:
    try:
        context = json.loads(context_json or "{}")
    except ValueError:
        return ()
    customer = context.get("customer") if isinstance(context, dict) else None
    name = customer.get("name") if isinstance(customer, dict) else None
    return (name,) if isinstance(name, str) and name.strip() else ()


class PastReplies:
    """Reads rated handoffs from the desk's database (read only)."""

    def __init__(self, engine: Engine, min_rating: int = GOOD_RATING, max_sessions: int = MAX_SESSIONS) -> None:
        self._engine = engine
        self._min_rating = min_rating
        self._max_sessions = max_sessions

    def load(self) -> list[KnowledgeUnit]:
        S, M = schema.sessions, schema.messages
        recent = (select(S.c.id).where(S.c.rating >= self._min_rating)
                  .order_by(S.c.queued_at.desc()).limit(self._max_sessions))
        with self._engine.connect() as conn:
            names = {row.id: _customer_names(row.context_json) for row in conn.execute(
                select(S.c.id, S.c.context_json).where(S.c.id.in_(recent.scalar_subquery())))}
            if not names:
                return []
            lines = [Line(r.id, r.session_id, r.direction, r.text or "") for r in conn.execute(
                select(M.c.id, M.c.session_id, M.c.direction, M.c.text)
                .where(M.c.session_id.in_(recent.scalar_subquery())).order_by(M.c.session_id, M.c.at, M.c.id))]
        return reply_units(lines, names)
