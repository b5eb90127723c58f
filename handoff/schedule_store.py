"""The desk's schedules in SQL: group hours overriding handoff.yml's, day rules (holidays) and shifts (排班)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from handoff import schedule_schema as schema
from handoff.timetable import DayRule, Hours, hhmm
from service.clock import Clock
from service.tickets.schema import staff

MAX_ROWS = 500  # a listing never returns more


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class ShiftRow:
    id: int
    username: str
    day: date
    start: time
    end: time
    skill_groups: str  # the account's, for its groups
    department: str


@dataclass(frozen=True)
class StaffRow:
    username: str
    name: str
    role: str
    skill_groups: str
    department: str


class ScheduleStore:
    """Synchronous and thread-safe; async callers run it in a worker thread."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or Clock()

    # --- group hours ------------------------------------------------------------------------

    def group_hours(self) -> dict[str, Hours]:
        G = schema.group_hours
        with self._engine.connect() as conn:
            rows = conn.execute(select(G).order_by(G.c.skill_group)).all()
        return {r.skill_group: Hours(parse_hhmm(r.start), parse_hhmm(r.end),
                                     frozenset(int(d) for d in r.days.split(",") if d)) for r in rows}

    def set_group_hours(self, group: str, hours: Hours, by: str) -> None:
        G = schema.group_hours
        values = {"start": hhmm(hours.start), "end": hhmm(hours.end),
                  "days": ",".join(str(d) for d in sorted(hours.days)), "updated_by": by,
                  "updated_at": self._clock.now()}
        with self._engine.begin() as conn:
            conn.execute(delete(G).where(G.c.skill_group == group))
            conn.execute(insert(G).values(skill_group=group, **values))

    def clear_group_hours(self, group: str) -> bool:
        G = schema.group_hours
        with self._engine.begin() as conn:
            return bool(conn.execute(delete(G).where(G.c.skill_group == group)).rowcount)

    # --- day rules (holidays) ---------------------------------------------------------------

    def day_rules(self, first: date | None = None, last: date | None = None) -> list[DayRule]:
        D = schema.day_rules
        query = select(D).order_by(D.c.day, D.c.id).limit(MAX_ROWS)
        if first is not None:
            query = query.where(D.c.day >= first)
        if last is not None:
            query = query.where(D.c.day <= last)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [DayRule(r.day, r.skill_group, bool(r.closed), parse_hhmm(r.start) if r.start else None,
                        parse_hhmm(r.end) if r.end else None, r.note or "", r.id, "desk") for r in rows]

    def add_day_rule(self, rule: DayRule, by: str) -> DayRule:
        D = schema.day_rules
        with self._engine.begin() as conn:
            new_id = conn.execute(insert(D).values(
                day=rule.day, skill_group=rule.group, closed=rule.closed,
                start=hhmm(rule.start) if rule.start else None, end=hhmm(rule.end) if rule.end else None,
                note=rule.note, created_by=by, created_at=self._clock.now())).inserted_primary_key[0]
        return DayRule(rule.day, rule.group, rule.closed, rule.start, rule.end, rule.note, int(new_id), "desk")

    def delete_day_rule(self, rule_id: int) -> bool:
        D = schema.day_rules
        with self._engine.begin() as conn:
            return bool(conn.execute(delete(D).where(D.c.id == rule_id)).rowcount)

    # --- shifts -------------------------------------------------------------------------------

    def shifts(self, first: date, last: date) -> list[ShiftRow]:
        """Shifts of active accounts starting from `first` to `last`, by day and start."""
        S = schema.shifts
        query = (select(S.c.id, S.c.username, S.c.day, S.c.start, S.c.end, staff.c.skill_groups, staff.c.department)
                 .join(staff, staff.c.username == S.c.username)
                 .where(S.c.day >= first, S.c.day <= last, staff.c.active.is_(True))
                 .order_by(S.c.day, S.c.start, S.c.username).limit(MAX_ROWS))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ShiftRow(r.id, r.username, r.day, parse_hhmm(r.start), parse_hhmm(r.end), r.skill_groups or "",
                         r.department) for r in rows]

    def add_shift(self, username: str, day: date, start: time, end: time, by: str) -> int:
        S = schema.shifts
        with self._engine.begin() as conn:
            result = conn.execute(insert(S).values(username=username, day=day, start=hhmm(start), end=hhmm(end),
                                                   created_by=by, created_at=self._clock.now()))
        return int(result.inserted_primary_key[0])

    def delete_shift(self, shift_id: int) -> bool:
        S = schema.shifts
        with self._engine.begin() as conn:
            return bool(conn.execute(delete(S).where(S.c.id == shift_id)).rowcount)

    # --- who can be on a shift ----------------------------------------------------------------

    def staff(self) -> list[StaffRow]:
        """The active accounts, by username."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(staff.c.username, staff.c.display_name, staff.c.role, staff.c.skill_groups,
                                       staff.c.department).where(staff.c.active.is_(True))
                                .order_by(staff.c.username).limit(MAX_ROWS)).all()
        return [StaffRow(r.username, r.display_name, r.role, r.skill_groups or "", r.department) for r in rows]

