"""A report table as CSV for Excel: UTF-8 with a byte order mark (so Excel reads Chinese), a header of the
columns' Chinese labels, rates as percentages, durations in seconds."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from service.reports.tables import MOMENT, RATE, SCORE, SECONDS, Column, Table

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a cell Excel would run as a formula


def cell(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if column.kind == RATE and isinstance(value, (int, float)):
        return f"{value * 100:.1f}%"
    if column.kind in (SECONDS, SCORE) and isinstance(value, float):
        return f"{value:g}"
    if column.kind == MOMENT and isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text  # what a customer typed never runs in the supervisor's spreadsheet
    return text


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.label for c in table.columns])
    for row in table.rows:
        writer.writerow([cell(row.get(c.key), c) for c in table.columns])
    return (BOM + out.getvalue()).encode("utf-8")


def csv_filename(table: Table, period_name: str, last_day: date) -> str:
    """ASCII, so every browser keeps it: report-<table>-<period>-<day>.csv."""
    return f"report-{table.name}-{period_name}-{last_day.isoformat()}.csv"
