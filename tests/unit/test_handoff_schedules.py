"""When a skill group is at work: hours per group, holidays, overnight spans and shifts (排班), on pinned CST dates.

2026-11-20 is a Friday, 2026-11-21 a Saturday, 2026-11-23 a Monday; 2027-01-01 (元旦) a Friday."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from handoff.config import HandoffConfigError, load_config, parse_config
from handoff.queueing import Overflow
from handoff.schedule_store import ScheduleStore
from handoff.schedules import Schedules
from handoff.timetable import DayRule, Hours, Shift, Timetable, when_text
from service.clock import fixed_clock
from service.db import make_engine
from service.migrate import upgrade
from service.tickets.schema import staff

EVERY_DAY = Hours(time(9), time(22))
WEEKDAYS = Hours(time(9), time(18), frozenset({1, 2, 3, 4, 5}))
NIGHT = Hours(time(20), time(2))  # overnight
TABLE = Timetable(EVERY_DAY, {"技术": WEEKDAYS, "夜班": NIGHT},
                  (DayRule(date(2027, 1, 1), None, False, time(10), time(18), "元旦"),
                   DayRule(date(2027, 1, 1), "投诉", True, note="投诉组元旦休息")))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_group_without_hours_keeps_the_default() -> None:
    assert TABLE.is_open("售后服务", at("2026-11-21 09:00")) and TABLE.is_open("售后服务", at("2026-11-21 21:59"))
    assert not TABLE.is_open("售后服务", at("2026-11-21 22:00"))
    assert TABLE.back_at("售后服务", at("2026-11-21 23:30")) == at("2026-11-22 09:00")
    assert TABLE.back_at("售后服务", at("2026-11-21 07:00")) == at("2026-11-21 09:00")
    assert TABLE.closed_at("售后服务", at("2026-11-21 23:30")) == at("2026-11-21 22:00")
    assert TABLE.closed_at("售后服务", at("2026-11-21 07:00")) is None  # it has not worked yet today


def test_weekday_hours_skip_the_weekend() -> None:
    assert TABLE.is_open("技术", at("2026-11-20 17:59")) and not TABLE.is_open("技术", at("2026-11-20 18:00"))
    assert not TABLE.is_open("技术", at("2026-11-21 10:00"))  # Saturday
    assert TABLE.back_at("技术", at("2026-11-20 18:30")) == at("2026-11-23 09:00")  # Friday evening → Monday
    status = TABLE.status("技术", at("2026-11-21 10:00"))
    assert (status.open, status.hours, status.back_at, status.closed_at) == (
        False, "周一至周五 09:00–18:00", at("2026-11-23 09:00"), None)


def test_an_overnight_group_is_open_past_midnight() -> None:
    assert TABLE.is_open("夜班", at("2026-11-21 23:00")) and TABLE.is_open("夜班", at("2026-11-22 01:59"))
    assert not TABLE.is_open("夜班", at("2026-11-22 02:00"))
    assert TABLE.closed_at("夜班", at("2026-11-22 03:00")) == at("2026-11-22 02:00")
    assert TABLE.back_at("夜班", at("2026-11-22 03:00")) == at("2026-11-22 20:00")
    assert NIGHT.describe() == "每天 20:00–次日 02:00"


def test_a_holiday_has_its_own_hours_and_a_group_may_be_closed() -> None:
    assert not TABLE.is_open("售后服务", at("2027-01-01 09:30"))  # 元旦 opens at 10:00
    assert TABLE.back_at("售后服务", at("2027-01-01 09:30")) == at("2027-01-01 10:00")
    assert not TABLE.is_open("售后服务", at("2027-01-01 18:30"))
    assert not TABLE.is_open("投诉", at("2027-01-01 12:00"))  # its own rule beats the one for all groups
    assert TABLE.back_at("投诉", at("2027-01-01 12:00")) == at("2027-01-02 09:00")
    assert TABLE.closed_at("投诉", at("2027-01-01 12:00")) is None  # closed all day: it did not stop "today"


def test_a_shift_counts_as_the_group_being_at_work() -> None:
    evening = Shift("agent1", frozenset({"技术", "售后服务"}), at("2026-11-21 18:00"), at("2026-11-22 00:00"))
    table = Timetable(TABLE.default, TABLE.groups, TABLE.rules, (evening,))
    assert table.is_open("技术", at("2026-11-21 19:00"))  # a Saturday, but agent1 is on duty
    assert table.is_open("售后服务", at("2026-11-21 23:00"))  # past the group's 22:00
    assert not table.is_open("物流", at("2026-11-21 23:00"))
    assert table.back_at("技术", at("2026-11-21 10:00")) == at("2026-11-21 18:00")


def test_when_text_is_relative_to_now() -> None:
    now = at("2026-11-21 23:30")
    assert when_text(at("2026-11-21 23:45"), now) == "今天 23:45"
    assert when_text(at("2026-11-22 09:00"), now) == "明天 09:00"
    assert when_text(at("2026-11-23 09:00"), now) == "后天 09:00"
    assert when_text(at("2026-11-26 09:00"), now) == "11月26日（周四） 09:00"


def test_nothing_scheduled_within_the_horizon_is_none() -> None:
    closed = Timetable(Hours(time(9), time(18), frozenset({1})),
                       rules=tuple(DayRule(date(2026, 11, 23) + timedelta(weeks=n)) for n in range(6)))
    assert closed.back_at("售后服务", at("2026-11-21 10:00")) is None


def test_handoff_yml_hours_holidays_and_overflow() -> None:
    config = load_config()
    assert config.timetable().hours_of("技术") == WEEKDAYS
    assert config.timetable().hours_of("物流") == EVERY_DAY  # names none: working_hours
    assert config.overflow["售前咨询"] == Overflow("售后服务", 120)
    assert any(r.day == date(2027, 1, 1) for r in config.holidays)


@pytest.mark.parametrize("extra, key", [
    ({"group_hours": {"没有": {"start": "09:00", "end": "18:00"}}}, "group_hours"),
    ({"group_hours": {"技术": {"start": "9", "end": "18:00"}}}, "group_hours.技术.start"),
    ({"group_hours": {"技术": {"start": "09:00", "end": "18:00", "days": [0]}}}, "days"),
    ({"holidays": [{"date": "2027-13-01"}]}, "holidays[0].date"),
    ({"overflow": {"技术": {"to": "技术", "after_seconds": 60}}}, "overflow.技术.to"),
    ({"overflow": {"技术": {"to": "售后服务", "after_seconds": "soon"}}}, "after_seconds"),
])
def test_handoff_yml_mistakes_name_the_key(extra: dict[str, object], key: str) -> None:
    document = {"groups": {"售后服务": ["return_request"], "技术": ["repair_request"]}, "default_group": "售后服务",
                **extra}
    with pytest.raises(HandoffConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_config(document)


# --- the desk's overrides, in its database ----------------------------------------------------------

@pytest.fixture
def schedules(tmp_path: Path) -> Schedules:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(staff).values(username="agent1", display_name="小王", role="坐席", department="售后技术",
                                          password_hash="x", active=True, skill_groups="", capacity=3))
    return Schedules(load_config(), ScheduleStore(engine, fixed_clock(at("2026-11-20 12:00"))))


def test_desk_overrides_and_shifts_change_the_answers(schedules: Schedules) -> None:
    saturday = at("2026-11-21 10:00")
    assert not schedules.is_open("技术", saturday)
    schedules.add_shift("agent1", date(2026, 11, 21), time(9), time(13), "supervisor")
    assert schedules.is_open("技术", saturday)  # agent1 (售后技术: 技术, 售后服务) is on shift
    schedules.set_group_hours("物流", Hours(time(8), time(20)), "supervisor")
    assert schedules.group_hours()["物流"] == (Hours(time(8), time(20)), "desk")
    assert schedules.back_at("物流", at("2026-11-21 07:00")) == at("2026-11-21 08:00")
    schedules.clear_group_hours("物流")
    assert schedules.group_hours()["物流"] == (EVERY_DAY, "working_hours")
    rule = schedules.add_day_rule(DayRule(date(2026, 11, 22), "售后服务"), "supervisor")
    assert not schedules.is_open("售后服务", at("2026-11-22 12:00"))
    assert schedules.status("售后服务", at("2026-11-22 12:00")).back_at == at("2026-11-23 09:00")
    schedules.delete_day_rule(rule.id or 0)
    assert schedules.is_open("售后服务", at("2026-11-22 12:00"))


def test_only_active_accounts_go_on_shifts(schedules: Schedules) -> None:
    from service.errors import NotAllowed, NotFound

    with pytest.raises(NotAllowed, match="nobody"):
        schedules.add_shift("nobody", date(2026, 11, 21), time(9), time(13), "supervisor")
    with pytest.raises(NotFound):
        schedules.delete_shift(999)
    with pytest.raises(NotFound):
        schedules.set_group_hours("没有", EVERY_DAY, "supervisor")


def test_without_a_database_the_schedules_are_handoff_yml_s() -> None:
    from service.errors import NotAllowed

    plain = Schedules(load_config())
    assert not plain.editable and plain.shifts(date(2026, 11, 21), date(2026, 11, 28)) == []
    with pytest.raises(NotAllowed):
        plain.add_day_rule(DayRule(date(2026, 11, 22)), "supervisor")


def test_migration_0009_matches_the_schema_and_downgrades(tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    import handoff.schedule_schema  # noqa: F401  (registers the tables on the shared metadata)
    from service.migrate import alembic_config
    from service.tickets.schema import metadata

    tables = {"handoff_group_hours", "handoff_day_rules", "handoff_shifts"}
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert tables <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if any(t in repr(d) for t in tables)] == []
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0008")
        conn.commit()
    assert not tables & set(inspect(engine).get_table_names())
    engine.dispose()
