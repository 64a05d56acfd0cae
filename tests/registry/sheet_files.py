"""Spreadsheets for import tests, built in memory."""

from __future__ import annotations

import io
import os
from datetime import date
from typing import Any

from openpyxl import Workbook

from services.registry.sheets import COLUMNS
from tests.registry.helpers import national_id
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE

HEADERS = [column.header for column in COLUMNS]
KEYS = [column.key for column in COLUMNS]


def row(**values: Any) -> list[Any]:
    base = {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE, "school_id": "school-9",
            "categories": "留守儿童", "left_behind_type": "双亲外出"}
    base.update(values)
    return [base.get(key, "") for key in KEYS]


def xlsx(rows: list[list[Any]], headers: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers or HEADERS)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def messy_rows() -> tuple[list[list[Any]], dict[str, Any]]:
    """A school's real-life sheet: rare characters, the middle dot, full-width digits, a
    lowercase x, trailing spaces, blank rows, duplicate rows, and some plain mistakes."""
    with_x = _id_with_x()
    jixiang = national_id(date(2015, 6, 1), "female", sequence=7)
    dotted = national_id(date(2013, 9, 10), "male", sequence=8)
    fullwidth = national_id(date(2012, 1, 15), "male", sequence=9)
    fullwidth_text = fullwidth.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [
        row(name="𠮷祥", gender="女", birth_date="2015-06-01", national_id=jixiang,
            guardian_name="𠮷奶奶", guardian_relation="祖父母", guardian_phone="138 0013 8000"),      # row 2
        row(name="阿依古丽·买买提 ", national_id=dotted + "  ", gender=" 男", birth_date=date(2013, 9, 10)),  # row 3
        row(name="张三", national_id=fullwidth_text, birth_date="２０１２-０１-１５"),                    # row 4
        row(name="李四", national_id=with_x.lower(), father_phone="13912345678", father_name="李父"),  # row 5
        [""] * len(KEYS),                                                                           # row 6 blank
        row(name="𠮷祥", gender="女", birth_date="2015-06-01", national_id=jixiang),                 # row 7 dup of 2
        row(name="王五", national_id=jixiang[:-1] + ("0" if jixiang[-1] != "0" else "1")),         # row 8 check digit
        row(name="赵六", national_id=national_id(date(2014, 4, 4), "male", sequence=11), gender="女"),  # row 9 gender
        row(name="钱七", national_id=national_id(date(2014, 4, 5), "male", sequence=12), guardian_name="钱爷爷",
            guardian_phone="12345"),                                                                # row 10 phone
        row(name="孙八", national_id=national_id(date(2014, 4, 6), "male", sequence=13),
            township_code="330103001000"),                                                          # row 11 codes
        row(name="", national_id=national_id(date(2014, 4, 7), "male", sequence=14)),               # row 12 no name
        [""] * len(KEYS),                                                                           # trailing blank
    ]
    expected = {"imported": 4, "rejected": 6, "ids": [jixiang, dotted, fullwidth, with_x]}
    return rows, expected


def _id_with_x() -> str:
    for sequence in range(100):
        number = national_id(date(2011, 11, 11), "male", sequence=sequence)
        if number.endswith("X"):
            return number
    raise AssertionError("no ID ending in X")


def random_bytes(size: int = 10 * 1024 * 1024) -> bytes:
    return os.urandom(size)


def password_protected() -> bytes:
    """What Excel writes for a password-protected XLSX: an OLE container whose streams are
    EncryptionInfo and EncryptedPackage (the directory names are UTF-16)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = "EncryptionInfo".encode("utf-16-le") + b"\x00" * 50 + "EncryptedPackage".encode("utf-16-le")
    return header + directory + os.urandom(4096)


def with_formula() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    values = row(name="张三", national_id=national_id(date(2014, 4, 8), "male", sequence=15))
    sheet.append(values)
    sheet["K2"] = "=1+2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_merged_header() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(row(name="张三", national_id=national_id(date(2014, 4, 9), "male", sequence=16)))
    sheet.merge_cells("A1:B1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
