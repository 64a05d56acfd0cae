"""The documents name the county and its townships from the registry's division register,
read with the reports service's own token from the real registry app (its own database,
migrated with the register), and fall back to codes when the registry is out of reach."""

from __future__ import annotations

import io
from typing import AsyncIterator

import httpx
import pytest_asyncio
from docx import Document
from openpyxl import load_workbook

from services.reports.place_names import RegistryPlaceNames
from shared.service_auth import ServiceTokenProvider
from tests.registry.helpers import running_registry
from tests.reports import story
from tests.reports.harness import COUNTY, TOWNSHIP_A, TOWNSHIP_B, Harness, start_harness

FEBRUARY = {"from": "2024-02-01", "to": "2024-02-29"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def named(infra) -> AsyncIterator[tuple[Harness, dict[str, str]]]:
    async with running_registry(infra) as registry:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=registry.app), base_url="http://registry",
                                     timeout=60) as client:
            tokens = ServiceTokenProvider(registry.settings.auth, service_name="reports")
            names = RegistryPlaceNames(client, tokens, registry_base_url="http://registry")
            async for harness in start_harness(infra, place_names=names, county_name=""):
                await story.tell(harness)
                register = await registry.client.get(f"/v1/divisions/{COUNTY}/names",
                                                     headers={"Authorization": f"Bearer {await tokens.token()}"})
                yield harness, register.json()["names"]


async def test_the_summary_names_the_county_and_its_townships(named) -> None:
    harness, register = named
    # The story's second township is not in the register: it keeps its code.
    assert register[COUNTY] and register[TOWNSHIP_A] and TOWNSHIP_B not in register
    body = (await harness.summary(**FEBRUARY)).json()
    assert body["scope"] == {"code": COUNTY, "school_id": None, "county_name": register[COUNTY],
                                  "name": register[COUNTY]}
    assert [(t["township_code"], t["township_name"]) for t in body["by_township"]] == [
        (TOWNSHIP_A, register[TOWNSHIP_A]), (TOWNSHIP_B, None)]

    document = Document(io.BytesIO((await harness.summary(**FEBRUARY, format="docx")).content))
    assert document.paragraphs[0].text == f"{register[COUNTY]}关爱留守儿童工作总结"
    _, townships, casework, *_ = document.tables
    assert [row.cells[0].text for row in townships.rows][1:] == [register[TOWNSHIP_A], TOWNSHIP_B]
    assert [row.cells[0].text for row in casework.rows][1:] == [register[TOWNSHIP_A], TOWNSHIP_B]
    book = load_workbook(io.BytesIO((await harness.summary(**FEBRUARY, format="xlsx")).content))
    assert [row[0] for row in book["分乡镇"].iter_rows(min_row=2, max_row=3, values_only=True)] == [
        register[TOWNSHIP_A], TOWNSHIP_B]

    township = (await harness.summary(**FEBRUARY, scope=TOWNSHIP_A, format="docx")).content
    assert Document(io.BytesIO(township)).paragraphs[0].text == (
        f"{register[COUNTY]}{register[TOWNSHIP_A]}关爱留守儿童工作总结")


async def test_without_the_registry_the_documents_print_codes(reports: Harness) -> None:
    await story.tell(reports)
    body = (await reports.summary(**FEBRUARY, scope=TOWNSHIP_A)).json()
    assert body["scope"]["name"] is None and body["by_township"][0]["township_name"] is None
    document = Document(io.BytesIO((await reports.summary(**FEBRUARY, scope=TOWNSHIP_A, format="docx")).content))
    assert document.paragraphs[0].text == f"示例县（{TOWNSHIP_A}）关爱留守儿童工作总结"
