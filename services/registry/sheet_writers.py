"""Writing workbooks: the import template, the error report, the export (openpyxl)."""

from __future__ import annotations

import io
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services.registry import child_fields, vocabulary
from services.registry.sheets import BY_KEY, COLUMNS
from shared.clean_text import strip_control_characters

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TEMPLATE_ROWS = 2000


def template_workbook() -> bytes:
    """The template: Chinese headers (English below), drop-down lists, text-formatted ID,
    code and phone columns (so Excel keeps the 18 digits and leading zeros)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "儿童信息"
    sheet.append([column.header for column in COLUMNS])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[letter].width = 22 if column.text else 14
        if column.text:
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "@"
        rng = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        if column.choices:
            validation = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"',
                                        allow_blank=True, showErrorMessage=True,
                                        errorTitle="无效的值 / invalid value", error="请从下拉列表中选择 / choose from the list")
            validation.add(rng)
            sheet.add_data_validation(validation)
        elif column.key == "national_id":
            validation = DataValidation(type="textLength", operator="equal", formula1="18", allow_blank=True,
                                        showErrorMessage=True, error="身份证号为18位 / 18 characters")
            validation.add(rng)
            sheet.add_data_validation(validation)
        elif column.key == "county_code":  # townships and villages may be given by name
            validation = DataValidation(type="textLength", operator="equal", formula1="12", allow_blank=True,
                                        showErrorMessage=True, error="区划代码为12位 / 12 digits")
            validation.add(rng)
            sheet.add_data_validation(validation)
    sheet.row_dimensions[1].height = 36
    guide = workbook.create_sheet("填写说明")
    guide.append(["列 Column", "必填 Required", "可选值 Allowed values"])
    for column in COLUMNS:
        words = vocabulary.BY_NAME.get(column.key)
        allowed = "、".join(words.labels.values()) if words else "、".join(column.choices)
        also = f"（也可写：{'、'.join(words.synonyms)}）" if words and words.synonyms else ""
        guide.append([column.header.replace("\n", " "), "是" if column.required else "", allowed + also])
    guide.append([])
    guide.append(["性别、出生日期可留空，将由身份证号推出 / gender and birth date may be left blank: they are read from the ID"])
    guide.append(["同一身份证号重复上传不会重复建档 / uploading the same ID again never creates a second record"])
    return _save(workbook)


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def error_report(errors: list[tuple[int, str, str]], summary: dict[str, Any], existing: list[int] = ()) -> bytes:
    """Row, column and reason (zh / en) for every rejected row; never the rejected values.
    The rows already registered on a sheet of their own: there is nothing to fix in them."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误报告")
    sheet.append(["行号 Row", "列 Column", "原因 Reason"])
    for row_number, column_key, reason in errors:
        column = BY_KEY.get(column_key)
        label = f"{column.zh} {column.en}" if column else column_key
        sheet.append([row_number, label, reason])
    registered = workbook.create_sheet("已建档")
    registered.append(["行号 Row", "说明 Note"])
    for row_number in existing:
        registered.append([row_number, "该身份证号已建档，未重复导入 / already registered; not imported again"])
    totals = workbook.create_sheet("汇总")
    for label, value in summary.items():
        totals.append([label, value])
    return _save(workbook)


_RECORD_COLUMNS = (
    ("id", "档案编号 Record ID"), ("name", "姓名 Name"), ("gender", "性别 Gender"),
    ("birth_date", "出生日期 Birth date"), ("national_id", "身份证号 National ID"),
    ("county_code", "县区代码 County"), ("county_name", "县区 County name"),
    ("township_code", "乡镇代码 Township"), ("township_name", "乡镇（街道） Township name"),
    ("village_code", "村社区代码 Village"), ("village_name", "村（社区） Village name"),
    ("school_id", "学校代码 School"), ("address", "家庭住址 Address"), ("categories", "儿童类别 Categories"),
)
_CARD_COLUMNS = (
    ("guardian", "监护人 Guardian"), ("guardian_phone", "监护人电话 Guardian phone"),
    ("status", "状态 Status"), ("version", "版本 Version"),
)


def export_columns(fields: Iterable[child_fields.ChildField] = child_fields.FIELDS) -> tuple[tuple[str, str], ...]:
    """The export's columns: the record's own, its plain fields (child_fields.py), the card's."""
    return _RECORD_COLUMNS + tuple((field.name, field.label) for field in fields) + _CARD_COLUMNS


EXPORT_COLUMNS = export_columns()
SENSITIVE_EXPORT_COLUMNS = (("sensitive_categories", "困境类别 Sensitive categories"),
                            ("priority_reason", "重点关注原因 Priority reason"), ("particulars", "特殊情况 Particulars"))
_ZH = {code: label for words in (vocabulary.GENDER, vocabulary.CATEGORY, vocabulary.SENSITIVE_CATEGORY,
                                 vocabulary.STATUS)
       for code, label in words.labels.items()}


def export_workbook(records: list[dict[str, Any]], *, unmasked: bool) -> bytes:
    """The records as the caller may see them (already masked by privacy.view). Sensitive
    columns exist only in an unmasked export."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("儿童信息")
    columns = EXPORT_COLUMNS + (SENSITIVE_EXPORT_COLUMNS if unmasked else ())
    sheet.append([label for _key, label in columns])
    for record in records:
        guardian = record["guardians"][0] if record["guardians"] else {}
        names = record.get("jurisdiction_names") or {}
        flat = {**record, **record["jurisdiction"],
                "county_name": names.get("county"), "township_name": names.get("township"),
                "village_name": names.get("village"),
                "categories": "、".join(_ZH.get(c, c) for c in record["categories"]),
                "sensitive_categories": "、".join(_ZH.get(c, c) for c in record.get("sensitive_categories") or ()),
                "gender": _ZH.get(record["gender"], record["gender"]),
                "status": _ZH.get(record["status"], record["status"]),
                **{field.name: child_fields.exported(field, record.get(field.name)) for field in child_fields.FIELDS},
                "guardian": guardian.get("name"), "guardian_phone": guardian.get("phone")}
        sheet.append([safe_cell(flat.get(key)) for key, _label in columns])
    return _save(workbook)


# A cell starting with one of these is read as a formula (or a DDE command) by Excel,
# LibreOffice or WPS, in XLSX and CSV alike: prefixed with an apostrophe, it stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|")


def safe_cell(value: Any) -> Any:
    """A value as it may go into a spreadsheet cell (XLSX or CSV): control characters that a
    workbook cannot hold are dropped (an export never fails on stored text), and text that
    would be read as a formula is neutralised."""
    if not isinstance(value, str):
        return value
    value = strip_control_characters(value, multiline=True)
    if value[:1] in FORMULA_STARTS:
        return "'" + value
    return value

