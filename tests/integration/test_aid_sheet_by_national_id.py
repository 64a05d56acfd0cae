"""An aid distribution sheet naming children by 身份证号, across the real processes: the
registry and pairing (api and worker each) on real PostgreSQL and Kafka. Pairing learns the
children from the registry's events, then asks the registry's API with its own token which
child each row's ID is; the registry audits that read under pairing's identity and the
upload's request id, and pairing keeps ids only."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import AsyncIterator

import asyncpg
import httpx
import openpyxl
import pytest_asyncio

from tests.registry.helpers import national_id
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer, staff
from tests.support.processes import wait_ready
from tests.support.stack import start_service
from tests.support.waiting import wait_for


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(infra, tmp_path_factory) -> AsyncIterator[dict]:
    prefix = infra.new_topic_prefix("aid")
    logs = tmp_path_factory.mktemp("aid-sheet-logs")
    services: dict = {}
    try:
        services["registry"] = await start_service(infra, "registry", topic_prefix=prefix, log_dir=logs)
        services["pairing"] = await start_service(
            infra, "pairing", topic_prefix=prefix, log_dir=logs,
            extra_env={"SHOUHU_PAIRING_REGISTRY_BASE_URL": services["registry"].base_url})
        for service in services.values():
            await wait_ready(service)
        yield services
    finally:
        for service in services.values():
            service.api.stop()
            service.worker.stop()


async def test_a_sheet_of_national_ids_becomes_a_draft_list(stack) -> None:
    registry, pairing = stack["registry"].base_url, stack["pairing"].base_url
    clerk = bearer(roles=["township_staff"], jurisdiction=TOWNSHIP, subject="clerk-aid")
    kids = []
    async with httpx.AsyncClient(timeout=30) as client:
        for number, name in enumerate(("赵雨桐", "钱浩然")):
            born = date(2015, 4, 1 + number)
            id_number = national_id(born, "female")
            created = await client.post(f"{registry}/v1/children", headers=staff(), json={
                "name": name, "gender": "female", "birth_date": born.isoformat(), "national_id": id_number,
                "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE},
                "categories": ["left_behind"]})
            assert created.status_code == 201, created.text
            kids.append((created.json()["id"], id_number))

        async def known() -> bool:
            answers = [await client.get(f"{pairing}/v1/children/{kid}", headers=staff()) for kid, _ in kids]
            return all(answer.status_code == 200 for answer in answers)
        await wait_for(known, timeout=60, interval=0.3, what="pairing knows both children from the registry's events")

        programme = await client.post(f"{pairing}/v1/aid-programmes", headers=clerk, json={
            "name": "书包发放", "fund": "县慈善总会", "kind": "in_kind", "item": "书包", "amount_fen": 8000,
            "budget_fen": 80000, "jurisdiction": TOWNSHIP})
        assert programme.status_code == 201, programme.text
        book = openpyxl.Workbook()
        book.active.append(["序号", "姓名", "身份证号", "签名"])
        for number, (_, id_number) in enumerate(kids, 1):
            book.active.append([number, "某某", id_number, ""])
        sheet = io.BytesIO()
        book.save(sheet)
        request_id = uuid.uuid4().hex
        upload = await client.post(
            f"{pairing}/v1/aid-programmes/{programme.json()['id']}/lists/upload", headers={**clerk,
                                                                                         "X-Request-ID": request_id},
            params={"given_on": "2026-03-02"},  # a draft's planned day: any day, it only picks the term
            files={"file": ("名单.xlsx", sheet.getvalue(), "application/octet-stream")})
        assert upload.status_code == 201, upload.text
        rows = await client.get(f"{pairing}/v1/aid-lists/{upload.json()['id']}/rows", headers=clerk)
        assert [r["child_id"] for r in rows.json()["items"]] == [kid for kid, _ in kids]

    conn = await asyncpg.connect(stack["registry"].database_url)
    try:
        audited = await conn.fetch("SELECT subject, roles, record_ids, request_id FROM read_audit "
                                   "WHERE action = 'resolve_children'")
    finally:
        await conn.close()
    assert [(a["subject"], a["roles"], sorted(map(str, a["record_ids"])), a["request_id"]) for a in audited] == [
        ("service:pairing", ["service"], sorted(kid for kid, _ in kids), request_id)]
    logs = (stack["pairing"].api.log_path.read_text("utf-8") + stack["registry"].api.log_path.read_text("utf-8"))
    assert all(id_number not in logs for _, id_number in kids)
