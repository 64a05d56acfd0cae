"""The vocabulary counties' survey sheets use: relation words, 单亲外出, category synonyms in
either column, Chinese labels served by GET /v1/vocabulary and used in 422 answers; and an
import report a clerk can act on (duplicates named by row, "already registered" apart)."""

from __future__ import annotations

import io
from datetime import date
from typing import get_args

import pytest
from openpyxl import load_workbook

from services.registry import vocabulary
from services.registry.sheets import COLUMNS
from shared.contracts.events import CloseReason, LeftBehindType, PublicCategory
from tests.registry.helpers import child_body, national_id, staff_headers
from tests.registry.sheet_files import row, xlsx


def test_the_vocabulary_agrees_with_the_event_contract_and_reads_every_word_once() -> None:
    assert set(vocabulary.LEFT_BEHIND_TYPE.codes) == set(get_args(LeftBehindType))
    assert set(vocabulary.CATEGORY.codes) == set(get_args(PublicCategory))
    assert set(vocabulary.CLOSE_REASON.codes) == set(get_args(CloseReason))
    for words in vocabulary.ALL:
        assert all(label and not label.isascii() for label in words.labels.values()), words.name
        assert set(words.synonyms.values()) <= set(words.codes), words.name
    # A category word belongs to one kind only: the import routes it by the word.
    public, sensitive = vocabulary.CATEGORY.reading(), vocabulary.SENSITIVE_CATEGORY.reading()
    assert not set(public) & set(sensitive)
    assert set(vocabulary.GUARDIAN_RELATION_CHOICES) <= set(vocabulary.GUARDIAN_RELATION.reading())


async def test_the_vocabulary_endpoint_serves_codes_labels_and_synonyms(registry) -> None:
    response = await registry.client.get("/v1/vocabulary", headers=staff_headers())
    assert response.status_code == 200
    served = {words["name"]: words for words in response.json()["vocabularies"]}
    left_behind = {value["code"]: value["label"] for value in served["left_behind_type"]["values"]}
    assert left_behind["one_parent_away_other_able"] == "单亲外出"
    assert served["guardian_relation"]["synonyms"]["外祖母"] == "grandparent"
    assert served["sensitive_categories"]["synonyms"]["服刑人员子女"] == "incarcerated_parent"
    assert (await registry.client.get("/v1/vocabulary")).status_code == 401


async def test_a_wrong_choice_is_refused_in_chinese_naming_the_labels(registry) -> None:
    response = await registry.client.post("/v1/children", json=child_body(left_behind_type="one_parent"),
                                          headers=staff_headers())
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body.left_behind_type"
    assert error["reason"].startswith("不是可选值之一：") and "单亲外出" in error["reason"] and " / " in error["reason"]
    unknown = await registry.client.post("/v1/children", json=child_body(nickname="小明"), headers=staff_headers())
    assert unknown.json()["errors"][0]["reason"].startswith("不认识的字段")


async def _import(registry, rows, *, headers=None) -> tuple[dict, str]:
    uploaded = await registry.client.post("/v1/imports", files={"file": ("s.xlsx", xlsx(rows), "application/x")},
                                          headers=headers or staff_headers())
    assert uploaded.status_code == 202, uploaded.text
    while await registry.runner.run_once():
        pass
    job_id = uploaded.json()["id"]
    return (await registry.client.get(f"/v1/imports/{job_id}", headers=staff_headers())).json(), job_id


async def test_survey_words_import_as_their_codes(registry) -> None:
    ids = [national_id(date(2013, 5, 1 + n), "male", sequence=40 + n) for n in range(4)]
    rows = [
        row(name="甲", national_id=ids[0], guardian_name="李奶奶", guardian_relation="外祖母", left_behind_type="单亲外出",
            categories="留守儿童、孤儿、服刑人员子女"),
        row(name="乙", national_id=ids[1], guardian_name="李叔", guardian_relation="其他亲属", categories="残疾儿童",
            sensitive_categories="受艾滋病影响儿童"),
        row(name="丙", national_id=ids[2], guardian_name="李哥", guardian_relation="哥哥", left_behind_type="父母双方外出"),
        row(name="丁", national_id=ids[3], guardian_name="李某", guardian_relation="干爹"),   # not a relation word
    ]
    job, job_id = await _import(registry, rows)
    assert (job["rows_imported"], job["rows_rejected"]) == (3, 1)
    children = await registry.client.get("/v1/children", headers=staff_headers(sensitive=True, purpose="import-check"))
    by_name = {item["name"]: item for item in children.json()["items"]}
    first = by_name["甲"]
    assert first["left_behind_type"] == "one_parent_away_other_able"
    assert first["categories"] == ["left_behind", "orphan"] and first["sensitive_categories"] == ["incarcerated_parent"]
    assert first["guardians"][0]["relation"] == "grandparent" and first["guardians"][0]["relation_word"] == "外祖母"
    assert by_name["乙"]["categories"] == ["disabled"] and by_name["乙"]["sensitive_categories"] == ["hiv_affected"]
    assert by_name["乙"]["guardians"][0]["relation"] == "relative"
    assert by_name["丙"]["guardians"][0]["relation"] == "sibling"
    assert by_name["丙"]["left_behind_type"] == "both_parents_away"
    errors = (await registry.client.get(f"/v1/imports/{job_id}/errors", headers=staff_headers())).json()
    (error,) = errors["items"]
    assert (error["row"], error["column"]) == (5, "guardian_relation") and "祖父母" in error["reason"]


async def test_the_report_names_copied_ids_and_lists_registered_rows_apart(registry) -> None:
    first = national_id(date(2014, 7, 1), "female", sequence=61)
    second = national_id(date(2014, 7, 2), "female", sequence=62)
    rows = [row(name="张一", national_id=first), row(name="张二", national_id=second),
            # Another child's ID copied onto a row with this child's own birth date: the
            # report says which row the ID belongs to, not only that the date disagrees.
            row(name="张三", national_id=first, birth_date="2015-01-01")]
    job, job_id = await _import(registry, rows)
    assert (job["rows_imported"], job["rows_rejected"]) == (2, 1)
    errors = (await registry.client.get(f"/v1/imports/{job_id}/errors", headers=staff_headers())).json()
    reasons = [e["reason"] for e in errors["items"] if e["row"] == 4]
    assert any(reason.startswith("与第2行身份证号重复") for reason in reasons)

    again, again_id = await _import(registry, rows[:2])
    assert (again["rows_imported"], again["rows_existing"]) == (0, 2)
    report = (await registry.client.get(f"/v1/imports/{again_id}/errors", headers=staff_headers())).json()
    assert report["items"] == [] and report["total_rows"] == 0
    page = (await registry.client.get(f"/v1/imports/{again_id}/existing?limit=1", headers=staff_headers())).json()
    assert [item["row"] for item in page["items"]] == [2] and page["total_rows"] == 2 and page["next_cursor"]
    rest = (await registry.client.get(f"/v1/imports/{again_id}/existing", headers=staff_headers(),
                                      params={"limit": 1, "cursor": page["next_cursor"]})).json()
    assert [item["row"] for item in rest["items"]] == [3] and rest["next_cursor"] is None
    workbook = load_workbook(io.BytesIO((await registry.client.get(
        f"/v1/imports/{again_id}/errors.xlsx", headers=staff_headers())).content))
    assert [r[0] for r in workbook["已建档"].iter_rows(min_row=2, values_only=True)] == [2, 3]
    assert workbook["错误报告"].max_row == 1


@pytest.mark.parametrize("column", [c for c in COLUMNS if c.choices])
def test_every_drop_down_of_the_template_reads_back(column) -> None:
    from services.registry import import_rows, sheets
    readers = {"gender": sheets.GENDERS, "household_type": sheets.HOUSEHOLD, "left_behind_type": sheets.LEFT_BEHIND,
               "guardian_relation": sheets.RELATIONS, "priority": sheets.YES_NO, "statutory_duty": sheets.YES_NO,
               "boarding": sheets.YES_NO, "school_status": import_rows.SCHOOL_STATUS,
               "study_level": import_rows.STUDY_LEVEL,
               # free text: the drop-down offers the usual words, any other is kept as written
               "guardian_health": {choice: choice for choice in column.choices}}
    assert all(choice in readers[column.key] for choice in column.choices)
