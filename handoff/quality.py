"""质检 (quality checks) of finished human chats: the rules of qa_rules.yml over a handoff's record and messages.

`evaluate` is pure: a session and its messages (handoff records: times, texts, intents) in, flags out. QualityChecks
runs it when a chat ends (the bridge's ended hook, added by the desk) and again over a date range (`recheck`, also
`python -m handoff.quality 2026-11-01 2026-11-30`), keeping what supervisors already reviewed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from handoff.qa_rules import QaRules, load_rules
from handoff.records import ENDED, HandoffRecords, Message, Session
from handoff.summary import one_line
from service.logs import log_event
from service.privacy import scrub

logger = logging.getLogger(__name__)

FIRST_REPLY_LATE = "first_reply_late"
FORBIDDEN_PHRASE = "forbidden_phrase"
CUSTOMER_ANGER = "customer_anger"
NO_SUMMARY = "no_summary"
RULES: dict[str, str] = {FIRST_REPLY_LATE: "首次回复超时", FORBIDDEN_PHRASE: "服务禁语", CUSTOMER_ANGER: "客户不满",
                         NO_SUMMARY: "未写服务小结"}
END_REASONS = {"agent_ended": "坐席结束", "customer_left": "客户离开"}
EXCERPT = 60


@dataclass(frozen=True)
class Flag:
    rule: str
    detail: str
    at: datetime


def excerpt(text: str) -> str:
    """A message as a flag quotes it: one line, phones, ID numbers, e-mails and addresses masked, shortened."""
    line = one_line(scrub(text))
    return line if len(line) <= EXCERPT else line[: EXCERPT - 1] + "…"


def _normalized(text: str) -> str:
    return text.replace("！", "!").replace("？", "?")


def first_reply(session: Session, messages: Sequence[Message], rules: QaRules) -> Flag | None:
    limit = rules.first_reply_seconds
    start = session.assigned_at
    if start is None:
        return None
    reply = next((m for m in messages if m.direction == "agent" and m.at >= start), None)
    if reply is not None:
        waited = int((reply.at - start).total_seconds())
        return Flag(FIRST_REPLY_LATE, f"首次回复用时 {waited} 秒（上限 {limit} 秒）", reply.at) if waited > limit else None
    if session.ended_at is not None and (session.ended_at - start).total_seconds() > limit:
        lasted = int((session.ended_at - start).total_seconds())
        return Flag(FIRST_REPLY_LATE, f"坐席未回复客户（接入后 {lasted} 秒会话结束，上限 {limit} 秒）",
                    start + timedelta(seconds=limit))
    return None


def forbidden(session: Session, messages: Sequence[Message], rules: QaRules) -> list[Flag]:
    flags = []
    said = [(m.text, m.at, "") for m in messages if m.direction == "agent"]
    if session.closing_summary and session.ended_at is not None:
        said.append((session.closing_summary, session.ended_at, "服务小结中"))
    for text, at, where in said:
        found = [phrase for phrase in rules.forbidden_phrases if phrase in text]
        if found:
            flags.append(Flag(FORBIDDEN_PHRASE, f"{where}用了服务禁语「{'」「'.join(found)}」：{excerpt(text)}", at))
    return flags


def anger_signal(message: Message, rules: QaRules) -> str | None:
    """Why a customer message reads as angry (the intent, a mark, a word), or None."""
    intent = (message.intent or "").split("/")[0]
    if intent and intent in rules.anger_intents:
        return f"意图 {intent}"
    text = _normalized(message.text)
    for sign in (*rules.anger_marks, *rules.anger_words):
        if sign in text:
            return f"「{sign}」"
    return None


def anger(messages: Sequence[Message], rules: QaRules) -> list[Flag]:
    """The customer's next message after an agent's reply, when it is angry (one flag per customer message)."""
    flags = []
    replied = False
    for message in messages:
        if message.direction == "agent":
            replied = True
        elif message.direction == "customer" and replied:
            replied = False
            why = anger_signal(message, rules)
            if why:
                flags.append(Flag(CUSTOMER_ANGER, f"坐席回复后客户不满（{why}）：{excerpt(message.text)}", message.at))
    return flags


def no_summary(session: Session, rules: QaRules) -> Flag | None:
    if not rules.summary_required or session.status != ENDED or session.ended_at is None:
        return None
    if (session.closing_summary or "").strip() or (session.end_reason or "") in rules.summary_except_end_reasons:
        return None
    why = END_REASONS.get(session.end_reason or "", session.end_reason or "")
    return Flag(NO_SUMMARY, f"会话结束（{why}）时没有服务小结" if why else "会话结束时没有服务小结", session.ended_at)


def evaluate(session: Session, messages: Sequence[Message], rules: QaRules) -> list[Flag]:
    """The flags of a finished chat an agent served (none for one that never reached an agent), in time order."""
    if session.assigned_at is None or not session.agent:
        return []
    flags = [first_reply(session, messages, rules), *forbidden(session, messages, rules), *anger(messages, rules),
             no_summary(session, rules)]
    return sorted((f for f in flags if f is not None), key=lambda f: f.at)


class FlagStore(Protocol):
    """Where flags are kept (handoff/quality_store.py's QualityStore)."""

    def replace(self, session_id: str, agent: str | None, flags: Sequence[Flag]) -> int:
        """The session's unreviewed flags become `flags` (less those already reviewed); how many are open now."""
        ...

    def ended_between(self, start: datetime, end: datetime) -> list[str]:
        """The ids of the chats that ended in [start, end)."""
        ...


class QualityChecks:
    """The checks against the records; flags stored in the store."""

    def __init__(self, records: HandoffRecords, store: FlagStore, rules: QaRules) -> None:
        self._records = records
        self._store = store
        self.rules = rules

    def check(self, session_id: str) -> int:
        """Evaluate one chat again; its unreviewed flags are replaced. How many flags it has open now."""
        session = self._records.get(session_id)
        if session.is_open:
            return 0
        flags = evaluate(session, self._records.messages(session.id), self.rules)
        opened = self._store.replace(session.id, session.agent, flags)
        if opened:
            log_event(logger, "quality_flagged", session=session.id, flags=opened)
        return opened

    def recheck(self, first_day: date, last_day: date) -> int:
        """Every chat that ended on those CST days (inclusive), checked again; how many chats."""
        ids = self._store.ended_between(datetime.combine(first_day, datetime.min.time()),
                                        datetime.combine(last_day + timedelta(days=1), datetime.min.time()))
        for session_id in ids:
            self.check(session_id)
        return len(ids)

    async def on_ended(self, session: Session) -> None:
        """The bridge's ended hook."""
        await asyncio.to_thread(self.check, session.id)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m handoff.quality FIRST_DAY LAST_DAY: check the chats that ended on those days again."""
    from handoff.quality_store import QualityStore
    from service.clock import Clock
    from service.db import make_engine
    from service.migrate import upgrade
    from service.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m handoff.quality", description=main.__doc__)
    parser.add_argument("first_day", type=date.fromisoformat, help="e.g. 2026-11-01 (CST)")
    parser.add_argument("last_day", type=date.fromisoformat, help="e.g. 2026-11-30 (CST), inclusive")
    args = parser.parse_args(argv)
    if args.last_day < args.first_day:
        parser.error("last_day is before first_day")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    clock = Clock(settings.business_date)
    checks = QualityChecks(HandoffRecords(engine, clock), QualityStore(engine, clock), load_rules())
    print(f"checked {checks.recheck(args.first_day, args.last_day)} chats")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
