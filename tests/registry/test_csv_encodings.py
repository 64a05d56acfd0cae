"""CSV as Excel and WPS save it: "CSV UTF-8" (with a 3-byte BOM), UTF-8 without a BOM, and
GB18030 (the ANSI code page of a Chinese Windows), at sizes where the format sniffer's
64 KiB window ends inside a multi-byte character, at every position it can end."""

from __future__ import annotations

import codecs
import csv
import io

import pytest

from services.registry import sheets
from tests.registry.sheet_files import HEADERS

WINDOW = 65536


def _csv_text(rows: int, padding: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # what Excel writes
    writer.writerow(HEADERS)
    for index in range(rows):
        # The address of the first row carries `padding` extra ASCII characters: each step
        # moves every later byte one place, so the window's end walks through the bytes of
        # a Chinese character.
        address = "贵州省关岭县新铺镇" + ("x" * padding if index == 0 else "")
        writer.writerow(["王小明", "男", "2015-06-01", "52042420150601001X", "布依族", "农业",
                         "520424000000", "520424108000", "", "", "三年级", "1班", address])
    return buffer.getvalue()


def _cut_offset(data: bytes, encoding: str) -> int:
    """How many bytes of the character spanning the window's end lie inside the window
    (0: the window ends between two characters)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    decoder.decode(data[:WINDOW], final=False)
    return len(decoder.getstate()[0])


@pytest.mark.parametrize("encoding,bom", [("utf-8", codecs.BOM_UTF8), ("utf-8", b""), ("gb18030", b"")])
def test_csv_is_read_whatever_character_the_sniffing_window_cuts(encoding: str, bom: bytes) -> None:
    rows = 700  # about 100 KiB in UTF-8, 80 KiB in GB18030: past the 64 KiB window
    by_offset: dict[int, bytes] = {}
    for padding in range(200):  # one row's length: the window's end visits every byte kind
        data = bom + _csv_text(rows, padding).encode(encoding)
        by_offset.setdefault(_cut_offset(data, "utf-8-sig" if bom else encoding), data)
    # Every way the window can end: between characters, one byte into a character, two
    # bytes into a three-byte UTF-8 character (the case the BOM used to break).
    assert set(by_offset) == ({0, 1, 2} if encoding == "utf-8" else {0, 1})
    for data in by_offset.values():
        assert len(data) > WINDOW
        assert sheets.sniff_format(data) == "csv"
        sheet = sheets.read_sheet(data)
        assert sheet.total == rows
        assert sheet.rows[-1][0] == "王小明" and sheet.rows[0][12].startswith("贵州省关岭县新铺镇")
        assert sheet.columns["national_id"] == 3


def test_a_small_csv_whose_last_character_is_cut_is_not_a_spreadsheet() -> None:
    """Under the window, the whole file is judged: bytes that stop inside a character are
    not text in either encoding."""
    data = codecs.BOM_UTF8 + "姓名\r\n王".encode("utf-8")[:-1] + b"\x80\x80\xff"
    with pytest.raises(sheets.SheetRejected):
        sheets.sniff_format(data)
