"""The report's tables as the console shows them and CSV exports them: named columns with a kind, plain rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT, COUNT, RATE, SECONDS, SCORE, MOMENT, DAY = "text", "count", "rate", "seconds", "score", "datetime", "date"
KINDS = (TEXT, COUNT, RATE, SECONDS, SCORE, MOMENT, DAY)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT  # rate: a fraction 0–1; seconds: a duration; score: 1–5 average


@dataclass(frozen=True)
class Table:
    name: str  # also the CSV file's name: /api/reports/<name>.csv
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    empty: str = "暂无数据"  # what the console says when there is no row

    def view(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "empty": self.empty,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
                "rows": self.rows}


# The tables, in the order the console shows them; the names are the CSV routes'.
TABLES: dict[str, str] = {
    "kpis": "核心指标",
    "daily": "每日会话",
    "handoff_reasons": "转人工原因",
    "csat": "满意度",
    "tickets_by_department": "各部门工单",
    "top_intents": "热门意图 Top 10",
    "misunderstood": "未识别消息 Top 10",
}
