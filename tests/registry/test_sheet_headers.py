"""A survey sheet whose headers are not the template's: read by the words schools use;
the headers that name no column are listed in the job's report, never dropped silently."""

from __future__ import annotations

from datetime import date

from services.registry import sheets
from tests.registry.helpers import national_id, staff_headers
from tests.registry.sheet_files import xlsx

GUANLING = "520424000000"


def test_survey_headers_are_read_as_the_template_columns() -> None:
    for header, key in (("儿童姓名", "name"), ("身份证号码", "national_id"), ("乡镇（街道）", "township_code"),
                        ("村代码", "village_code"), ("村（社区）", "village_code"), ("与儿童关系", "guardian_relation"),
                        ("父亲外出务工地", "father_work_place"), ("姓名*\nName", "name"), ("学校名称", "school_id")):
        assert sheets._header_key(header) == key, header
    assert sheets._header_key("备注") == "" and sheets._header_key("  ") is None


async def test_a_survey_sheet_imports_and_its_unknown_columns_are_reported(registry) -> None:
    headers = ["序号", "儿童姓名", "身份证号码", "乡镇（街道）", "村代码", "监护人", "与儿童关系", "备注", "爱好"]
    ids = [national_id(date(2013, 3, 1 + n), "male", region="520424", sequence=70 + n) for n in range(2)]
    rows = [[1, "王甲", ids[0], "新铺镇", "520424108202", "王奶奶", "祖母", "", "画画"],
            # 村代码 names a village of another township: refused on that cell, not imported
            [2, "王乙", ids[1], "新铺镇", "520424110001", "王爷爷", "祖父", "", ""]]
    uploaded = await registry.client.post("/v1/imports", files={"file": ("调查表.xlsx", xlsx(rows, headers=headers),
                                                                           "application/x")},
                                          headers=staff_headers(GUANLING))
    assert uploaded.status_code == 202, uploaded.text
    assert uploaded.json()["unmapped_columns"] == ["A 序号", "H 备注"]
    assert uploaded.json()["columns"]["村代码"] == "village_code"
    assert uploaded.json()["suggested_columns"] == {}  # 序号, 备注 look like no column (爱好 is hobbies)
    while await registry.runner.run_once():
        pass
    job = (await registry.client.get(f"/v1/imports/{uploaded.json()['id']}", headers=staff_headers(GUANLING))).json()
    assert (job["rows_imported"], job["rows_rejected"]) == (1, 1)
    assert job["unmapped_columns"] == ["A 序号", "H 备注"]
    errors = (await registry.client.get(f"/v1/imports/{job['id']}/errors", headers=staff_headers(GUANLING))).json()
    assert [(e["row"], e["column"]) for e in errors["items"]] == [(3, "village_code")]


def test_unknown_columns_are_proposed_by_their_values_or_headers_and_a_missing_id_column_is_proposed() -> None:
    ids = [national_id(date(2013, 3, 1 + n), "male", region="520424", sequence=80 + n) for n in range(3)]
    rows = [["王甲", number, "新铺镇", "13800138000", "外祖母", "2020-02"] for number in ids]
    sheet = sheets.read_sheet(xlsx(rows, headers=["儿童姓名", "身份证", "乡镇", "手机号", "关系人", "说明"]))
    assert sheet.unmapped == ["D 手机号", "E 关系人", "F 说明"]
    assert sheet.suggested == {"D 手机号": "guardian_phone", "E 关系人": "guardian_relation"}
    # the ID column under another name: read, with the proposal to confirm
    proposed = sheets.read_sheet(xlsx(rows, headers=["儿童姓名", "证件", "乡镇", "手机号", "关系人", "说明"]))
    assert proposed.missing == ["national_id"] and proposed.suggested["B 证件"] == "national_id"
    # by header likeness when the values say nothing
    alike = sheets.read_sheet(xlsx([[*row[:4], "良好"] for row in rows],
                                   headers=["儿童姓名", "身份证", "乡镇", "监护人电话号码", "监护人身体健康情况"]))
    assert alike.suggested == {"D 监护人电话号码": "guardian_phone", "E 监护人身体健康情况": "guardian_health"}
    try:
        sheets.read_sheet(xlsx([row[:1] + row[2:] for row in rows], headers=["儿童姓名", "乡镇", "手机号", "关系人", "说明"]))
    except sheets.SheetRejected as rejected:
        assert "缺少必填列：身份证号" in rejected.reason
    else:
        raise AssertionError("a sheet without an ID column was accepted")
