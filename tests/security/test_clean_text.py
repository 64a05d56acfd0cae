"""Clean text at the edge, stored text cleaned by the migration, and exports that never fail."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated

import pytest
from openpyxl import load_workbook
from pydantic import Field, ValidationError

from services.registry import sheet_writers
from shared.clean_text import CleanInput, MultiLineText, has_control_character, strip_control_characters
from shared.crypto import FieldCipher
from tests.registry.helpers import child_body, full_child_body, staff_headers

MIGRATION = Path("services/registry/migrations/0005_clean_control_characters.sql")


class Note(CleanInput):
    title: str
    text: MultiLineText | None = None
    tags: list[str] = []
    extra: dict[str, str] = {}
    count: int | None = None
    bounded: Annotated[int, Field(ge=0, le=10**12)] = 0


@pytest.mark.parametrize(("data", "field"), [
    ({"title": "a\x00b"}, "title"), ({"title": "a\x07"}, "title"), ({"title": "a\nb"}, "title"),
    ({"title": "a\tb"}, "title"), ({"title": "a\x85b"}, "title"), ({"title": "a\x7fb"}, "title"),
    ({"title": "t", "text": "a\x00b"}, "text"), ({"title": "t", "text": "a\x1bb"}, "text"),
    ({"title": "t", "tags": ["ok", "b\x0b"]}, "tags"), ({"title": "t", "extra": {"k\x01": "v"}}, "extra"),
    ({"title": "t", "count": 10**30}, "count"), ({"title": "t", "count": 2**31}, "count"),
])
def test_control_characters_and_huge_integers_are_refused_naming_the_field(data, field) -> None:
    with pytest.raises(ValidationError) as refused:
        Note.model_validate(data)
    errors = refused.value.errors()
    assert [error["loc"][0] for error in errors] == [field]
    assert all("\x00" not in json.dumps(error["msg"]) for error in errors)


def test_multi_line_fields_keep_tab_newline_and_carriage_return_and_bounds_stand() -> None:
    note = Note.model_validate({"title": "标题 ok", "text": "第一行\r\n\t第二行", "count": 2**31 - 1,
                                "bounded": 10**11})
    assert note.text == "第一行\r\n\t第二行" and note.bounded == 10**11


def test_stripping_is_the_same_rule() -> None:
    assert strip_control_characters("a\x00b\x07c\x85d\ne") == "abcde"
    assert strip_control_characters("a\tb\nc\x1b", multiline=True) == "a\tb\nc"
    assert not has_control_character("王小明 Wang-Xiaoming")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "|"])
def test_the_formula_guard_covers_every_dangerous_start(start) -> None:
    payload = f"{start}cmd|' /C calc'!A0"
    guarded = sheet_writers.safe_cell(payload)
    assert guarded.startswith("'") and guarded[1:2] == payload[:1]
    assert sheet_writers.safe_cell("王奶奶") == "王奶奶" and sheet_writers.safe_cell(7) == 7


async def test_a_guardian_name_with_a_control_character_is_422_and_nothing_is_stored(registry) -> None:
    before = await registry.fetchval("SELECT count(*) FROM children")
    body = full_child_body(guardians=[{"relation": "grandparent", "name": "王\x0b奶奶"}])
    answer = await registry.client.post("/v1/children", json=body, headers=staff_headers())
    assert answer.status_code == 422
    assert "guardians.0.name" in answer.text and "王" not in answer.text
    answer = await registry.client.post("/v1/children", json=child_body(school_id="s\x00"), headers=staff_headers())
    assert answer.status_code == 422 and "school_id" in answer.text
    assert await registry.fetchval("SELECT count(*) FROM children") == before


async def test_a_percent_encoded_control_character_in_the_purpose_is_422(registry) -> None:
    answer = await registry.client.get("/v1/children", headers=staff_headers(sensitive=True, purpose="audit%00check"))
    assert answer.status_code == 422 and "X-Purpose" in answer.text


async def test_stored_control_characters_never_break_an_export_and_the_migration_cleans_them(registry) -> None:
    created = await registry.client.post("/v1/children", json=full_child_body(), headers=staff_headers())
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]
    # Rows stored before the edge refused them: clear columns and an encrypted contact card.
    cipher = FieldCipher.development()
    context = f"children.contact_card:{child_id}"
    sealed = await registry.fetchval("SELECT contact_card_enc FROM children WHERE id = $1", created.json()["id"])
    card = json.loads(cipher.decrypt(sealed, context=context))
    card["guardians"][0]["name"] = "王\x07奶奶\x0b"
    card["guardians"][0]["phone"] = "=HYPERLINK(\"http://evil\")"
    async with registry.pool.acquire() as conn:
        await conn.execute(
            "UPDATE children SET school_id = $2, grade = $3, class_name = $4, contact_card_enc = $5 WHERE id = $1",
            created.json()["id"], "school\x1b-1", "+三年级", "2班\x85", cipher.encrypt(json.dumps(card), context=context))
    answer = await registry.client.get("/v1/exports/children.xlsx", headers=staff_headers(sensitive=True, purpose="audit"))
    assert answer.status_code == 200, answer.text
    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    header, cells = rows[0], next(row for row in rows[1:] if row[0] == child_id)
    exported = dict(zip(header, cells))
    assert exported["学校代码 School"] == "school-1"
    assert exported["年级 Grade"] == "'+三年级" and exported["班级 Class"] == "2班"
    assert exported["监护人 Guardian"] == "王奶奶"
    assert exported["监护人电话 Guardian phone"].startswith("'=")

    async with registry.pool.acquire() as conn:
        await conn.execute(MIGRATION.read_text(encoding="utf-8"))
        row = await conn.fetchrow("SELECT school_id, grade, class_name FROM children WHERE id = $1", created.json()["id"])
    assert dict(row) == {"school_id": "school-1", "grade": "+三年级", "class_name": "2班"}


def test_an_imported_cell_with_a_control_character_is_a_row_error_naming_the_column() -> None:
    from services.registry import import_rows
    from shared.rules import RuleViolation

    with pytest.raises(RuleViolation) as refused:
        import_rows._text_of("学校\x07", "school_id", 64)
    assert refused.value.field == "school_id" and "控制字符" in refused.value.reason


async def test_the_pairing_migration_cleans_caregivers_and_support_records(infra) -> None:
    import uuid

    import asyncpg

    from services.pairing.entry import ENTRY as PAIRING
    from tests.support.databases import create_migrated_database, drop_database

    url = await create_migrated_database(infra, "pairing", PAIRING.migrations_dir)
    conn = await asyncpg.connect(url)
    try:
        caregiver, child = uuid.uuid4(), uuid.uuid4()
        await conn.execute("INSERT INTO caregivers (id, kind, county_code, township_code, school_id, created_by) "
                           "VALUES ($1, 'teacher', '330102000000', '330102001000', $2, 't')", caregiver, "s\x07-1\x85")
        await conn.execute("INSERT INTO children (id, county_code, township_code, priority, age_band, status, "
                           "record_version) VALUES ($1, '330102000000', '330102001000', false, '6-11', 'active', 1)",
                           child)
        await conn.execute(
            "INSERT INTO support_records (id, child_id, county_code, township_code, kind, amount_fen, item, fund, "
            "given_on, period_key, created_by) VALUES ($1, $2, '330102000000', '330102001000', 'in_kind', 0, $3, $4, "
            "'2024-05-01', '2024', 't')", uuid.uuid4(), child, "书包\x1b", "\x01春蕾计划")
        await conn.execute((Path("services/pairing/migrations") / "0005_clean_control_characters.sql").read_text())
        assert await conn.fetchval("SELECT school_id FROM caregivers") == "s-1"
        assert tuple(await conn.fetchrow("SELECT item, fund FROM support_records")) == ("书包", "春蕾计划")
    finally:
        await conn.close()
        await drop_database(infra, url)
