"""A ledger as a workbook (XlsxWriter: one sheet, a title, the period, the columns' headings
frozen, filters on) and as a PDF to file (WeasyPrint, Noto Sans CJK, A4 landscape, the
headings repeated on every page), the same rows in both."""

from __future__ import annotations

import io
from html import escape
from typing import Any

import xlsxwriter

from services.reports.ledgers import Ledger

_STYLE = """
@page { size: A4 landscape; margin: 12mm 10mm; @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; font-size: 8.5pt; }
h1 { text-align: center; font-size: 15pt; margin: 0 0 4pt; } p { margin: 0 0 6pt; }
table { border-collapse: collapse; width: 100%; } thead { display: table-header-group; }
th, td { border: 0.5pt solid #444; padding: 1.5pt 3pt; vertical-align: top; } th { background: #eee; }
"""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def xlsx(ledger: Ledger, heading: str, period: str, items: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "border": 1, "bg_color": "#EEEEEE", "text_wrap": True})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    sheet = book.add_worksheet(ledger.title[:31])
    sheet.write(0, 0, heading, book.add_format({"bold": True, "font_size": 14}))
    sheet.write(1, 0, period)
    sheet.write(3, 0, "序号", bold)
    for column, (_, label) in enumerate(ledger.columns, start=1):
        sheet.write(3, column, label, bold)
    for row, item in enumerate(items, start=4):
        sheet.write_number(row, 0, row - 3, cell)
        for column, (key, _) in enumerate(ledger.columns, start=1):
            value = item.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(row, column, value, cell)
            else:
                sheet.write_string(row, column, _text(value), cell)
    sheet.freeze_panes(4, 0)
    sheet.autofilter(3, 0, 3 + len(items), len(ledger.columns))
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, len(ledger.columns), 14)
    sheet.repeat_rows(3)
    sheet.set_landscape()
    book.close()
    return out.getvalue()


def html(ledger: Ledger, heading: str, period: str, items: list[dict[str, Any]]) -> str:
    head = "<th>序号</th>" + "".join(f"<th>{escape(label)}</th>" for _, label in ledger.columns)
    rows = "".join(
        f"<tr><td>{number}</td>" + "".join(f"<td>{escape(_text(item.get(key)))}</td>" for key, _ in ledger.columns)
        + "</tr>" for number, item in enumerate(items, start=1))
    return (f"<!doctype html><html lang=zh-CN><meta charset=utf-8><style>{_STYLE}</style><body>"
            f"<h1>{escape(heading)}</h1><p>{escape(period)}（共{len(items)}条）</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></body></html>")


def pdf(ledger: Ledger, heading: str, period: str, items: list[dict[str, Any]]) -> bytes:
    from weasyprint import HTML  # heavy to import: only when a PDF is asked for

    return HTML(string=html(ledger, heading, period, items)).write_pdf()  # type: ignore[no-any-return]
