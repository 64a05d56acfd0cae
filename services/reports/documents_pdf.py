"""The work summary as a PDF to print, laid out from HTML by WeasyPrint in Noto Sans CJK
(Debian's fonts-noto-cjk), with a bar chart drawn from the figures as SVG."""

from __future__ import annotations

from html import escape
from typing import Any

from services.reports.wording import (
    CASEWORK_KEYS, TABLE_KEYS, casework_tables, cell_text, change_text, figures, paragraphs, period_line, title,
    township_text, value_text,
)

_STYLE = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; font-size: 10.5pt; line-height: 1.6; }
h1 { text-align: center; font-size: 17pt; } h2 { font-size: 12pt; margin: 10pt 0 2pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; font-size: 9pt; table-layout: fixed; }
th, td { border: 0.5pt solid #444; padding: 2pt 4pt; } th { background: #eee; }
td.n { text-align: right; }
"""


def _chart(body: dict[str, Any]) -> str:
    """Home visits by township as horizontal bars (SVG, no JavaScript)."""
    rows = [(township_text(t), t["figures"]["home_visits"] or 0) for t in body["by_township"]]
    if not rows:
        return ""
    top = max(value for _, value in rows) or 1
    bars = []
    for index, (code, value) in enumerate(rows):
        y = index * 18
        width = 300 * value / top
        bars.append(f'<text x="0" y="{y + 12}" font-size="9">{escape(code)}</text>'
                    f'<rect x="90" y="{y + 2}" width="{width:.1f}" height="12" fill="#4472c4"/>'
                    f'<text x="{95 + width:.1f}" y="{y + 12}" font-size="9">{value}</text>')
    return (f'<h2>分乡镇家访次数</h2><svg xmlns="http://www.w3.org/2000/svg" width="440" '
            f'height="{len(rows) * 18 + 4}">{"".join(bars)}</svg>')


def _townships(body: dict[str, Any], heading: str, keys: tuple[str, ...]) -> list[str]:
    """A table of the figures `keys` by township (as the JSON's by_township gives them)."""
    by_key = figures(body)
    parts = [f"<h2>{escape(heading)}</h2><table><colgroup><col style='width:14%'></colgroup><tr><th>乡镇</th>"
             + "".join(f"<th>{escape(by_key[key]['label'])}</th>" for key in keys) + "</tr>"]
    for township in body["by_township"]:
        parts.append(f"<tr><td>{escape(township_text(township))}</td>" + "".join(
            f"<td class=n>{value_text(township['figures'][key], by_key[key]['kind'])}</td>" for key in keys)
            + "</tr>")
    parts.append("</table>")
    return parts


def html(body: dict[str, Any], county_name: str) -> str:
    parts = [f"<h1>{escape(title(body, county_name))}</h1><p>{escape(period_line(body))}</p>"]
    parts += [f"<h2>{escape(h)}</h2><p>{escape(p)}</p>" for h, p in paragraphs(body)]
    # Fixed column widths: the layout does not measure every cell's text twice to size them.
    parts.append("<h2>附表一：主要指标</h2><table><colgroup><col style='width:15%'><col style='width:9%'>"
                 "<col style='width:9%'><col style='width:13%'><col></colgroup>"
                 "<tr><th>指标</th><th>本期</th><th>上期</th><th>变化</th><th>口径</th></tr>")
    for f in body["figures"]:
        parts.append(f"<tr><td>{escape(f['label'])}</td><td class=n>{value_text(f['value'], f['kind'])}</td>"
                     f"<td class=n>{value_text(f['previous'], f['kind'])}</td>"
                     f"<td class=n>{escape(change_text(f['change'], f['kind']))}</td><td>{escape(f['definition'])}</td></tr>")
    parts.append("</table>")
    parts += _townships(body, "附表二：分乡镇情况", TABLE_KEYS)
    parts.append(_chart(body))
    parts += _townships(body, "附表三：分乡镇个案、活动与资助", CASEWORK_KEYS)
    parts.append("<h2>附表四：个案、活动、计划与资助明细</h2>")
    for heading, definition, columns, rows in casework_tables(body):
        parts.append(f"<p>{escape(heading)}（{escape(definition)}）</p><table><tr>"
                     + "".join(f"<th>{escape(column)}</th>" for column in columns) + "</tr>")
        for values in rows or [("无", *("" for _ in columns[1:]))]:
            parts.append("<tr>" + "".join(f"<td{' class=n' if index else ''}>{escape(cell_text(value))}</td>"
                                          for index, value in enumerate(values)) + "</tr>")
        parts.append("</table>")
    return f"<!doctype html><html lang=zh-CN><meta charset=utf-8><style>{_STYLE}</style><body>{''.join(parts)}</body></html>"


def render(body: dict[str, Any], county_name: str) -> bytes:
    from weasyprint import HTML  # heavy to import: only when a PDF is asked for

    return HTML(string=html(body, county_name)).write_pdf()
