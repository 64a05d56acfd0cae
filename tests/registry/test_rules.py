"""Validators and domain rules, as plain unit tests."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.registry import domain, identity, import_rows, pinyin, sheets
from shared.rules import RuleViolation
from shared.contracts import Jurisdiction
from tests.registry.helpers import check_digit, county_register, national_id
from tests.registry.sheet_files import row
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE

J = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP, village_code=VILLAGE)
TODAY = date(2026, 11, 29)


def test_check_digit_helper_matches_python_stdnum() -> None:
    from stdnum.cn import ric
    assert check_digit("11010519491231002") == "X"  # the standard's published example
    for first17 in ("11010519491231002", "33010220160309123", "44030420120115901"):
        assert check_digit(first17) == ric.calc_check_digit(first17 + "0")  # it skips the last character


def test_national_id_normalisation_and_check_digit() -> None:
    number = national_id(date(2016, 3, 9), "male", sequence=3)
    assert identity.normalize_national_id(f" {number} ") == number
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert identity.normalize_national_id(full_width) == number
    with pytest.raises(RuleViolation, match="check digit"):
        identity.normalize_national_id(number[:-1] + ("1" if number[-1] != "1" else "2"))
    with pytest.raises(RuleViolation, match="18"):
        identity.normalize_national_id(number[:-2])
    with pytest.raises(RuleViolation, match="text"):
        identity.normalize_national_id(float(number[:17]))
    for lower in ("x",):
        base = next(national_id(date(2011, 11, 11), "male", sequence=s) for s in range(100)
                    if national_id(date(2011, 11, 11), "male", sequence=s).endswith("X"))
        assert identity.normalize_national_id(base[:-1] + lower) == base


def test_the_id_must_agree_with_birth_date_and_gender() -> None:
    female = national_id(date(2015, 6, 1), "female", sequence=4)
    assert identity.facts_from_national_id(female) == (date(2015, 6, 1), "female")
    identity.check_id_agrees(female, date(2015, 6, 1), "female")
    with pytest.raises(RuleViolation, match="gender"):
        identity.check_id_agrees(female, date(2015, 6, 1), "male")
    with pytest.raises(RuleViolation, match="birth date"):
        identity.check_id_agrees(female, date(2015, 6, 2), "female")


def test_names_keep_rare_characters_and_the_middle_dot() -> None:
    assert identity.normalize_name(" 𠮷祥 ") == "𠮷祥"
    assert identity.normalize_name("阿依古丽・买买提") == "阿依古丽·买买提"
    assert identity.normalize_name("阿依古丽 · 买买提") == "阿依古丽·买买提"
    for bad in ("", "张三1", "<script>", "·张三"):
        with pytest.raises(RuleViolation):
            identity.normalize_name(bad)


def test_phones_are_validated_for_china_and_masked() -> None:
    assert identity.normalize_phone("138 0013 8000", "p") == "+8613800138000"
    assert identity.normalize_phone("0571-87654321", "p") == "+8657187654321"
    with pytest.raises(RuleViolation):
        identity.normalize_phone("12345", "p")
    assert identity.mask_phone("+8613800138000") == "138****8000"


@pytest.mark.parametrize(("name", "expected"), [
    ("曾小明", "zengxiaoming"), ("单丽", "shanli"), ("解放", "xiefang"), ("仇伟", "qiuwei"), ("朴海", "piaohai"),
    ("查明", "zhaming"), ("区华", "ouhua"), ("覃琴", "qinqin"), ("尉迟敬德", "yuchijingde"), ("王小明", "wangxiaoming"),
])
def test_surnames_are_read_as_surnames(name, expected) -> None:
    assert pinyin.search_text(name).split()[1] == expected


def test_search_text_has_name_pinyin_and_initials() -> None:
    assert pinyin.search_text("曾小明") == "曾小明 zengxiaoming zxm"
    assert pinyin.normalize_query("Zeng Xiao'ming") == "zengxiaoming"


def _child(**changes) -> domain.NewChild:
    base = domain.NewChild(id=uuid.uuid4(), name="王小明", gender="male", birth_date=date(2016, 3, 9), jurisdiction=J,
                           school_id="s1", categories=("left_behind",), priority=False,
                           national_id=national_id(date(2016, 3, 9), "male"),
                           sensitive_categories=("violence_victim",))
    return domain.NewChild(**{**base.__dict__, **changes})


def test_register_checks_the_record_and_keeps_sensitive_categories_out_of_the_event() -> None:
    event = domain.register(_child(), TODAY)
    assert event.categories == ("left_behind",) and "violence" not in event.model_dump_json()
    with pytest.raises(RuleViolation) as adult:
        domain.register(_child(birth_date=date(2008, 1, 1), national_id=None), TODAY)
    assert adult.value.field == "birth_date"
    with pytest.raises(RuleViolation) as disagree:
        domain.register(_child(gender="female"), TODAY)
    assert disagree.value.field == "national_id"
    with pytest.raises(RuleViolation) as basis:
        domain.register(_child(lawful_basis={"statutory_duty": False}), TODAY)
    assert basis.value.field == "lawful_basis"
    assert domain.register(_child(lawful_basis={"statutory_duty": False, "consent_evidence": "C-1"}), TODAY)


def test_lifecycle_rules() -> None:
    child = _child()
    other = Jurisdiction(county_code=COUNTY, township_code="330102002000")
    moved, event = domain.transfer(child, status="active", to=other, to_school_id="s2", grade=None, class_name=None,
                                   allowed_county="330102", new_version=2, today=TODAY)
    assert event.from_jurisdiction == J and event.status == "transferred" and moved.jurisdiction == other
    with pytest.raises(RuleViolation):
        domain.transfer(child, status="active", to=J, to_school_id="s1", grade=None, class_name=None,
                        allowed_county="330102", new_version=2, today=TODAY)
    with pytest.raises(RuleViolation) as closed:
        domain.transfer(child, status="closed", to=other, to_school_id=None, grade=None, class_name=None,
                        allowed_county="330102", new_version=2, today=TODAY)
    assert closed.value.status_code == 409
    assert domain.close(child, status="transferred", reason="aged_out", new_version=3, today=TODAY).reason == "aged_out"
    with pytest.raises(RuleViolation):
        domain.close(child, status="closed", reason="other", new_version=3, today=TODAY)
    assert domain.reopen(child, status="closed", new_version=4, today=TODAY).status == "active"
    with pytest.raises(RuleViolation):
        domain.reopen(child, status="active", new_version=4, today=TODAY)


def _raw(**values):
    return dict(zip([c.key for c in sheets.COLUMNS], row(**values)))


def test_a_sheet_row_derives_gender_and_birth_date_from_the_id() -> None:
    number = national_id(date(2014, 2, 3), "female", sequence=5)
    parsed = import_rows.parse_row(2, _raw(name="李娜", national_id=number, priority="是", priority_reason="独居"),
                                   uuid.uuid4(), TODAY, county_register())
    assert parsed.errors == ()
    assert parsed.child.gender == "female" and parsed.child.birth_date == date(2014, 2, 3)
    assert parsed.child.left_behind_type == "both_parents_away" and parsed.child.priority
    assert parsed.child.lawful_basis["statutory_duty"] is True


def test_a_sheet_row_reports_every_bad_column_at_once() -> None:
    parsed = import_rows.parse_row(5, _raw(name="", national_id="123", gender="X", categories="留守儿童、外星人",
                                           township_code="33"), uuid.uuid4(), TODAY, county_register())
    assert parsed.child is None
    columns = {column for _row, column, _reason in parsed.errors}
    assert {"name", "national_id", "gender", "categories", "township_code"} <= columns
    assert all(row_number == 5 for row_number, _c, _r in parsed.errors)
    assert all(" / " in reason for _r, _c, reason in parsed.errors)  # Chinese / English


def test_stored_rows_give_back_what_the_sheet_read_cell_for_cell() -> None:
    """The api stores the rows it read for the job; every kind of cell calamine returns must
    come back as it was (an ID typed as a number stays a number, and is refused as such)."""
    import datetime as dt

    from services.registry.sheets import Sheet
    from services.registry.stored_rows import decode_stored_rows, encode_stored_rows, stored_columns_and_lines

    cells = ["王小明", "line\nbreak\ttab \\ \"quote\"", "𠮷", "", None, 110105201603091234, 3.0, 3.5, True, False,
             dt.date(2016, 3, 9), dt.datetime(2016, 3, 9, 8, 30, 5), dt.time(8, 30), dt.timedelta(days=2, seconds=5),
             '{"$date": "2016-03-09"}']  # text that looks like a tag stays text
    sheet = Sheet(file_format="xlsx", columns={"name": 0, "national_id": 5}, rows=[cells, cells[::-1], []],
                  headers=["姓名", "身份证号"], first_row=4)
    columns, lines, first_row = stored_columns_and_lines(encode_stored_rows(sheet))
    assert columns == sheet.columns and first_row == 4
    decoded = decode_stored_rows(lines)
    assert decoded == sheet.rows
    assert [[type(cell) for cell in row] for row in decoded] == [[type(cell) for cell in row] for row in sheet.rows]


def test_name_readings_are_what_pypinyin_reads_for_the_whole_name() -> None:
    """Names are read character by character where pypinyin's own segmentation would do so,
    and through lazy_pinyin where a phrase may begin; either way the same syllables as
    reading the whole name with lazy_pinyin (after the surname table)."""
    import random
    import re

    from pypinyin import Style, lazy_pinyin
    from pypinyin.constants import PHRASES_DICT

    from services.registry import pinyin

    def whole_name(name: str) -> tuple[str, ...]:
        han = re.sub(r"[^\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]", "", name)
        for surname, reading in pinyin.COMPOUND_SURNAMES.items():
            if han.startswith(surname):
                return tuple(reading + lazy_pinyin(han[len(surname):], errors="ignore"))
        if han and han[0] in pinyin.SURNAMES:
            return tuple([pinyin.SURNAMES[han[0]]] + lazy_pinyin(han[1:], errors="ignore"))
        return tuple(lazy_pinyin(han, style=Style.NORMAL, errors="ignore"))

    rng = random.Random(11)
    phrases = sorted(p for p in PHRASES_DICT if 2 <= len(p) <= 3)[:30000]
    characters = sorted({c for p in phrases for c in p})
    names = ["重阳", "王重阳", "李长江", "长孙无忌", "欧阳娜娜", "曾经", "单于", "朴长", "阿依古丽·买买提", "𠮷野", "王xiao明"]
    for _ in range(4000):
        names.append(rng.choice("王李张刘陈杨黄赵吴周曾单解") + rng.choice(phrases))  # a given name that is a phrase
        names.append("".join(rng.choice(characters) for _ in range(rng.randint(1, 4))))
    assert [pinyin.name_syllables(n) for n in names] == [list(whole_name(n)) for n in names]


def test_import_processes_follow_the_containers_cpu_quota_not_the_nodes_cpus(tmp_path) -> None:
    import os

    from services.registry.import_batches import available_cpus, cgroup_cpu_quota

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(v2) == 1.5
    assert available_cpus(v2) == min(1.5, len(os.sched_getaffinity(0)))
    (v2 / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(v2) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(v1) == 2.0
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(v1) is None
    assert cgroup_cpu_quota(tmp_path / "none") is None
    (v2 / "cpu.max").write_text("10000 100000\n")  # a tenth of a CPU still gets one process's worth
    assert available_cpus(v2) == 1.0
