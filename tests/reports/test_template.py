"""County staff replace the summary's wording: placeholders checked, the template stored
for the county and used by the DOCX and the PDF (and the JSON's paragraphs)."""

from __future__ import annotations

import io

import pytest_asyncio
from docx import Document
from pypdf import PdfReader

from services.reports.summary_template import DEFAULT_SECTIONS
from tests.reports import story
from tests.reports.harness import COUNTY, TOWNSHIP_A, Harness, staff

FEBRUARY = {"from": "2024-02-01", "to": "2024-02-29"}
OURS = [{"heading": "一、基本情况", "text": "截至{as_of}，全县在册{children_registered}人，较上期{children_registered.change}；"
                                       "帮扶覆盖面{coverage}（上期{coverage.previous}）。"},
        {"heading": "二、下步打算", "text": "继续做好结对帮扶工作。"}]
OURS_FILLED = "截至2024-02-29，全县在册4人，较上期+1；帮扶覆盖面50.0%（上期33.3%）。"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def told(reports: Harness) -> Harness:
    await story.tell(reports)
    return reports


async def test_the_built_in_wording_until_the_county_writes_its_own(told: Harness) -> None:
    template = await told.client.get("/v1/summary/template", headers=staff())
    assert template.status_code == 200, template.text
    body = template.json()
    assert body["custom"] is False and body["scope_code"] == COUNTY
    assert [(s["heading"], s["text"]) for s in body["sections"]] == list(DEFAULT_SECTIONS)
    assert {"as_of", "children_registered", "coverage.previous", "on_time_rate.change"} <= set(body["placeholders"])
    summary = (await told.summary(**FEBRUARY)).json()
    assert summary["paragraphs"][0]["text"].startswith("截至2024-02-29，在册留守儿童4人（较上期+1）")


async def test_a_template_with_an_unknown_placeholder_is_refused_and_nothing_changes(told: Harness) -> None:
    bad = [OURS[0], {"heading": "二、{wrong}", "text": "在册{children_registred}人{"}]
    response = await told.client.put("/v1/summary/template", json={"scope_code": COUNTY, "sections": bad},
                                     headers=staff())
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["field"], e["reason"]) for e in errors} == {
        ("body.sections.1.heading", "unknown placeholder {wrong}"),
        ("body.sections.1.text", "unknown placeholder {children_registred}"),
        ("body.sections.1.text", "a brace without its pair")}
    for body, field in (({"scope_code": TOWNSHIP_A, "sections": OURS}, "body.scope_code"),
                        ({"scope_code": COUNTY, "sections": []}, "body.sections")):
        refused = await told.client.put("/v1/summary/template", json=body, headers=staff())
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    township = await told.client.put("/v1/summary/template", json={"scope_code": COUNTY, "sections": OURS},
                                     headers=staff(TOWNSHIP_A, "township_staff"))
    other = await told.client.put("/v1/summary/template", json={"scope_code": "330103000000", "sections": OURS},
                                  headers=staff())
    assert township.status_code == 403 and other.status_code == 403
    assert (await told.client.get("/v1/summary/template", headers=staff())).json()["custom"] is False


async def test_the_county_s_wording_writes_its_documents(told: Harness) -> None:
    saved = await told.client.put("/v1/summary/template", json={"scope_code": COUNTY, "sections": OURS},
                                  headers=staff())
    assert saved.status_code == 200, saved.text
    assert saved.json()["custom"] is True and saved.json()["version"] == 1 and saved.json()["sections"] == OURS
    assert (await told.summary(**FEBRUARY)).json()["paragraphs"] == [
        {"heading": "一、基本情况", "text": OURS_FILLED}, {"heading": "二、下步打算", "text": "继续做好结对帮扶工作。"}]
    document = Document(io.BytesIO((await told.summary(**FEBRUARY, format="docx")).content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "一、基本情况" in text and OURS_FILLED in text and "一、摸底建档" not in text
    pdf = PdfReader(io.BytesIO((await told.summary(**FEBRUARY, format="pdf")).content))
    assert "全县在册4人" in "".join(page.extract_text() for page in pdf.pages)
    # A township's summary is written in its county's wording.
    township = (await told.summary(staff(TOWNSHIP_A, "township_staff"), **FEBRUARY, scope=TOWNSHIP_A)).json()
    assert township["paragraphs"][0]["heading"] == "一、基本情况"
