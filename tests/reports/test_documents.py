"""The summary as DOCX, XLSX and PDF: each opens again (python-docx, openpyxl), carries
the figures and, for the workbook, a native chart; LibreOffice converts each headless."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest_asyncio
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.reports import story
from tests.reports.harness import TOWNSHIP_A, Harness

FEBRUARY = {"from": "2024-02-01", "to": "2024-02-29"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def told(reports: Harness) -> Harness:
    await story.tell(reports)
    return reports


async def _document(told: Harness, format: str) -> bytes:
    response = await told.summary(**FEBRUARY, format=format)
    assert response.status_code == 200, response.text
    assert f".{format}" in response.headers["content-disposition"]
    return response.content


async def test_the_word_document_reads_as_a_county_writes_it(told: Harness) -> None:
    document = Document(io.BytesIO(await _document(told, "docx")))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "示例县关爱留守儿童工作总结" in text and "统计期间：2024-02-01 至 2024-02-29" in text
    assert "在册留守儿童4人（较上期+1）" in text and "建档率66.7%" in text and "帮扶覆盖面50.0%" in text
    figures, townships, *_casework = document.tables  # the casework's: test_casework_documents
    rows = {row.cells[0].text: [cell.text for cell in row.cells] for row in figures.rows}
    assert rows["在册儿童"][1:4] == ["4", "3", "+1"] and rows["家访"][1] == "1"
    assert [row.cells[0].text for row in townships.rows][1:] == [TOWNSHIP_A, "330102002000"]


async def test_the_workbook_has_the_figures_and_a_native_chart(told: Harness) -> None:
    content = await _document(told, "xlsx")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["主要指标", "分乡镇", "分乡镇个案", "个案与资助明细"]
    figures = {row[0]: row[1:4] for row in book["主要指标"].iter_rows(min_row=5, values_only=True)}
    assert figures["在册儿童"] == (4, 3, 1) and figures["帮扶覆盖面"] == (0.5, 0.3333, 0.1667)
    assert [row[0] for row in book["分乡镇"].iter_rows(min_row=2, max_row=3, values_only=True)] == [
        TOWNSHIP_A, "330102002000"]
    charts = [name for name in zipfile.ZipFile(io.BytesIO(content)).namelist() if name.startswith("xl/charts/chart")]
    assert len(charts) == 2


async def test_the_pdf_reads_in_chinese_in_an_embedded_cjk_font(told: Harness) -> None:
    pdf = PdfReader(io.BytesIO(await _document(told, "pdf")))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "示例县关爱留守儿童工作总结" in text and "在册留守儿童4人" in text
    fonts = {font.get_object()["/BaseFont"] for page in pdf.pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("Noto-Sans-CJK" in name for name in fonts), fonts


async def test_libreoffice_opens_each_document(told: Harness, tmp_path: Path) -> None:
    """Headless conversion to PDF: what a county's office suite makes of our files."""
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
        assert converted.read_bytes().startswith(b"%PDF")


async def test_the_three_documents_come_together_from_one_computation(told: Harness) -> None:
    archive = zipfile.ZipFile(io.BytesIO(await _document(told, "zip")))
    name = "summary-330102000000-2024-02-01-2024-02-29"
    assert sorted(archive.namelist()) == [f"{name}.docx", f"{name}.pdf", f"{name}.xlsx"]
    document = Document(io.BytesIO(archive.read(f"{name}.docx")))
    assert "在册留守儿童4人（较上期+1）" in "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert load_workbook(io.BytesIO(archive.read(f"{name}.xlsx")))["主要指标"]["B5"].value == 4
    assert "在册留守儿童4人" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        archive.read(f"{name}.pdf"))).pages)
