"""Logs never carry personal data: a name, an ID number and a phone are planted in failure
paths (a library's exception message among them) and the captured logs are scanned."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Iterator

import asyncpg
import httpx
import pytest
import structlog
import uvicorn
from openpyxl import Workbook

from services.registry import sheet_writers
from services.registry.app import create_app
from services.registry.config import RegistrySettings
from services.registry.entry import ENTRY as REGISTRY
from shared.crypto import FieldCipher
from shared.logging import configure_logging, get_logger
from tests.registry.helpers import full_child_body, national_id, staff_headers
from tests.support.databases import create_migrated_database, drop_database
from tests.support.processes import free_port

NAME = "欧阳春花"
PHONE = "13912345678"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("security-test", "INFO")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()


def _assert_clean(text: str, planted_id: str) -> None:
    assert text.strip(), "nothing was logged: the failure paths did not run"
    for planted in (NAME, planted_id, PHONE):
        assert planted not in text, f"{planted!r} leaked into the logs:\n{text}"
    for line in text.splitlines():
        json.loads(line)  # one JSON object a line, tracebacks included


async def test_library_exception_messages_never_reach_the_logs(captured_logs, infra) -> None:
    from datetime import date

    planted_id = national_id(date(2016, 3, 9), "female")
    log = get_logger("test")
    # openpyxl names the text it refuses.
    try:
        Workbook().active.append([f"{NAME}\x07 {planted_id} {PHONE}"])
    except Exception as exc:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=exc)
    # pydantic quotes the input it refuses.
    from services.registry.models import ChildIn

    try:
        ChildIn.model_validate(full_child_body(name=f"{NAME}1", national_id=planted_id, gender="x",
                                               guardians=[{"relation": "x", "name": NAME, "phone": PHONE}]))
    except Exception:
        log.exception("registry.failed")
    # PostgreSQL quotes the duplicate key.
    conn = await asyncpg.connect(infra.pg_admin_url)
    try:
        await conn.execute("CREATE TEMP TABLE planted (v text UNIQUE)")
        for _ in range(2):
            await conn.execute("INSERT INTO planted VALUES ($1)", f"{NAME} {planted_id} {PHONE}")
    except asyncpg.UniqueViolationError:
        logging.getLogger("asyncpg").exception("insert failed")
    finally:
        await conn.close()
    # A chained cause carrying the values, and a RuleViolation naming only its field.
    from shared.rules import RuleViolation

    try:
        try:
            raise KeyError(f"{NAME} {PHONE}")
        except KeyError as exc:
            raise RuleViolation("guardians.0.phone", f"{PHONE} 无效") from exc
    except RuleViolation:
        log.exception("import.failed", job_id="j1")
    text = captured_logs.getvalue()
    _assert_clean(text, planted_id)
    assert "IllegalCharacterError" in text and "ValidationError (fields:" in text
    assert "UniqueViolationError" in text and "RuleViolation (field: guardians.0.phone)" in text


async def test_an_export_that_fails_under_uvicorn_logs_no_personal_data(captured_logs, infra, monkeypatch) -> None:
    """The path seen in the field: a stored guardian name with a control character made
    openpyxl fail the export, and its message (the name) went to the api's log. The export
    no longer fails on it, so the old cell writer is put back here to make it fail."""
    from datetime import date

    planted_id = national_id(date(2016, 3, 9), "male", sequence=371)
    url = await create_migrated_database(infra, "registry", REGISTRY.migrations_dir)
    port = free_port()
    app = create_app(RegistrySettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(200):  # bounded wait for the server to listen
                if server.started:
                    break
                await asyncio.sleep(0.05)
            body = full_child_body(name=NAME, national_id=planted_id,
                                   guardians=[{"relation": "grandparent", "name": NAME, "phone": PHONE}])
            created = await client.post("/v1/children", json=body, headers=staff_headers())
            assert created.status_code == 201, created.text
            child_id = created.json()["id"]
            cipher, context = FieldCipher.development(), f"children.contact_card:{child_id}"
            pool = app.state.pool
            async with pool.acquire() as conn:
                sealed = await conn.fetchval("SELECT contact_card_enc FROM children WHERE id = $1", created.json()["id"])
                card = json.loads(cipher.decrypt(sealed, context=context))
                card["guardians"][0]["name"] = f"{NAME}\x07 {planted_id} {PHONE}"
                await conn.execute("UPDATE children SET contact_card_enc = $2 WHERE id = $1", created.json()["id"],
                                   cipher.encrypt(json.dumps(card), context=context))
            monkeypatch.setattr(sheet_writers, "safe_cell", lambda value: value)
            answer = await client.get("/v1/exports/children.xlsx", headers=staff_headers(sensitive=True, purpose="audit"))
            assert answer.status_code == 500
            assert NAME not in answer.text and PHONE not in answer.text
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
        await drop_database(infra, url)
    text = captured_logs.getvalue()
    _assert_clean(text, planted_id)
    assert "IllegalCharacterError" in text
