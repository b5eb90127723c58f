"""The report of a period: reads the tracker store and the desk's records once, computes every figure, lays out
the tables. `ReportService.summary("7d")` is what GET /api/reports/summary answers; `table()` what the CSV routes
export. The figures are defined in service/reports/__init__.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handoff.labels import INTENTS, REASONS
from service.clock import CST, Clock
from service.conversation_log import MAX_EVENTS, ConversationLog
from service.reports.conversations import ConversationFigures, read_conversations
from service.reports.csat import SOURCES, Csat, read_csat
from service.reports.event_store import ConversationEventStore, with_conversation_refs
from service.reports.handoffs import Durations, HandoffFigures, read_handoffs
from service.reports.periods import Period, period_for
from service.reports.records import PeriodRecords, ReportRecords
from service.reports.tables import COUNT, DAY, MOMENT, RATE, SCORE, TABLES, Column, Table
from service.reports.tickets import SlaCount, TicketFigures, read_tickets

TOP = 10
TRACKER_KINDS = ("user", "action", "slot")


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def iso(moment: datetime) -> str:
    return moment.replace(tzinfo=CST).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Figures:
    period: Period
    now: datetime
    conversations: ConversationFigures
    handoffs: HandoffFigures
    tickets: TicketFigures
    csat: list[Csat]
    truncated: bool

    @property
    def handed_off(self) -> set[str]:
        return self.conversations.senders & self.handoffs.senders

    @property
    def bot_only(self) -> set[str]:
        return self.conversations.senders - self.handoffs.senders - self.tickets.senders


def compute(events: list[Any], records: PeriodRecords, period: Period, now: datetime,
            events_truncated: bool = False) -> Figures:
    """Every figure of the period from its tracker events and records (pure)."""
    conversations = read_conversations(events, period)
    handoffs = read_handoffs(records.handoffs, period)
    return Figures(period, now, conversations, handoffs, read_tickets(records.tickets, period, now),
                   read_csat(conversations.bot_ratings, records.handoffs, records.ticket_ratings, period),
                   events_truncated or records.truncated)


def _durations(d: Durations) -> dict[str, Any]:
    return {"count": d.count, "average_s": d.average_s, "median_s": d.median_s}


def _sla(s: SlaCount) -> dict[str, Any]:
    return {"due": s.due, "hit": s.hit, "rate": s.rate}


def kpis(f: Figures) -> dict[str, Any]:
    c, t = f.conversations, f.tickets
    total = len(c.senders)
    return {
        "conversations": total, "bot_only": len(f.bot_only), "bot_only_rate": ratio(len(f.bot_only), total),
        "handoff_conversations": len(f.handed_off), "handoff_rate": ratio(len(f.handed_off), total),
        "handoffs": len(f.handoffs.queued), "abandoned": f.handoffs.abandoned, "timed_out": f.handoffs.timed_out,
        "customer_messages": c.customer_messages, "fallbacks": c.fallbacks,
        "fallback_rate": ratio(c.fallbacks, c.customer_messages),
        "wait": _durations(f.handoffs.wait), "first_response": _durations(f.handoffs.first_response),
        "handling": _durations(f.handoffs.handling),
        "csat": {s.source: {"label": SOURCES[s.source], "count": s.count, "average": s.average,
                            "satisfied_rate": s.satisfied_rate, "distribution": {str(k): v for k, v in s.distribution.items()}}
                 for s in f.csat},
        "tickets": {"opened": t.opened, "resolved": t.resolved, "closed": t.closed, "sla": _sla(t.sla)},
    }


def _kpi_table(f: Figures) -> Table:
    k = kpis(f)
    csat = {s.source: s for s in f.csat}
    rows: list[tuple[str, Any, str]] = [
        ("会话数", k["conversations"], "个"), ("机器人独立解决", k["bot_only"], "个"),
        ("机器人独立解决率", k["bot_only_rate"], "%"), ("转人工会话", k["handoff_conversations"], "个"),
        ("转人工率", k["handoff_rate"], "%"), ("转人工次数", k["handoffs"], "次"),
        ("客户消息数", k["customer_messages"], "条"), ("未识别消息", k["fallbacks"], "条"),
        ("未识别率", k["fallback_rate"], "%"), ("平均排队时长", k["wait"]["average_s"], "秒"),
        ("平均首次响应时长", k["first_response"]["average_s"], "秒"),
        ("首次响应时长中位数", k["first_response"]["median_s"], "秒"),
        ("平均处理时长", k["handling"]["average_s"], "秒"), ("处理时长中位数", k["handling"]["median_s"], "秒"),
        *((f"{SOURCES[s]}满意度平均分", csat[s].average, "分") for s in SOURCES),
        ("新建工单", k["tickets"]["opened"], "个"), ("已解决工单", k["tickets"]["resolved"], "个"),
        ("已关闭工单", k["tickets"]["closed"], "个"), ("SLA 达成率", k["tickets"]["sla"]["rate"], "%"),
    ]
    shown = [{"metric": name, "value": round(value * 100, 1) if unit == "%" and value is not None else value,
              "unit": unit} for name, value, unit in rows]
    return Table("kpis", TABLES["kpis"], (Column("metric", "指标"), Column("value", "数值", COUNT),
                                          Column("unit", "单位")), shown)


def _daily(f: Figures) -> Table:
    rows = []
    for day in f.period.days:
        key = day.isoformat()
        rows.append({"day": key, "conversations": len(f.conversations.by_day.get(day, ())),
                     "handoffs": f.handoffs.by_day.get(key, 0)})
    return Table("daily", TABLES["daily"], (Column("day", "日期", DAY), Column("conversations", "会话数", COUNT),
                                            Column("handoffs", "转人工次数", COUNT)), rows)


def _reasons(f: Figures) -> Table:
    total = sum(f.handoffs.reasons.values())
    rows = [{"reason": reason, "label": REASONS.get(reason, reason), "count": n, "share": ratio(n, total)}
            for reason, n in sorted(f.handoffs.reasons.items(), key=lambda item: (-item[1], item[0]))]
    return Table("handoff_reasons", TABLES["handoff_reasons"],
                 (Column("label", "转人工原因"), Column("reason", "原因代码"), Column("count", "次数", COUNT),
                  Column("share", "占比", RATE)), rows, empty="本期没有转人工")


def _csat(f: Figures) -> Table:
    columns = (Column("label", "评价对象"), Column("count", "评价数", COUNT), Column("average", "平均分", SCORE),
               *(Column(f"score_{n}", f"{n}分", COUNT) for n in range(1, 6)),
               Column("satisfied_rate", "满意率（4–5分）", RATE))
    rows = [{"source": s.source, "label": SOURCES[s.source], "count": s.count, "average": s.average,
             **{f"score_{n}": s.distribution[n] for n in range(1, 6)}, "satisfied_rate": s.satisfied_rate}
            for s in f.csat]
    return Table("csat", TABLES["csat"], columns, rows)


def _departments(f: Figures) -> Table:
    rows = [{"department": d.department, "opened": d.opened, "resolved": d.resolved, "closed": d.closed,
             "sla_due": d.sla.due, "sla_hit": d.sla.hit, "sla_rate": d.sla.rate} for d in f.tickets.departments]
    return Table("tickets_by_department", TABLES["tickets_by_department"],
                 (Column("department", "部门"), Column("opened", "新建", COUNT), Column("resolved", "已解决", COUNT),
                  Column("closed", "已关闭", COUNT), Column("sla_due", "到期工单", COUNT),
                  Column("sla_hit", "按时完成", COUNT), Column("sla_rate", "SLA 达成率", RATE)), rows,
                 empty="本期没有工单")


def _intents(f: Figures) -> Table:
    total = f.conversations.customer_messages
    top = sorted(f.conversations.intents.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    rows = [{"intent": name, "label": INTENTS.get(name.split("/")[0], name) + (f"：{name.split('/', 1)[1]}"
                                                                               if "/" in name else ""),
             "count": n, "share": ratio(n, total)} for name, n in top]
    return Table("top_intents", TABLES["top_intents"], (Column("label", "意图"), Column("intent", "意图名"),
                                                        Column("count", "消息数", COUNT), Column("share", "占比", RATE)),
                 rows, empty="本期没有客户消息")


def _misunderstood(f: Figures) -> Table:
    top = sorted(f.conversations.misunderstood.values(), key=lambda m: (-m.count, -m.last_at.timestamp(), m.text))[:TOP]
    rows = [{"text": m.text, "count": m.count, "last_at": iso(m.last_at)} for m in top]
    return Table("misunderstood", TABLES["misunderstood"], (Column("text", "客户原话（已脱敏）"),
                                                            Column("count", "次数", COUNT),
                                                            Column("last_at", "最近一次", MOMENT)), rows,
                 empty="本期没有未识别的消息")


BUILDERS = {"kpis": _kpi_table, "daily": _daily, "handoff_reasons": _reasons, "csat": _csat,
            "tickets_by_department": _departments, "top_intents": _intents, "misunderstood": _misunderstood}


def tables(f: Figures) -> list[Table]:
    return [build(f) for build in BUILDERS.values()]


def summary_view(f: Figures) -> dict[str, Any]:
    p = f.period
    return {
        "period": {"name": p.name, "label": p.label, "first_day": p.first_day.isoformat(),
                   "last_day": p.last_day.isoformat(), "days": [d.isoformat() for d in p.days]},
        "generated_at": iso(f.now), "truncated": f.truncated, "kpis": kpis(f),
        "tables": {t.name: t.view() for t in tables(f)},
    }


class ReportService:
    """Reads a period's data and computes its figures. `clock` is the desk's (maybe pinned to XIAOZHI_TODAY);
    `real_clock` tells the real date, for the tracker's real timestamps. With `fed` (REPORTS_FROM_EVENTS, scaled
    mode) the conversation figures come from the table the event consumer feeds, not from the tracker store."""

    def __init__(self, log: ConversationLog, records: ReportRecords, clock: Clock, real_clock: Clock | None = None,
                 max_events: int = MAX_EVENTS, fed: ConversationEventStore | None = None) -> None:
        self._log = log
        self._fed = fed
        self._records = records
        self._clock = clock
        self._real_clock = real_clock or Clock()
        self._max_events = max_events

    def figures(self, period_name: str) -> Figures:
        period = period_for(period_name, self._clock, self._real_clock)
        since, until = period.tracker_window
        source = self._log if self._fed is None else self._fed
        events = source.events(since=since, until=until, kinds=TRACKER_KINDS, limit=self._max_events)
        records = self._records.read(period.start, period.end)
        if self._fed is not None:  # the table knows conversations by their pseudonyms
            records = with_conversation_refs(records)
        return compute(events, records, period, self._clock.now(), len(events) >= self._max_events)

    def summary(self, period_name: str) -> dict[str, Any]:
        return summary_view(self.figures(period_name))

    def table(self, period_name: str, name: str) -> tuple[Table, Period]:
        figures = self.figures(period_name)
        return BUILDERS[name](figures), figures.period

