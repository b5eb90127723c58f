"""操作日志 (the audit log): each time a 主管 is shown a customer's phone number, address, ID number or e-mail whole,
one row says who saw whose data, what kind, where (the route or the WebSocket push) and when.

How a showing is found, generically: the caller renders what it sends the supervisor and what an agent would get
(masked), and `exposures` compares the two; wherever they differ, the supervisor saw personal data whole. Each
difference is put down to the customer of the nearest enclosing record (a ticket, a handoff session) that
`owner_of` recognises, else to `default`.

The log is insert-only: this module has no update or delete, and the desk has no route for either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Engine

from service.clock import Clock
from service.errors import InvalidInput
from service.tickets.schema import audit_log as A
from service.tickets.service import MAX_PAGE

PHONE, ADDRESS, ID_NUMBER, EMAIL = "phone", "address", "id_number", "email"
KINDS = (ADDRESS, EMAIL, ID_NUMBER, PHONE)
MAX_PAGE_SIZE = 100
# Fields whose masking says what they hold; elsewhere the masked text's shape tells (service/privacy.py's masks).
PHONE_KEYS = frozenset({"phone", "customer_phone", "mobile"})
ADDRESS_KEYS = frozenset({"address", "customer_address"})
_MASK_SHAPES = (
    (ID_NUMBER, re.compile(r"\d{6}\*{8}[\dXx]")),
    (PHONE, re.compile(r"\d{3}\*{4}\d{4}")),
    (EMAIL, re.compile(r"\*{4}@")),
    (ADDRESS, re.compile(r"\*{4}")),
)


@dataclass(frozen=True)
class Owner:
    """Whose data a part of a response is, and the record it belongs to (a ticket number or a session id)."""

    customer_id: str
    reference: str = ""


@dataclass(frozen=True)
class Exposure:
    customer_id: str
    reference: str
    shown: frozenset[str]


@dataclass(frozen=True)
class AuditRow:
    viewer: str
    role: str
    customer_id: str
    shown: frozenset[str]
    source: str
    reference: str = ""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    viewer: str
    role: str
    customer_id: str
    shown: tuple[str, ...]
    source: str
    reference: str


@dataclass(frozen=True)
class AuditQuery:
    viewer: str | None = None
    customer_id: str | None = None
    since: datetime | None = None  # naive CST
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    total: int
    page: int
    page_size: int


# --- finding what was shown ---------------------------------------------------------------------------


def shown_kinds(key: str, whole: str, masked: str) -> frozenset[str]:
    """What a field shows whole that its masked form hides (empty when they are the same)."""
    if whole == masked:
        return frozenset()
    if key in PHONE_KEYS:
        return frozenset({PHONE})
    if key in ADDRESS_KEYS:
        return frozenset({ADDRESS})
    kinds = set()
    for kind, shape in _MASK_SHAPES:
        if len(shape.findall(masked)) > len(shape.findall(whole)):
            kinds.add(kind)
        masked, whole = shape.sub("", masked), shape.sub("", whole)
    return frozenset(kinds or {ADDRESS})  # a masked stretch of text that is no other shape: an address


def exposures(whole: Any, masked: Any, owner_of: Callable[[Mapping[str, Any]], Owner | None] = lambda _d: None,
              default: Owner | None = None) -> list[Exposure]:
    """Per owner, what `whole` shows that `masked` (the same structure, as an agent gets it) hides."""
    found: dict[Owner, set[str]] = {}

    def walk(a: Any, b: Any, key: str, owner: Owner) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            owner = owner_of(a) or owner
            for name, value in a.items():
                walk(value, b.get(name), str(name), owner)
        elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            for left, right in zip(a, b, strict=False):
                walk(left, right, key, owner)
        elif isinstance(a, str) and isinstance(b, str):
            kinds = shown_kinds(key, a, b)
            if kinds:
                found.setdefault(owner, set()).update(kinds)

    walk(whole, masked, "", default or Owner(""))
    return [Exposure(owner.customer_id, owner.reference, frozenset(kinds)) for owner, kinds in found.items()]


def rows_for(viewer: str, role: str, source: str, found: Iterable[Exposure]) -> list[AuditRow]:
    return [AuditRow(viewer, role, e.customer_id, e.shown, source, e.reference) for e in found]


# --- the table ---------------------------------------------------------------------------------------


class AuditLog:
    """Writes and reads the audit_log table (synchronous; async callers use a worker thread)."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or Clock()

    def record(self, rows: Sequence[AuditRow]) -> int:
        """All rows of one response or push in one transaction; how many were written."""
        if not rows:
            return 0
        at = self._clock.now()
        values = [{"at": at, "viewer": r.viewer[:32], "role": r.role[:8], "customer_id": r.customer_id[:64],
                   "shown": ",".join(sorted(r.shown))[:64], "source": r.source[:80], "reference": r.reference[:64]}
                  for r in rows]
        with self._engine.begin() as conn:
            conn.execute(insert(A), values)
        return len(values)

    def search(self, query: AuditQuery) -> AuditPage:
        """Newest first, filtered by viewer, customer and earliest time."""
        if not 1 <= query.page <= MAX_PAGE or not 1 <= query.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput("page", f"1 ≤ page ≤ {MAX_PAGE} and 1 ≤ page_size ≤ {MAX_PAGE_SIZE}")
        conditions: list[Any] = []
        if query.viewer:
            conditions.append(A.c.viewer == query.viewer)
        if query.customer_id:
            conditions.append(A.c.customer_id == query.customer_id)
        if query.since is not None:
            conditions.append(A.c.at >= query.since)
        where = and_(True, *conditions)
        with self._engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(A).where(where)).scalar_one())
            rows = conn.execute(select(A).where(where).order_by(A.c.at.desc(), A.c.id.desc())
                                .limit(query.page_size).offset((query.page - 1) * query.page_size))
            items = [AuditEntry(r.id, r.at, r.viewer, r.role, r.customer_id, tuple(filter(None, r.shown.split(","))),
                                r.source, r.reference) for r in rows]
        return AuditPage(items, total, query.page, query.page_size)
