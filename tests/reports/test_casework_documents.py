"""The casework figures in the work summary's documents: a March with concern cases, group
activities, plan reviews and follow-ups, notes to families and aid under two programmes (one
named by its SupportRecorded, one from before events carried the name), against a February
with a little of each. DOCX, XLSX and PDF each print them beside February's, by township,
and their breakdowns; the expected numbers are counted here from what the test delivers."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path
from typing import AsyncIterator

import pytest_asyncio
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from shared.contracts import (
    ActivityHeld, ChildRegistered, ConcernRaised, ConcernStateChanged, DutyFulfilled, DutyScheduled, FamilyNoteSent,
    SupportRecorded,
)
from services.reports.owner_names import NamesUnavailable
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place, start_harness

MARCH = {"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-03-31"}
FEB, MAR = (date(2024, 2, 1), date(2024, 2, 29)), (date(2024, 3, 1), date(2024, 3, 31))
NAMED = "2024年春季学期生活补助"

# (township, raised on, [(state, changed on)]): the states as known on 31 March.
CASES = [(TOWNSHIP_A, date(2024, 2, 10), [("acknowledged", date(2024, 2, 11)), ("closed", date(2024, 2, 20))]),
         (TOWNSHIP_A, date(2024, 3, 3), [("referred", date(2024, 3, 4)), ("closed", date(2024, 3, 15))]),
         (TOWNSHIP_A, date(2024, 3, 5), [("referred", date(2024, 3, 6))]),
         (TOWNSHIP_B, date(2024, 3, 8), [])]
# (township, type, held on, registered children, family members)
ACTIVITIES = [(TOWNSHIP_A, "safety_education", date(2024, 3, 4), 30, 5),
              (TOWNSHIP_B, "guardian_school", date(2024, 3, 12), 10, 0),
              (TOWNSHIP_A, "safety_education", date(2024, 2, 15), 20, 0)]
# (township, kind, due on, fulfilled on or None)
DUTIES = [(TOWNSHIP_A, "plan_review", date(2024, 3, 20), date(2024, 3, 19)),
          (TOWNSHIP_B, "plan_review", date(2024, 3, 28), None),
          (TOWNSHIP_A, "follow_up", date(2024, 3, 10), date(2024, 3, 12)),
          (TOWNSHIP_A, "follow_up", date(2024, 2, 20), date(2024, 2, 19))]
NOTES = [(TOWNSHIP_A, date(2024, 3, 2)), (TOWNSHIP_A, date(2024, 3, 20)), (TOWNSHIP_B, date(2024, 3, 25)),
         (TOWNSHIP_B, date(2024, 2, 14))]


def _in(day: date, period: tuple[date, date]) -> bool:
    return period[0] <= day <= period[1]


def _state_at_end(states: list[tuple[str, date]], end: date) -> str:
    known = [state for state, day in states if day <= end]
    return known[-1] if known else "raised"


def _expected(aid: list[tuple[str, str, int, date, str | None]]) -> dict[str, dict[str, tuple]]:
    """Each figure as (March, February) in total and by township, from the lists above."""
    def figures(period: tuple[date, date], township: str | None) -> dict[str, object]:
        where = (lambda t: township is None or t == township)  # noqa: E731
        end = period[1]
        given = [(child, fen) for child, t, fen, day, _ in aid if where(t) and _in(day, period)]
        due = [(kind, done) for t, kind, day, done in DUTIES if where(t) and _in(day, period)]
        return {
            "cases_open": sum(1 for t, raised, states in CASES
                              if where(t) and raised <= end and _state_at_end(states, end) != "closed"),
            "cases_closed": sum(1 for t, _, states in CASES if where(t)
                                and any(state == "closed" and _in(day, period) for state, day in states)),
            "activities_held": sum(1 for t, _, day, _, _ in ACTIVITIES if where(t) and _in(day, period)),
            "activity_attendance": sum(n + f for t, _, day, n, f in ACTIVITIES if where(t) and _in(day, period)),
            "plan_reviews_due": sum(1 for kind, _ in due if kind == "plan_review"),
            "plan_reviews_on_time": sum(1 for t, kind, day, done in DUTIES if where(t) and _in(day, period)
                                        and kind == "plan_review" and done is not None and done <= day),
            "follow_ups_due": sum(1 for kind, _ in due if kind == "follow_up"),
            "follow_ups_on_time": sum(1 for t, kind, day, done in DUTIES if where(t) and _in(day, period)
                                      and kind == "follow_up" and done is not None and done <= day),
            "family_notes": sum(1 for t, day in NOTES if where(t) and _in(day, period)),
            "aid_children": len({child for child, _ in given}),
            "aid_amount": sum(fen for _, fen in given) / 100,
        }
    return {"total": {"march": figures(MAR, None), "february": figures(FEB, None)},
            TOWNSHIP_A: {"march": figures(MAR, TOWNSHIP_A)}, TOWNSHIP_B: {"march": figures(MAR, TOWNSHIP_B)}}


class _Visits:
    """Visits as the county named its activity types: one renamed, the other left out (its
    default name stands); the other owners out of reach."""

    async def activity_types(self, county_code: str) -> dict[str, str]:
        return {"safety_education": "平安校园教育"}

    async def children(self, *args: object) -> dict:
        raise NamesUnavailable("not here")

    caregivers = schools = programmes = children


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def reports(infra) -> AsyncIterator[Harness]:
    async for harness in start_harness(infra, owner_names=_Visits()):  # type: ignore[arg-type]
        yield harness


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def told(reports: Harness) -> dict:
    children = {TOWNSHIP_A: uuid.uuid4(), TOWNSHIP_B: uuid.uuid4()}
    for township, child in children.items():
        await reports.deliver(ChildRegistered(child_id=child, jurisdiction=place(township), record_version=1),
                              at(date(2024, 1, 5)))
    for township, raised, states in CASES:
        concern = uuid.uuid4()
        await reports.deliver(ConcernRaised(child_id=children[township], concern_id=concern, contact_id=uuid.uuid4(),
                                            severity="high", mandatory_report=False, raised_at=at(raised),
                                            jurisdiction=place(township)), at(raised))
        for state, day in states:
            await reports.deliver(ConcernStateChanged(child_id=children[township], concern_id=concern, state=state,
                                                      changed_at=at(day, 11), mandatory_report=False,
                                                      jurisdiction=place(township)), at(day, 12))
    for township, kind, day, registered, family in ACTIVITIES:
        await reports.deliver(ActivityHeld(activity_id=uuid.uuid4(), activity_type=kind, held_on=day,
                                           jurisdiction=place(township), registered_children=registered,
                                           family_members=family), at(day))
    for township, kind, due, done in DUTIES:
        facts = dict(child_id=children[township], duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(), duty_kind=kind,
                     due_on=due, jurisdiction=place(township))
        await reports.deliver(DutyScheduled(**facts, period_start=due.replace(day=1)), at(due.replace(day=1), 1))
        if done is not None:
            await reports.deliver(DutyFulfilled(**facts, contact_id=uuid.uuid4(), fulfilled_at=at(done)), at(done))
    for township, day in NOTES:
        await reports.deliver(FamilyNoteSent(letter_id=uuid.uuid4(), notification_id=uuid.uuid4(),
                                             child_id=children[township], caregiver_id=uuid.uuid4(),
                                             member_kind="parent", jurisdiction=place(township), sent_at=at(day, 8)),
                              at(day, 8))
    named, unnamed = uuid.uuid4(), uuid.uuid4()
    # (child, township, fen, given on, programme name as the event carried it)
    aid = [(children[TOWNSHIP_A], TOWNSHIP_A, 50000, date(2024, 3, 6), NAMED),
           (children[TOWNSHIP_B], TOWNSHIP_B, 50000, date(2024, 3, 6), NAMED),
           (children[TOWNSHIP_A], TOWNSHIP_A, 8000, date(2024, 3, 10), None),
           (children[TOWNSHIP_A], TOWNSHIP_A, 30000, date(2024, 2, 10), NAMED)]
    for child, township, fen, day, name in aid:
        await reports.deliver(SupportRecorded(child_id=child, support_id=uuid.uuid4(), kind="financial_aid", amount_fen=fen,
                                              given_on=day, jurisdiction=place(township),
                                              programme_id=named if name else unnamed, programme_name=name), at(day))
    response = await reports.summary(**MARCH, format="json")
    assert response.status_code == 200, response.text
    return {"reports": reports, "named": named, "unnamed": unnamed, "aid": aid, "expected": _expected(aid),
            "body": response.json()}


async def _document(told: dict, format: str) -> bytes:
    response = await told["reports"].summary(**MARCH, format=format)
    assert response.status_code == 200, response.text
    return response.content


def _money(value: float) -> str:
    return f"{value:.2f}元"


def _printed(key: str, value: object) -> str:
    return _money(value) if key == "aid_amount" else str(value)  # type: ignore[arg-type]


def _change(key: str, now: object, before: object) -> str:
    return f"{now - before:+.2f}元" if key == "aid_amount" else f"{now - before:+d}"  # type: ignore[operator]


async def test_the_json_has_the_casework_figures_and_the_programmes_name(told: dict) -> None:
    body, expected = told["body"], told["expected"]
    figures = {f["key"]: (f["value"], f["previous"]) for f in body["figures"]}
    for key, value in expected["total"]["march"].items():
        assert figures[key] == (value, expected["total"]["february"][key]), key
    by_township = {row["township_code"]: row["figures"] for row in body["by_township"]}
    for township in (TOWNSHIP_A, TOWNSHIP_B):
        assert {key: by_township[township][key] for key in expected[township]["march"]} == expected[township]["march"]
    march_aid = [row for row in told["aid"] if _in(row[3], MAR)]
    assert body["aid_by_programme"] == [
        {"programme_id": str(told["named"]), "programme_name": NAMED, "children": 2, "records": 2,
         "amount_fen": sum(fen for _, _, fen, _, name in march_aid if name)},
        {"programme_id": str(told["unnamed"]), "programme_name": None, "children": 1, "records": 1,
         "amount_fen": sum(fen for _, _, fen, _, name in march_aid if not name)}]
    assert body["activity_type_names"] == {"guardian_school": "家长学校", "safety_education": "平安校园教育"}


async def test_the_word_document_prints_the_casework(told: dict) -> None:
    document = Document(io.BytesIO(await _document(told, "docx")))
    expected = told["expected"]
    march, february = expected["total"]["march"], expected["total"]["february"]
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert (f"截至期末在办个案{march['cases_open']}个，期内结案{march['cases_closed']}个"
            f"（较上期{_change('cases_closed', march['cases_closed'], february['cases_closed'])}）") in text
    assert f"金额{_money(march['aid_amount'])}" in text
    figures, _, casework, cases, activities, duties, aid = document.tables
    rows = {row.cells[0].text: [cell.text for cell in row.cells] for row in figures.rows}
    labels = {f["key"]: f["label"] for f in told["body"]["figures"]}
    for key, value in march.items():
        assert rows[labels[key]][1:4] == [_printed(key, value), _printed(key, february[key]),
                                         _change(key, value, february[key])], key
        assert rows[labels[key]][4]  # its definition
    by_township = {row.cells[0].text: [cell.text for cell in row.cells] for row in casework.rows}
    header = by_township["乡镇"]
    for township in (TOWNSHIP_A, TOWNSHIP_B):
        for key, value in expected[township]["march"].items():
            assert by_township[township][header.index(labels[key])] == _printed(key, value), (township, key)
    states = {row.cells[0].text: row.cells[1].text for row in cases.rows}
    assert states == {"办理状态": "个案数", "已结案": "2", "已转介": "1", "已登记待受理": "1"}
    assert [[cell.text for cell in row.cells] for row in activities.rows][1:] == [
        ["家长学校", "1", "10"], ["平安校园教育", "1", "35"]]  # the default's name, the county's
    assert [[cell.text for cell in row.cells] for row in duties.rows][1:] == [
        ["帮扶计划复核", "2", "1", "0", "1"], ["个案跟进回访", "1", "0", "1", "0"]]
    assert [[cell.text for cell in row.cells] for row in aid.rows][1:] == [
        [NAMED, "2", "2", "1000.00"], [f"资助项目 {str(told['unnamed'])[:8]}", "1", "1", "80.00"]]


async def test_the_workbook_prints_the_casework(told: dict) -> None:
    book = load_workbook(io.BytesIO(await _document(told, "xlsx")))
    assert book.sheetnames == ["主要指标", "分乡镇", "分乡镇个案", "个案与资助明细"]
    expected = told["expected"]
    march, february = expected["total"]["march"], expected["total"]["february"]
    labels = {f["key"]: f["label"] for f in told["body"]["figures"]}
    figures = {row[0]: row[1:5] for row in book["主要指标"].iter_rows(min_row=5, values_only=True)}
    for key, value in march.items():
        now, before, change, definition = figures[labels[key]]
        assert (now, before) == (value, february[key]) and change == round(value - february[key], 4), key
        assert definition
    rows = list(book["分乡镇个案"].iter_rows(values_only=True))
    for row in rows[1:]:
        values = dict(zip(rows[0][1:], row[1:]))
        assert {key: values[labels[key]] for key in expected[row[0]]["march"]} == expected[row[0]]["march"], row[0]
    detail = list(book["个案与资助明细"].iter_rows(values_only=True))
    assert (NAMED, 2, 2, 1000) in [row[:4] for row in detail]
    assert (f"资助项目 {str(told['unnamed'])[:8]}", 1, 1, 80) in [row[:4] for row in detail]
    assert ("帮扶计划复核", 2, 1, 0, 1) in [row[:5] for row in detail]
    assert ("已结案", 2) in [row[:2] for row in detail]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_the_pdf_prints_the_casework(told: dict) -> None:
    text = _flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(await _document(told, "pdf"))).pages))
    march, february = told["expected"]["total"]["march"], told["expected"]["total"]["february"]
    assert f"截至期末在办个案{march['cases_open']}个，期内结案{march['cases_closed']}个" in text
    assert f"期内开展集体活动{march['activities_held']}场" in text and f"参与{march['activity_attendance']}人次" in text
    notes = march["family_notes"], february["family_notes"]
    assert f"家书短信{notes[0]}条（较上期{_change('family_notes', *notes)}）" in text
    # The figures' table: label, March, February, change, in that order.
    assert (f"资助金额{_money(march['aid_amount'])}{_money(february['aid_amount'])}"
            f"{_change('aid_amount', march['aid_amount'], february['aid_amount'])}") in text
    assert "附表三：分乡镇个案、活动与资助" in text and "附表四：个案、活动、计划与资助明细" in text
    assert f"{NAMED}221000.00" in text and f"资助项目{str(told['unnamed'])[:8]}1180.00" in text
    assert "帮扶计划复核2101" in text and "个案跟进回访1010" in text
    assert "家长学校110" in text and "平安校园教育135" in text


async def test_libreoffice_prints_the_casework_of_each_document(told: dict, tmp_path: Path) -> None:
    """Headless conversion to PDF: the casework tables survive a county's office suite."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (Debian's libreoffice-writer-nogui, libreoffice-calc-nogui) is needed"
    for format in ("docx", "xlsx"):
        source = tmp_path / f"summary.{format}"
        source.write_bytes(await _document(told, format))
        result = subprocess.run(
            [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--convert-to", "pdf",
             "--outdir", str(tmp_path / format), str(source)], capture_output=True, timeout=180)
        converted = tmp_path / format / "summary.pdf"
        assert result.returncode == 0 and converted.exists(), result.stderr.decode(errors="replace")
        text = _flat("".join(page.extract_text() for page in PdfReader(converted).pages))
        assert NAMED in text and "在办个案" in text and "帮扶计划复核" in text, (format, text[:2000])
