"""The ticket service: create, find, work and escalate tickets (SQLAlchemy Core).

Synchronous and thread-safe (one engine, a connection per call); async callers run the
methods in a worker thread. Every change writes an audit event in the same transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from service.clock import Clock
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event
from service.tickets import schema
from service.tickets.models import (
    Created,
    Escalation,
    Notification,
    Page,
    Rating,
    Ticket,
    TicketDraft,
    TicketEvent,
    TicketFilter,
)
from service.tickets.policy import PRIORITIES, TicketPolicy
from service.tickets.rules import (
    Category,
    Kind,
    Status,
    check_transition,
    department_for,
    due_times,
    overdue_reason,
    priority_for,
    raise_priority,
    reserved_for_supervisors,
)

logger = logging.getLogger(__name__)
T = schema.tickets
E = schema.ticket_events
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000  # keeps OFFSET ((page - 1) * page_size ≤ 10⁸) inside every database's integers
IMPROVEMENT_THRESHOLD = 2  # ratings of 1 or 2 open an improvement task
SUPERVISOR_ONLY_CODE = "supervisor_only"
_PHONE_SEPARATORS = re.compile(r"[\s-]")

# Statements of the creation path, built once: building and cache-keying a 30-column insert per call was
# most of create()'s own CPU time (see bench/tickets.py --profile).
_FIND_OPEN = select(T).where(T.c.open_key == bindparam("key"))
_FIND_OPEN_MANY = select(T).where(T.c.open_key.in_(bindparam("keys", expanding=True)))
_INSERT_TICKET = insert(T)
_SET_NUMBER = update(T).where(T.c.id == bindparam("ticket_id")).values(number=bindparam("new_number"))
_INSERT_EVENT = insert(E)
_FRESH = {"assignee": None, "first_responded_at": None, "resolved_at": None, "closed_at": None, "overdue": False,
          "escalation_level": 0, "rating_requested_at": None}
MAX_BATCH = 1000  # drafts per create_many(): one transaction, its statements and locks stay bounded
# ids for a batch in one round trip, so numbers go into the INSERT itself (PostgreSQL; SQLite has no sequences)
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('tickets', 'id')) FROM generate_series(1, :n)")


def _ticket(row: Row) -> Ticket:
    values = dict(row._mapping)
    values["kind"] = Kind(values["kind"])
    values["status"] = Status(values["status"])
    values.pop("open_key", None)
    return Ticket(**values)


def open_key(owner: str, order_id: str | None, category: str) -> str:
    return f"{owner}|{order_id or '-'}|{category}"


def _key_of(draft: TicketDraft) -> str | None:
    return None if draft.kind is Kind.IMPROVEMENT else open_key(draft.owner, draft.order_id, draft.category.value)


def _check_draft(draft: TicketDraft, where: str = "") -> None:
    if not draft.description.strip() and not draft.summary.strip():
        raise InvalidInput("description", "empty" + where)


def _number(now: datetime, ticket_id: int) -> str:
    return f"T{now:%Y%m%d}{ticket_id:05d}"


def _created_comment(draft: TicketDraft) -> str:
    origin = f"来自人工会话 {draft.origin}：" if draft.origin else ""
    return origin + (draft.summary or draft.description[:200])


def _new_ticket(values: dict[str, Any], ticket_id: int, number: str, draft: TicketDraft) -> Ticket:
    """Every column is known, so the row is not read back."""
    columns = {name: value for name, value in values.items() if name != "open_key"}
    return Ticket(**{**columns, **_FRESH, "id": ticket_id, "number": number, "kind": draft.kind, "status": Status.NEW})


def _event_row(ticket_id: int, at: datetime, actor: str, kind: str, to_status: str | None,
               comment: str) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "at": at, "actor": actor, "kind": kind, "from_status": None,
            "to_status": to_status, "comment": comment}


def _log_created(created: list[Created]) -> None:
    for item in created:
        if not item.duplicate:
            ticket = item.ticket
            log_event(logger, "ticket_created", number=ticket.number, category=ticket.category,
                      priority=ticket.priority, department=ticket.department)


class TicketService:
    def __init__(self, engine: Engine, policy: TicketPolicy, clock: Clock) -> None:
        self._engine = engine
        self.policy = policy
        self._clock = clock

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- creation ---------------------------------------------------------------------

    def create(self, draft: TicketDraft) -> Created:
        """A new ticket, or a comment on the customer's open ticket for the same order and category."""
        _check_draft(draft)
        key = _key_of(draft)
        for _attempt in range(2):
            try:
                with self._engine.begin() as conn:
                    created = self._create_in(conn, draft, key)
                _log_created([created])
                return created
            except IntegrityError:  # a concurrent creation took the open key: comment on that one
                continue
        raise RuntimeError("ticket creation kept colliding")

    def create_many(self, drafts: Sequence[TicketDraft]) -> list[Created]:
        """create() for each draft, in order, in one transaction: all are written or none (a bad draft is
        InvalidInput before anything is written). Same numbering, priority, routing, SLA, duplicate guard (also
        between drafts of the batch), trail and notifications; on PostgreSQL a few statements for the whole batch."""
        if len(drafts) > MAX_BATCH:
            raise InvalidInput("drafts", f"at most {MAX_BATCH} per batch")
        for index, draft in enumerate(drafts):
            _check_draft(draft, f" (draft {index})")
        if not drafts:
            return []
        keys = [_key_of(draft) for draft in drafts]
        for _attempt in range(2):
            try:
                with self._engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        created = self._insert_many(conn, drafts, keys)
                    else:  # no sequence to take ids from: create()'s statements, one draft after the other
                        created = [self._create_in(conn, draft, key) for draft, key in zip(drafts, keys, strict=True)]
                _log_created(created)
                return created
            except IntegrityError:  # a concurrent creation took an open key: the retry comments on that ticket
                continue
        raise RuntimeError("ticket creation kept colliding")

    def _create_in(self, conn: Connection, draft: TicketDraft, key: str | None) -> Created:
        if key is not None:
            existing = conn.execute(_FIND_OPEN, {"key": key}).first()
            if existing is not None:
                self._event(conn, existing.id, "customer", "duplicate", None, None, draft.description or draft.summary)
                conn.execute(update(T).where(T.c.id == existing.id).values(updated_at=self._clock.now()))
                return Created(_ticket(existing), duplicate=True)
        return Created(self._insert(conn, draft, key), duplicate=False)

    def _insert(self, conn: Connection, draft: TicketDraft, key: str | None) -> Ticket:
        now = self._clock.now()
        earlier = 0
        if draft.category is Category.COMPLAINT and draft.customer_id:
            earlier = self._recent_complaints(conn, [draft.customer_id], now).get(draft.customer_id, 0)
        values = self._values(draft, key, now, earlier)
        ticket_id = int(conn.execute(_INSERT_TICKET, values).inserted_primary_key[0])
        number = _number(now, ticket_id)
        conn.execute(_SET_NUMBER, {"ticket_id": ticket_id, "new_number": number})
        self._event(conn, ticket_id, draft.actor, "created", None, Status.NEW.value, _created_comment(draft))
        if draft.kind is Kind.IMPROVEMENT:  # the supervisor hears of it at once
            conn.execute(insert(schema.notifications).values(self._improvement_notice(values, ticket_id, number, draft)))
        return _new_ticket(values, ticket_id, number, draft)

    def _insert_many(self, conn: Connection, drafts: Sequence[TicketDraft], keys: list[str | None]) -> list[Created]:
        """The batch in set-based statements: open tickets looked up at once, ids from the sequence, then one
        executemany per table (psycopg2 sends those as multi-row INSERTs)."""
        now = self._clock.now()
        wanted = sorted({key for key in keys if key is not None})
        existing = {row.open_key: row for row in conn.execute(_FIND_OPEN_MANY, {"keys": wanted})} if wanted else {}
        complainers = sorted({d.customer_id for d in drafts if d.category is Category.COMPLAINT and d.customer_id})
        complaints = self._recent_complaints(conn, complainers, now) if complainers else {}
        holder: dict[str, int] = {}  # open key → index of the draft in this batch that opens it
        fresh = []
        for index, key in enumerate(keys):
            if key is None or (key not in existing and key not in holder):
                fresh.append(index)
                if key is not None:
                    holder[key] = index
        ids = sorted(int(row[0]) for row in conn.execute(_NEXT_IDS, {"n": len(fresh)})) if fresh else []
        made: dict[int, Ticket] = {}
        rows: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        for index, ticket_id in zip(fresh, ids, strict=True):
            draft = drafts[index]
            earlier = 0
            if draft.category is Category.COMPLAINT and draft.customer_id:  # earlier drafts of the batch count too
                earlier = complaints.get(draft.customer_id, 0)
                complaints[draft.customer_id] = earlier + 1
            values = self._values(draft, keys[index], now, earlier)
            number = _number(now, ticket_id)
            rows.append({**values, "id": ticket_id, "number": number})
            if draft.kind is Kind.IMPROVEMENT:
                notices.append(self._improvement_notice(values, ticket_id, number, draft))
            made[index] = _new_ticket(values, ticket_id, number, draft)
        results: list[Created] = []
        events: list[dict[str, Any]] = []
        touched: list[int] = []
        for index, (draft, key) in enumerate(zip(drafts, keys, strict=True)):
            if index in made:
                ticket = made[index]
                results.append(Created(ticket, duplicate=False))
                events.append(_event_row(ticket.id, now, draft.actor, "created", Status.NEW.value,
                                         _created_comment(draft)))
                continue
            assert key is not None
            ticket = _ticket(existing[key]) if key in existing else made[holder[key]]
            if key in existing:
                touched.append(ticket.id)
            results.append(Created(ticket, duplicate=True))
            events.append(_event_row(ticket.id, now, "customer", "duplicate", None, draft.description or draft.summary))
        if rows:  # in open-key order, so two batches that share keys take their locks in the same order
            conn.execute(_INSERT_TICKET, sorted(rows, key=lambda row: (row["open_key"] is None, row["open_key"] or "")))
        conn.execute(_INSERT_EVENT, events)
        if touched:
            conn.execute(update(T).where(T.c.id.in_(sorted(set(touched)))).values(updated_at=now))
        if notices:
            conn.execute(insert(schema.notifications), notices)
        return results

    def _recent_complaints(self, conn: Connection, customer_ids: Sequence[str], now: datetime) -> dict[str, int]:
        """Complaints each customer made within policy.repeat_complaint_days (a repeat raises the priority)."""
        since = now - timedelta(days=self.policy.repeat_complaint_days)
        rows = conn.execute(select(T.c.customer_id, func.count()).where(and_(
            T.c.customer_id.in_(list(customer_ids)), T.c.category == Category.COMPLAINT.value,
            T.c.created_at >= since)).group_by(T.c.customer_id))
        return {customer: int(count) for customer, count in rows}

    def _values(self, draft: TicketDraft, key: str | None, now: datetime, earlier_complaints: int) -> dict[str, Any]:
        """The new ticket's columns by the policy: priority, department and SLA due times."""
        words = f"{draft.description} {draft.summary}"
        priority = priority_for(self.policy, words, draft.customer_vip, draft.category.value, earlier_complaints)
        if draft.priority in PRIORITIES and PRIORITIES.index(draft.priority) > PRIORITIES.index(priority):
            priority = draft.priority
        department = department_for(self.policy, draft.category.value, draft.intent, draft.description, draft.kind)
        due = due_times(self.policy, priority, now)
        return dict(
            kind=draft.kind.value, category=draft.category.value, status=Status.NEW.value, priority=priority,
            department=department, customer_id=draft.customer_id, customer_name=draft.customer_name,
            customer_phone=draft.customer_phone, customer_address=draft.customer_address,
            customer_vip=draft.customer_vip, channel=draft.channel, sender_id=draft.sender_id,
            order_id=draft.order_id, product=draft.product, intent=draft.intent,
            description=draft.description[:2000], summary=draft.summary[:500], transcript=draft.transcript[:4000],
            open_key=key, linked_ticket_id=draft.linked_ticket_id, created_at=now, updated_at=now,
            first_response_due=due.first_response, resolution_due=due.resolution,
        )

    def _improvement_notice(self, values: dict[str, Any], ticket_id: int, number: str,
                            draft: TicketDraft) -> dict[str, Any]:
        department = values["department"]
        return dict(at=values["created_at"], department=department, recipient=self.policy.supervisors.get(department, ""),
                    ticket_id=ticket_id, kind="low_rating", message=f"工单 {number} {draft.summary or '低分回访'}"[:500])

    # --- reading ------------------------------------------------------------------------

    def get(self, number: str) -> Ticket:
        with self._engine.connect() as conn:
            return self._get(conn, number)

    def _get(self, conn: Connection, number: str, for_update: bool = False) -> Ticket:
        query = select(T).where(T.c.number == number.strip().upper())
        if for_update and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound("ticket", number)
        return _ticket(row)

    def trail(self, number: str) -> list[TicketEvent]:
        with self._engine.connect() as conn:
            ticket = self._get(conn, number)
            rows = conn.execute(select(E).where(E.c.ticket_id == ticket.id).order_by(E.c.at, E.c.id))
            return [TicketEvent(r.at, r.actor, r.kind, r.from_status, r.to_status, r.comment) for r in rows]

    def ratings(self, number: str) -> list[Rating]:
        with self._engine.connect() as conn:
            ticket = self._get(conn, number)
            rows = conn.execute(select(schema.ratings).where(schema.ratings.c.ticket_id == ticket.id)
                                .order_by(schema.ratings.c.at))
            return [Rating(ticket.number, r.score, r.comment, r.at) for r in rows]

    def open_for(self, customer_id: str | None = None, sender_id: str | None = None) -> list[Ticket]:
        """The customer's (or, when unknown, the conversation's) open tickets, newest first."""
        if not customer_id and not sender_id:
            return []
        owner = T.c.customer_id == customer_id if customer_id else T.c.sender_id == sender_id
        closed = (Status.RESOLVED.value, Status.CLOSED.value)
        with self._engine.connect() as conn:
            rows = conn.execute(select(T).where(and_(owner, T.c.status.notin_(closed), T.c.kind == Kind.ISSUE.value))
                                .order_by(T.c.created_at.desc(), T.c.id.desc()).limit(10))
            return [_ticket(r) for r in rows]

    def search(self, filters: TicketFilter, page: int = 1, page_size: int = 20) -> Page:
        if not 1 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput("page", f"1 ≤ page ≤ {MAX_PAGE} and 1 ≤ page_size ≤ {MAX_PAGE_SIZE}")
        conditions: list[Any] = []
        for column, value in ((T.c.priority, filters.priority), (T.c.department, filters.department),
                              (T.c.category, filters.category), (T.c.assignee, filters.assignee),
                              (T.c.customer_id, filters.customer_id)):
            if value:
                conditions.append(column == value)
        if filters.status is not None:
            conditions.append(T.c.status == filters.status.value)
        if filters.open_only:  # IN, not NOT IN: PostgreSQL can then count through ix_tickets_status_created
            conditions.append(T.c.status.in_([s.value for s in Status if s.is_open]))
        if filters.overdue is not None:
            conditions.append(T.c.overdue == filters.overdue)
        if filters.query:
            q = filters.query.strip().upper()
            phone = _PHONE_SEPARATORS.sub("", q).removeprefix("+86")  # 138 0013 8000, 138-0013-8000
            conditions.append(or_(T.c.number == q, T.c.order_id == q, T.c.customer_phone == phone))
        where = and_(True, *conditions)
        with self._engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(T).where(where)).scalar_one())
            rows = conn.execute(select(T).where(where).order_by(T.c.created_at.desc(), T.c.id.desc())
                                .limit(page_size).offset((page - 1) * page_size))
            return Page([_ticket(r) for r in rows], total, page, page_size)

    # --- working a ticket ---------------------------------------------------------------

    def comment(self, number: str, actor: str, text: str, staff: bool = True) -> Ticket:
        if not text.strip():
            raise InvalidInput("comment", "empty")
        with self._engine.begin() as conn:
            ticket = self._get(conn, number, for_update=True)
            values: dict[str, Any] = {"updated_at": self._clock.now()}
            if staff and ticket.first_responded_at is None:
                values["first_responded_at"] = values["updated_at"]
            conn.execute(update(T).where(T.c.id == ticket.id).values(**values))
            self._event(conn, ticket.id, actor, "comment", None, None, text.strip()[:2000])
            return self._get(conn, number)

    def assign(self, number: str, actor: str, assignee: str) -> Ticket:
        if not assignee.strip():
            raise InvalidInput("assignee", "empty")
        with self._engine.begin() as conn:
            ticket = self._get(conn, number, for_update=True)
            values: dict[str, Any] = {"assignee": assignee.strip(), "updated_at": self._clock.now()}
            if ticket.status in (Status.NEW, Status.REOPENED):
                values["status"] = Status.ASSIGNED.value
                self._event(conn, ticket.id, actor, "status", ticket.status.value, Status.ASSIGNED.value,
                            f"分派给 {assignee}")
            else:
                self._event(conn, ticket.id, actor, "assign", None, None, f"分派给 {assignee}")
            conn.execute(update(T).where(T.c.id == ticket.id).values(**values))
            return self._get(conn, number)

    def change_status(self, number: str, actor: str, to: Status, comment: str = "", agent: bool = False) -> Ticket:
        """Move a ticket along the workflow; TransitionError for a move it does not allow. `agent`: the actor is a
        坐席, so a move reserved for 主管 (rules.SUPERVISOR_ONLY) is NotAllowed(supervisor_only)."""
        with self._engine.begin() as conn:
            ticket = self._get(conn, number, for_update=True)
            check_transition(ticket.status, to)
            if agent and reserved_for_supervisors(ticket.status, to):
                raise NotAllowed(SUPERVISOR_ONLY_CODE, f"工单从「{ticket.status.value}」改为「{to.value}」需由主管操作")
            now = self._clock.now()
            values: dict[str, Any] = {"status": to.value, "updated_at": now}
            if to is Status.IN_PROGRESS and ticket.first_responded_at is None:
                values["first_responded_at"] = now
            if to is Status.RESOLVED:
                values.update(resolved_at=now, open_key=None, overdue=False)
            if to is Status.CLOSED:
                values.update(closed_at=now, open_key=None, overdue=False)
            if to is Status.REOPENED:
                values.update(resolved_at=None, closed_at=None)
                due = due_times(self.policy, ticket.priority, now)
                values.update(first_response_due=due.first_response, resolution_due=due.resolution)
                key = None if ticket.kind is Kind.IMPROVEMENT else open_key(
                    ticket.customer_id or f"conv:{ticket.sender_id}", ticket.order_id, ticket.category)
                taken = key and conn.execute(select(T.c.id).where(T.c.open_key == key)).first()
                values["open_key"] = None if taken else key
            conn.execute(update(T).where(T.c.id == ticket.id).values(**values))
            self._event(conn, ticket.id, actor, "status", ticket.status.value, to.value, comment)
            updated = self._get(conn, number)
        log_event(logger, "ticket_status", number=number, from_status=ticket.status.value, to_status=to.value)
        return updated

    def mark_rating_requested(self, number: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(T).where(T.c.number == number).values(rating_requested_at=self._clock.now()))

    def rate(self, number: str, score: int, comment: str = "") -> tuple[Rating, Ticket | None]:
        """Store the customer's 1–5 rating; 1 or 2 opens an improvement task for the supervisors (their department,
        with a notification), linked to the ticket and carrying the comment."""
        if not 1 <= score <= 5:
            raise InvalidInput("score", "1-5")
        now = self._clock.now()
        with self._engine.begin() as conn:
            ticket = self._get(conn, number)
            conn.execute(insert(schema.ratings).values(ticket_id=ticket.id, score=score, comment=comment[:500], at=now))
            self._event(conn, ticket.id, "customer", "rating", None, None, f"{score}分 {comment}".strip())
        improvement = None
        if score <= IMPROVEMENT_THRESHOLD:
            improvement = self.create(TicketDraft(
                category=Category.IMPROVEMENT, kind=Kind.IMPROVEMENT, linked_ticket_id=ticket.id,
                description=f"工单 {ticket.number} 的客户评分 {score} 分：{comment or '（无评语）'}",
                summary=f"低分回访：{ticket.category}工单 {ticket.number}（{ticket.department}）",
                customer_id=ticket.customer_id, customer_name=ticket.customer_name,
                customer_phone=ticket.customer_phone, customer_vip=ticket.customer_vip, channel=ticket.channel,
                sender_id=ticket.sender_id, order_id=ticket.order_id, product=ticket.product,
            )).ticket
        return Rating(ticket.number, score, comment, now), improvement

    # --- escalation ---------------------------------------------------------------------

    def escalate_overdue(self) -> list[Escalation]:
        """Mark overdue tickets, raise their priority one step, note it and tell the supervisor."""
        now = self._clock.now()
        active = (Status.NEW.value, Status.ASSIGNED.value, Status.IN_PROGRESS.value, Status.REOPENED.value)
        due = or_(and_(T.c.first_responded_at.is_(None), T.c.first_response_due < now), T.c.resolution_due < now)
        with self._engine.connect() as conn:
            candidates = [r.number for r in conn.execute(select(T.c.number).where(and_(T.c.status.in_(active), due)))]
        done = []
        for number in candidates:
            escalation = self._escalate(number, now)
            if escalation:
                done.append(escalation)
        return done

    def _escalate(self, number: str, now: datetime) -> Escalation | None:
        with self._engine.begin() as conn:
            ticket = self._get(conn, number, for_update=True)
            reason = overdue_reason(ticket.status, ticket.first_response_due, ticket.resolution_due,
                                    ticket.first_responded_at, now)
            if reason is None:
                return None
            new_priority = raise_priority(ticket.priority)
            due = due_times(self.policy, new_priority, now)
            values: dict[str, Any] = {"priority": new_priority, "overdue": True, "updated_at": now,
                                      "escalation_level": ticket.escalation_level + 1,
                                      "resolution_due": max(due.resolution, now + timedelta(minutes=1))}
            if reason == "first_response":
                values["first_response_due"] = due.first_response
            conn.execute(update(T).where(T.c.id == ticket.id).values(**values))
            what = "首次响应" if reason == "first_response" else "解决"
            comment = f"{what}超时，优先级 {ticket.priority} → {new_priority}，第 {ticket.escalation_level + 1} 次升级"
            self._event(conn, ticket.id, "system", "escalation", None, None, comment)
            supervisor = self.policy.supervisors.get(ticket.department, "")
            conn.execute(insert(schema.notifications).values(
                at=now, department=ticket.department, recipient=supervisor, ticket_id=ticket.id, kind="escalation",
                message=f"工单 {ticket.number} {comment}"))
        log_event(logger, "ticket_escalated", number=number, reason=reason, priority=new_priority,
                  department=ticket.department, supervisor=supervisor)
        return Escalation(number, reason, ticket.priority, new_priority, ticket.department, supervisor)

    def notifications(self, department: str | None = None, unread_only: bool = False,
                      limit: int = 50) -> list[Notification]:
        N = schema.notifications
        query = select(N, T.c.number).join(T, T.c.id == N.c.ticket_id).order_by(N.c.at.desc()).limit(limit)
        if department:
            query = query.where(N.c.department == department)
        if unread_only:
            query = query.where(N.c.read_at.is_(None))
        with self._engine.connect() as conn:
            return [Notification(r.id, r.at, r.department, r.recipient, r.number, r.kind, r.message, r.read_at is not None)
                    for r in conn.execute(query)]

    # --- helpers ------------------------------------------------------------------------

    def _event(self, conn: Connection, ticket_id: int, actor: str, kind: str, from_status: str | None,
               to_status: str | None, comment: str) -> None:
        conn.execute(_INSERT_EVENT, {"ticket_id": ticket_id, "at": self._clock.now(), "actor": actor, "kind": kind,
                                     "from_status": from_status, "to_status": to_status, "comment": comment})
