"""The one place that says when a skill group is at work: handoff.yml's hours and holidays, the desk's overrides
and the agents' shifts (排班), merged into a Timetable (handoff/timetable.py) whose answers are pure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from handoff.config import HandoffConfig
from handoff.schedule_store import ScheduleStore
from handoff.timetable import HORIZON_DAYS, DayRule, GroupStatus, Hours, Shift, Timetable, span_of
from service.clock import Clock
from service.errors import NotAllowed, NotFound

UNKNOWN_AGENT = "unknown_agent"  # a shift for a username with no active account (a 422 with this code)


class Schedules:
    """Synchronous (it reads the database when it has a store); async callers run it in a worker thread."""

    def __init__(self, config: HandoffConfig, store: ScheduleStore | None = None, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or Clock()  # for "now" on the settings page; the bridge passes its own moments

    @property
    def editable(self) -> bool:
        return self.store is not None

    def group_hours(self) -> dict[str, tuple[Hours, str]]:
        """Every skill group's hours and where they come from (desk, handoff.yml or working_hours)."""
        overrides = self.store.group_hours() if self.store else {}
        result = {}
        for group in self.config.groups:
            if group in overrides:
                result[group] = (overrides[group], "desk")
            elif group in self.config.group_hours:
                result[group] = (self.config.group_hours[group], "handoff.yml")
            else:
                result[group] = (self.config.hours, "working_hours")
        return result

    def day_rules(self, first: date | None = None, last: date | None = None) -> list[DayRule]:
        """handoff.yml's holidays, then the desk's (the desk's win on the same day and group)."""
        mine = [r for r in self.config.holidays if (first is None or r.day >= first) and (last is None or r.day <= last)]
        return sorted(mine, key=lambda r: r.day) + (self.store.day_rules(first, last) if self.store else [])

    def shifts(self, first: date, last: date) -> list[Shift]:
        if self.store is None:
            return []
        result = []
        for row in self.store.shifts(first, last):
            start, end = span_of(row.day, row.start, row.end)
            result.append(Shift(row.username, self.config.groups_of(row.skill_groups, row.department), start, end,
                                row.id))
        return result

    def timetable(self, around: date, days_ahead: int = HORIZON_DAYS) -> Timetable:
        """Everything that decides the groups' hours from the day before `around` to `days_ahead` after it."""
        first, last = around - timedelta(days=1), around + timedelta(days=days_ahead + 1)
        hours = {group: h for group, (h, _source) in self.group_hours().items()}
        return Timetable(self.config.hours, hours, tuple(self.day_rules(first, last)),
                         tuple(self.shifts(first, last)))

    def status(self, group: str, moment: datetime) -> GroupStatus:
        """Whether `group` is at work at `moment`, its usual hours, and when it is back."""
        return self.timetable(moment.date()).status(group, moment)

    def is_open(self, group: str, moment: datetime) -> bool:
        return self.timetable(moment.date(), 0).is_open(group, moment)

    def back_at(self, group: str, moment: datetime) -> datetime | None:
        return self.timetable(moment.date()).back_at(group, moment)

    # --- the desk's changes (主管) -------------------------------------------------------------

    def _writable(self) -> ScheduleStore:
        if self.store is None:
            raise NotAllowed("read_only", "没有排班数据库：只能在 handoff.yml 里改")
        return self.store

    def _known_group(self, group: str | None) -> None:
        if group is not None and group not in self.config.groups:
            raise NotFound("skill group", group)

    def set_group_hours(self, group: str, hours: Hours, by: str) -> None:
        self._known_group(group)
        self._writable().set_group_hours(group, hours, by)

    def clear_group_hours(self, group: str) -> None:
        """Back to handoff.yml's hours for the group."""
        self._known_group(group)
        self._writable().clear_group_hours(group)

    def add_day_rule(self, rule: DayRule, by: str) -> DayRule:
        self._known_group(rule.group)
        return self._writable().add_day_rule(rule, by)

    def delete_day_rule(self, rule_id: int) -> None:
        if not self._writable().delete_day_rule(rule_id):
            raise NotFound("holiday", str(rule_id))

    def add_shift(self, username: str, day: date, start: time, end: time, by: str) -> Shift:
        """An active account's shift; its groups are the account's skill groups."""
        store = self._writable()
        member = next((m for m in store.staff() if m.username == username), None)
        if member is None:
            raise NotAllowed(UNKNOWN_AGENT, f"no active staff account '{username[:32]}'")
        shift_id = store.add_shift(username, day, start, end, by)
        begin, finish = span_of(day, start, end)
        return Shift(username, self.config.groups_of(member.skill_groups, member.department), begin, finish, shift_id)

    def delete_shift(self, shift_id: int) -> None:
        if not self._writable().delete_shift(shift_id):
            raise NotFound("shift", str(shift_id))

    def agents(self) -> list[tuple[str, str, frozenset[str]]]:
        """(username, name, skill groups) of the active accounts that can be put on shifts."""
        if self.store is None:
            return []
        return [(m.username, m.name, self.config.groups_of(m.skill_groups, m.department)) for m in self.store.staff()]


def desk_schedules(config: HandoffConfig, engine: Engine, clock: Clock) -> Schedules:
    """The desk's: handoff.yml with the overrides and shifts kept in its database."""
    return Schedules(config, ScheduleStore(engine, clock), clock)
