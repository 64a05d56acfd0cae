"""The work summary as a Word document a county edits and stamps: title, period,
paragraphs quoting the figures, the figures' table with definitions, the townships' tables
(the main figures, then casework's), the casework breakdowns (cases by state, activities by
type, plan reviews and follow-ups, aid by programme)."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from services.reports.wording import (
    CASEWORK_KEYS, TABLE_KEYS, casework_tables, cell_text, change_text, figures, paragraphs, period_line, title,
    township_text, value_text,
)

_FONT = "SimSun"  # 宋体: what a county's documents are set in; Word substitutes where it is missing


def _set_east_asian_font(document: Any) -> None:
    style = document.styles["Normal"]
    style.font.name = _FONT
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), _FONT)


def _townships(document: Any, body: dict[str, Any], heading: str, keys: tuple[str, ...]) -> None:
    """A table of the figures `keys` by township (as the JSON's by_township gives them)."""
    document.add_heading(heading, level=2)
    by_key = figures(body)
    towns = document.add_table(rows=1, cols=len(keys) + 1)
    towns.style = "Table Grid"
    for cell, text in zip(towns.rows[0].cells, ("乡镇", *(by_key[key]["label"] for key in keys))):
        cell.text = text
    for township in body["by_township"]:
        cells = towns.add_row().cells
        cells[0].text = township_text(township)
        for cell, key in zip(cells[1:], keys):
            cell.text = value_text(township["figures"][key], by_key[key]["kind"])


def render(body: dict[str, Any], county_name: str) -> bytes:
    document = Document()
    _set_east_asian_font(document)
    heading = document.add_heading(title(body, county_name), level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(period_line(body))
    for section, text in paragraphs(body):
        document.add_heading(section, level=2)
        document.add_paragraph(text)

    document.add_heading("附表一：主要指标", level=2)
    table = document.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("指标", "本期", "上期", "变化", "口径")):
        cell.text = text
    for figure in body["figures"]:
        row = table.add_row().cells
        row[0].text = figure["label"]
        row[1].text = value_text(figure["value"], figure["kind"])
        row[2].text = value_text(figure["previous"], figure["kind"])
        row[3].text = change_text(figure["change"], figure["kind"])
        row[4].text = figure["definition"]

    _townships(document, body, "附表二：分乡镇情况", TABLE_KEYS)
    _townships(document, body, "附表三：分乡镇个案、活动与资助", CASEWORK_KEYS)
    document.add_heading("附表四：个案、活动、计划与资助明细", level=2)
    for heading, definition, columns, rows in casework_tables(body):
        document.add_paragraph(f"{heading}（{definition}）")
        table = document.add_table(rows=1, cols=len(columns))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, columns):
            cell.text = text
        for values in rows or [("无", *("" for _ in columns[1:]))]:
            for cell, value in zip(table.add_row().cells, values):
                cell.text = cell_text(value)
    document.add_paragraph("")
    document.add_paragraph("（单位盖章）                    年    月    日").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
