"""The work summary as a workbook: the figures with definitions, the townships' table and
native Excel charts drawn from the cells (so a county can restyle them), the casework
figures by township and their breakdowns (cases, activities, plans, aid by programme)."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from services.reports.wording import (
    CASEWORK_KEYS, TABLE_KEYS, casework_tables, figures, period_line, title, township_text,
)


def _cell(value: Any) -> Any:
    return "" if value is None else value


def render(body: dict[str, Any], county_name: str) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0.0%"})
    money = book.add_format({"num_format": "0.00"})
    heading = book.add_format({"bold": True, "font_size": 14})

    sheet = book.add_worksheet("主要指标")
    sheet.write(0, 0, title(body, county_name), heading)
    sheet.write(1, 0, period_line(body))
    for column, text in enumerate(("指标", "本期", "上期", "变化", "口径")):
        sheet.write(3, column, text, bold)
    for row, figure in enumerate(body["figures"], start=4):
        style = {"rate": percent, "amount": money}.get(figure["kind"])
        sheet.write(row, 0, figure["label"])
        for column, key in ((1, "value"), (2, "previous"), (3, "change")):
            sheet.write(row, column, _cell(figure[key]), style)
        sheet.write(row, 4, figure["definition"])
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 3, 10)
    sheet.set_column(4, 4, 60)

    by_key = figures(body)
    towns = book.add_worksheet("分乡镇")
    towns.write(0, 0, "乡镇", bold)
    for column, key in enumerate(TABLE_KEYS, start=1):
        towns.write(0, column, by_key[key]["label"], bold)
    for row, township in enumerate(body["by_township"], start=1):
        towns.write_string(row, 0, township_text(township))
        for column, key in enumerate(TABLE_KEYS, start=1):
            towns.write(row, column, _cell(township["figures"][key]),
                        percent if by_key[key]["kind"] == "rate" else None)
    towns.set_column(0, 0, 16)
    last = len(body["by_township"])
    if last:
        chart = book.add_chart({"type": "column"})
        for key in ("home_visits", "talks", "parent_calls"):
            column = TABLE_KEYS.index(key) + 1
            chart.add_series({"name": ["分乡镇", 0, column], "categories": ["分乡镇", 1, 0, last, 0],
                              "values": ["分乡镇", 1, column, last, column]})
        chart.set_title({"name": "分乡镇家访与联系"})
        towns.insert_chart(last + 3, 0, chart)
        coverage = book.add_chart({"type": "bar"})
        column = TABLE_KEYS.index("coverage") + 1
        coverage.add_series({"name": "帮扶覆盖面", "categories": ["分乡镇", 1, 0, last, 0],
                             "values": ["分乡镇", 1, column, last, column]})
        coverage.set_title({"name": "分乡镇帮扶覆盖面"})
        towns.insert_chart(last + 3, 8, coverage)
    _casework_sheets(book, body, bold, percent)
    book.close()
    return out.getvalue()


def _casework_sheets(book: Any, body: dict[str, Any], bold: Any, percent: Any) -> None:
    """The casework figures by township (their definitions are on 主要指标, beside their
    previous period), then their breakdowns for the scope, each under its definition."""
    by_key = figures(body)
    towns = book.add_worksheet("分乡镇个案")
    towns.write(0, 0, "乡镇", bold)
    for column, key in enumerate(CASEWORK_KEYS, start=1):
        towns.write(0, column, by_key[key]["label"], bold)
    for row, township in enumerate(body["by_township"], start=1):
        towns.write_string(row, 0, township_text(township))
        for column, key in enumerate(CASEWORK_KEYS, start=1):
            towns.write(row, column, _cell(township["figures"][key]),
                        percent if by_key[key]["kind"] == "rate" else None)
    towns.set_column(0, 0, 16)
    towns.set_column(1, len(CASEWORK_KEYS), 12)

    detail = book.add_worksheet("个案与资助明细")
    row = 0
    for heading, definition, columns, rows in casework_tables(body):
        detail.write(row, 0, heading, bold)
        detail.write(row + 1, 0, definition)
        for column, text in enumerate(columns):
            detail.write(row + 2, column, text, bold)
        row += 3
        for values in rows:
            for column, value in enumerate(values):
                detail.write(row, column, value)
            row += 1
        row += 1
    detail.set_column(0, 0, 24)
    detail.set_column(1, 4, 12)
