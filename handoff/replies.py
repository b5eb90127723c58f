"""What the bot says when no agent can take the customer, decided from the desk's answer (pure; the texts are
domain.yml responses, this module picks one and its values).

Off hours it names the group's hours and when the group is back; in working hours with nobody of the group at
work, it says everyone is busy; either way the request became a ticket, and a complaint (or an upset customer)
hears an apology first unless the bot already apologised this turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handoff.timetable import hhmm, when_text

APOLOGY = "utter_handoff_apology"
OFF_HOURS = "utter_handoff_off_hours"  # stopped earlier today: "今天 22:00 已经下班了，明天 09:00 回来"
OFF_HOURS_LATER = "utter_handoff_off_hours_later"  # not at work yet today, or a day off
OFF_HOURS_BACK = "utter_handoff_off_hours_back"  # the desk did not say the hours
OFF_HOURS_UNSCHEDULED = "utter_handoff_off_hours_unscheduled"  # nothing scheduled within the horizon
BUSY = "utter_handoff_busy"  # working hours, nobody of the group free
NO_AGENT = "utter_handoff_no_agent"  # the desk could not be asked
APOLOGETIC_REASONS = frozenset({"complaint", "angry"})


@dataclass(frozen=True)
class Reply:
    response: str
    values: dict[str, Any] = field(default_factory=dict)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)  # the desk sends naive CST (or CST with its offset)


def team_of(group: Any) -> str:
    return f"{group}组" if isinstance(group, str) and group else "人工客服"


def unavailable_replies(answer: Mapping[str, Any], reason: str, ticket: Mapping[str, Any], now: datetime,
                        apologised: bool = False) -> list[Reply]:
    """The messages for a desk answer of status unavailable (or none, when the desk was down), in order."""
    replies = [Reply(APOLOGY)] if reason in APOLOGETIC_REASONS and not apologised else []
    team = team_of(answer.get("group"))
    values = {**ticket, "team": team, "group": str(answer.get("group") or ""), "hours": str(answer.get("hours") or "")}
    kind = answer.get("unavailable")
    if kind == "off_hours":
        back, closed = _moment(answer.get("next_contact")), _moment(answer.get("closed_at"))
        if back is None:
            return [*replies, Reply(OFF_HOURS_UNSCHEDULED, values)]
        values.update(back_at=when_text(back, now), next_contact=back.strftime("%Y-%m-%d %H:%M"))
        if not values["hours"]:
            return [*replies, Reply(OFF_HOURS_BACK, values)]
        if closed is not None and closed.date() == now.date():
            return [*replies, Reply(OFF_HOURS, {**values, "closed_at": hhmm(closed.time())})]
        return [*replies, Reply(OFF_HOURS_LATER, values)]
    if kind == "no_agent":
        return [*replies, Reply(BUSY, values)]
    return [*replies, Reply(NO_AGENT, values)]
